import type { DeliveryBatch } from '../batch/delivery-batch.js'
import type { DeliveryError } from '../pool/delivery-error.js'
import type { Dispatcher } from '../pool/dispatcher.js'
import { splitOutcome } from '../pool/partial-outcome.js'
import type { RetryHost } from '../pool/retry-loop.js'
import type { RetryWaits } from '../pool/retry-waits.js'
import type { DeliveryContext, DeliveryResult, Sink } from '../sinks/sink.js'
import type { Spill } from '../spool/spill.js'
import type { FlushWaiters } from '../stats/flush-waiters.js'
import type { Failure, Ledger } from '../stats/ledger.js'
import type { SenderPhase } from './queued-sender.js'

/** What a batch can come to. */
export type BatchOutcome = 'delivered' | 'failed' | 'spooled' | 'closed' | 'spoolError'

/**
 * What becomes of a queued sender's batches: each attempt's outcome, as the retry loop reports it
 * ({@link RetryHost}), turned into the ledger's moves, the spool's frames, the sink's health, wake-ups
 * of batches waiting out a backoff, and the flush waiters.
 */
export class Settlement implements RetryHost<DeliveryBatch> {
  readonly stopped: AbortSignal
  readonly #sink: Sink
  readonly #ledger: Ledger
  readonly #pool: Dispatcher<DeliveryBatch>
  readonly #waits: RetryWaits<DeliveryBatch>
  readonly #spill: Spill | undefined
  readonly #flushes: FlushWaiters
  readonly #phase: () => SenderPhase
  readonly #pump: () => void

  constructor(parts: {
    stopped: AbortSignal
    sink: Sink
    ledger: Ledger
    pool: Dispatcher<DeliveryBatch>
    waits: RetryWaits<DeliveryBatch>
    spill: Spill | undefined
    flushes: FlushWaiters
    phase: () => SenderPhase
    pump: () => void
  }) {
    this.stopped = parts.stopped
    this.#sink = parts.sink
    this.#ledger = parts.ledger
    this.#pool = parts.pool
    this.#waits = parts.waits
    this.#spill = parts.spill
    this.#flushes = parts.flushes
    this.#phase = parts.phase
    this.#pump = parts.pump
  }

  deliver(batch: DeliveryBatch, context: DeliveryContext): Promise<void | DeliveryResult> {
    return this.#sink.deliver(batch, context)
  }

  delivered(batch: DeliveryBatch): void {
    this.settle(batch, 'delivered')
  }

  failed(batch: DeliveryBatch, failure: Failure): void {
    this.settle(batch, 'failed', failure)
  }

  onDisk(batch: DeliveryBatch): boolean {
    return batch.frame !== undefined
  }

  /** close() gave up on it during a Retry-After pause: on disk, it stays there for the next start. */
  gaveUp(batch: DeliveryBatch): void {
    if (this.#phase() === 'closing' && batch.frame) this.keepInSpool(batch)
  }

  /**
   * A transient failure: with a spool the batch is stored, and the sink counts as failing, unless it
   * took part of the batch (`partly`: it is up, and asked for some records again).
   */
  failedTransiently(batch: DeliveryBatch, partly: boolean): boolean {
    // The sink is failing now: due records go to disk, and flush() counts them as settled there.
    if (this.#spill?.failedTransiently(batch, !partly)) {
      this.#pump()
      this.#flushes.check()
    }
    // Closing gives a batch one last try, no backoff: on disk, it waits for the next start.
    if (this.#phase() !== 'open' && batch.frame) {
      this.keepInSpool(batch)
      return false
    }
    return true
  }

  /**
   * The sink took part of the batch: the accepted and refused records settle now, the ones it wants
   * again stay in the batch, which goes on to a retry as a batch of its own. Returns the error that
   * stands for them in the retry, or undefined when nothing is left to retry.
   */
  deliveredInPart(batch: DeliveryBatch, result: DeliveryResult, n: number): DeliveryError | undefined {
    if (batch.settled) return undefined
    const { accepted, rejected, unnamed, retry } = splitOutcome(batch.count, result)
    // Nothing to retry: the batch as a whole settles here.
    if (retry.error === undefined && this.#finish(batch)) this.#ledger.timings.delivery(Date.now() - batch.dispatchedAt)
    if (accepted.length > unnamed.count) this.#recovered()
    const parts = { accepted: batch.part(accepted), rejected: batch.part(rejected.indexes), unnamed: unnamed.count }
    this.#ledger.settledInPart(parts, { rejected: rejected.message, unnamed: unnamed.message, status: rejected.status }, n)
    if (retry.error === undefined) {
      batch.release()
      this.#afterSettle()
      return undefined
    }
    batch.narrow(retry.indexes)
    this.#spill?.narrowed(batch)
    return retry.error
  }

  /** The batch reached an end state (or, at close, the spool for the next start). */
  settle(batch: DeliveryBatch, outcome: BatchOutcome, failure?: Failure): void {
    if (!this.#finish(batch, outcome === 'spooled')) return
    const ledger = this.#ledger
    // A batch kept in the spool, or given up at close, has not come to an end: its time is not a delivery's.
    if (outcome === 'delivered' || outcome === 'failed') ledger.timings.delivery(Date.now() - batch.dispatchedAt)
    if (outcome === 'delivered') {
      this.#recovered()
      ledger.delivered(batch)
    } else if (outcome === 'failed') ledger.failed(batch, failure ?? { error: new Error('failed'), attempts: 0, reason: 'permanent' })
    else if (outcome === 'spooled') ledger.inFlightSpooled(batch)
    else ledger.inFlightDropped(batch, outcome)
    batch.release()
    this.#afterSettle()
  }

  /** Marks a batch settled; false when it was already. Its copy on disk is done unless it stays there. */
  #finish(batch: DeliveryBatch, keepFrame = false): boolean {
    if (batch.settled) return false
    batch.settled = true
    this.#pool.finished(batch)
    if (batch.frame && !keepFrame) this.#spill?.done(batch.frame)
    return true
  }

  #afterSettle(): void {
    this.#flushes.check()
    if (!this.stopped.aborted) this.#pump()
  }

  /** A delivery: the sink is back, and batches that could not reach it try again now. */
  #recovered(): void {
    this.#spill?.recovered()
    this.#waits.wake('recovery', this.#pool.paused(), (b) => b.frame !== undefined)
  }

  /** At close: a batch in flight stays in the spool for the next start. */
  keepInSpool(batch: DeliveryBatch): void {
    this.settle(batch, this.#spill?.keep(batch) ? 'spooled' : 'spoolError')
  }
}
