/**
 * SenderContext.observer: a QueuedSender tells, record by record, when records leave for a worker and
 * where they end. The webhook alert sender maps its posts back to log records with it.
 */
import { describe, expect, it } from 'vitest'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import type { FailureRecord } from '../../src/stats/delivery-stats.js'
import { createRecord, type LogRecord } from '../../src/input/record.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { RecordObserver, RecordOutcome } from '../../src/stats/ledger.js'
import type { Batch, Sink } from '../../src/senders/sender.js'

function rec(i: number, level = 30, pad = 0): LogRecord {
  return createRecord(`{"level":${level},"i":${i},"pad":"${'x'.repeat(pad)}"}`)
}

/** Collects what the observer hears, as record ids. */
function listen(): { observer: RecordObserver; events: [string, number[], FailureRecord?][] } {
  const events: [string, number[], FailureRecord?][] = []
  const ids = (records: readonly LogRecord[]): number[] => records.map((r) => r.value().i as number)
  return {
    events,
    observer: {
      dispatched: (records) => events.push(['dispatched', ids(records)]),
      settled: (records, outcome: RecordOutcome, failure) => events.push(failure ? [outcome, ids(records), failure] : [outcome, ids(records)]),
    },
  }
}

/** Fails batches holding a record with i >= 100 for good; hangs on i === 50; delivers the rest. */
const sink: Sink = {
  deliver(batch: Batch): Promise<void> {
    const ids = batch.records.map((r) => r.value().i as number)
    if (ids.some((i) => i >= 100)) return Promise.reject(new DeliveryError('HTTP 400', { permanent: true, status: 400 }))
    if (ids.includes(50)) return new Promise(() => undefined)
    return Promise.resolve()
  },
}

describe('QueuedSender observer', () => {
  it('reports dispatch, delivery, failure and every kind of drop, record by record', async () => {
    const { observer, events } = listen()
    const sender = new QueuedSender(
      { name: 'observed', batch: { maxRecords: 2, maxWaitMs: 60_000 }, queue: { maxRecords: 2, maxRecordBytes: 100 }, retry: { maxAttempts: 1 } },
      sink,
      { observer },
    )
    sender.send(rec(1))
    sender.send(rec(2)) // a full batch: dispatched at once
    await sender.flush()
    sender.send(rec(100))
    await sender.flush()
    sender.send(rec(3, 30, 200)) // larger than queue.maxRecordBytes
    sender.send(rec(50))
    sender.send(rec(51)) // with 50: a batch that hangs
    sender.send(rec(4, 20))
    sender.send(rec(5, 20))
    sender.send(rec(6, 30)) // the queue is full: evicts the newest lower-level record (5)
    const report = await sender.close({ timeoutMs: 100 })
    sender.send(rec(7))

    expect(events).toEqual([
      ['dispatched', [1, 2]],
      ['delivered', [1, 2]],
      ['dispatched', [100]],
      ['failed', [100], expect.objectContaining({ records: 1, reason: 'permanent', status: 400 })],
      ['oversize', [3]],
      ['dispatched', [50, 51]],
      ['overflow', [5]],
      // One worker, held by the hung batch: at the deadline the queue and the batch in flight are
      // abandoned; a record after close is dropped at once.
      ['closed', [4, 6]],
      ['closed', [50, 51]],
      ['closed', [7]],
    ])
    expect(report).toMatchObject({ abandonedAtDeadline: 4, timedOut: true })
    expect(sender.stats()).toMatchObject({ received: 10, delivered: 2, failed: 1, dropped: { oversize: 1, overflow: 1, closed: 5 } })
  })

  it('keeps counting when the observer throws', async () => {
    const sender = new QueuedSender({ batch: { maxRecords: 1 } }, sink, {
      observer: {
        dispatched: () => {
          throw new Error('observer bug')
        },
        settled: () => {
          throw new Error('observer bug')
        },
      },
    })
    sender.send(rec(1))
    sender.send(rec(2))
    await sender.flush()
    expect(sender.stats()).toMatchObject({ received: 2, delivered: 2, inFlight: 0, queued: 0 })
    await sender.close()
  })
})
