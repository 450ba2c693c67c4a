import { FixedHistogram } from './histogram.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS, type SenderTimings } from './timings.js'

/**
 * Where a sender's {@link SenderTimings} are observed. The sender calls it once per attempt and once or
 * twice per batch; the durations come from `Date.now()`, the clock the engine already times its
 * records' arrival, its batches' age and its retries with (one clock, so that a test's fake timers move
 * all of them together).
 */
export class TimingsRecorder {
  readonly #attempt = new FixedHistogram(DURATION_BOUNDS_MS)
  readonly #delivery = new FixedHistogram(DURATION_BOUNDS_MS)
  readonly #batchRecords = new FixedHistogram(BATCH_RECORDS_BOUNDS)
  readonly #queueWait = new FixedHistogram(DURATION_BOUNDS_MS)

  /** One attempt (request) ended: answered, refused, failed or timed out. */
  attempt(ms: number): void {
    this.#attempt.observe(ms)
  }

  /** A batch reached an end state (delivered, failed, dead-lettered), `ms` after its dispatch. */
  delivery(ms: number): void {
    this.#delivery.observe(ms)
  }

  /**
   * A batch of `records` went to a worker; `queueWaitMs`: how long its oldest record waited in the
   * queue, when that is known and meaningful (not for a batch read back from the spool).
   */
  dispatched(records: number, queueWaitMs: number | undefined): void {
    this.#batchRecords.observe(records)
    if (queueWaitMs !== undefined) this.#queueWait.observe(queueWaitMs)
  }

  snapshot(): SenderTimings {
    return {
      attemptMs: this.#attempt.snapshot(),
      deliveryMs: this.#delivery.snapshot(),
      batchRecords: this.#batchRecords.snapshot(),
      queueWaitMs: this.#queueWait.snapshot(),
    }
  }
}
