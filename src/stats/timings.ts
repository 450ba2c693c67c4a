/**
 * The timings a sender keeps besides its counters: fixed-bucket histograms, cheap to update (one per
 * attempt or per batch, never per record) and plain data once snapshotted, so that the transport's
 * worker can post them in `courier:stats` and the metrics endpoint and the OpenTelemetry bridge can
 * read them without knowing the engine.
 */

/** A fixed-bucket histogram. */
export interface Histogram {
  /** Upper bounds of the buckets, ascending; a last bucket for values above every bound is implied. */
  readonly bounds: readonly number[]
  /** Observations per bucket, NOT cumulative: bounds.length + 1 entries, the last one above every bound. */
  readonly counts: readonly number[]
  /** Sum of the observed values. */
  readonly sum: number
  /** Number of observations. */
  readonly count: number
}

/** A sender's timings since it started. Durations in milliseconds. */
export interface SenderTimings {
  /** Per attempt (request), retries included: from the attempt's start to its answer or timeout. */
  readonly attemptMs: Histogram
  /** Per batch settled (delivered, failed, dead-lettered): from its first dispatch to its settlement, retries and their waits included. */
  readonly deliveryMs: Histogram
  /** Per batch dispatched: how many records it held. */
  readonly batchRecords: Histogram
  /** Per batch dispatched: how long its oldest record waited in the queue before the batch was dispatched. */
  readonly queueWaitMs: Histogram
}

/**
 * Bucket bounds of the duration histograms (`attemptMs`, `deliveryMs`, `queueWaitMs`), in ms: from a
 * local collector's millisecond to the 30 s of a slow backend's timeout (pool.timeoutMs defaults to
 * 10 s); longer waits (a retry backoff, a sink down for minutes) land in the last, open bucket.
 */
export const DURATION_BOUNDS_MS: readonly number[] = Object.freeze([1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000])

/** Bucket bounds of the `batchRecords` histogram, in records (batch.maxRecords defaults to 5000; larger batches land in the open bucket). */
export const BATCH_RECORDS_BOUNDS: readonly number[] = Object.freeze([1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000])
