/**
 * Pieces shared by the spool tests: a sink the test switches between answers, records `{ i }`, the
 * ledger check, and a QueuedSender with a spool and short timings.
 */
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import { createRecord, type LogRecord } from '../../src/input/record.js'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, DeliveryContext, Sink } from '../../src/senders/sender.js'
import type { FrameContent } from '../../src/spool/spool-frame.js'

export type SinkMode = 'accept' | 'fail' | 'reject' | 'hang'

/**
 * A sink whose answer the test switches: `accept`, `fail` (a transient 503), `reject` (a permanent
 * 400) or `hang` (until the attempt's signal aborts). It logs every attempt's batch id and record ids.
 */
export class SwitchSink implements Sink {
  mode: SinkMode = 'accept'
  /** Record ids `i` of delivered batches, in delivery order. */
  readonly delivered: number[] = []
  /** Batch ids of delivered batches. */
  readonly deliveredBatchIds: string[] = []
  /** Every attempt: batch id and its record ids. */
  readonly attempts: { id: string; ids: number[] }[] = []
  /** Records whose `i` is in here make the whole batch fail permanently (400). */
  readonly poison = new Set<number>()

  deliver(batch: Batch, context: DeliveryContext): Promise<void> {
    const ids = batch.records.map((r) => r.value().i as number)
    this.attempts.push({ id: batch.id, ids })
    if (ids.some((i) => this.poison.has(i)) || this.mode === 'reject') {
      return Promise.reject(new DeliveryError('400 bad request', { permanent: true, status: 400 }))
    }
    if (this.mode === 'fail') return Promise.reject(new DeliveryError('503', { status: 503 }))
    if (this.mode === 'hang') {
      return new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason)))
    }
    this.delivered.push(...ids)
    this.deliveredBatchIds.push(batch.id)
    return Promise.resolve()
  }
}

/** An info record `{ i }`, padded with `pad` characters when asked. */
export function rec(i: number, pad = 0, level = 30): LogRecord {
  return createRecord(pad ? `{"level":${level},"i":${i},"pad":"${'x'.repeat(pad)}"}` : `{"level":${level},"i":${i}}`)
}

/** accounted - (received + recovered): 0 when the ledger holds. */
export function ledgerGap(stats: SenderStats): number {
  const accounted = stats.queued + stats.spooled + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats)
  return accounted - (stats.received + stats.recovered)
}

/**
 * A QueuedSender named "http" with a spool in `dir` (fsync never), batches of 10 after 100 ms, short
 * backoff and a 2 s close deadline; `defer` closes it after the test.
 */
export function spooledSender(
  defer: (cleanup: () => unknown) => void,
  dir: string,
  sink: Sink,
  options: Partial<CommonSenderOptions> = {},
): QueuedSender {
  const sender = new QueuedSender(
    {
      name: 'http',
      batch: { maxRecords: 10, maxWaitMs: 100 },
      retry: { baseDelayMs: 100, maxDelayMs: 400 },
      closeTimeoutMs: 2000,
      spool: { dir, fsync: 'never' },
      ...options,
    },
    sink,
  )
  defer(() => sender.close({ timeoutMs: 100 }))
  return sender
}

/** A spool frame's content: batch `id` with records `{ i }`, i = from .. from + n - 1, at level 30. */
export function frameContent(id: string, from: number, n: number): FrameContent {
  const lines: string[] = []
  for (let i = from; i < from + n; i++) lines.push(`{"level":30,"i":${i}}`)
  return { id, levels: lines.map(() => 30), lines }
}
