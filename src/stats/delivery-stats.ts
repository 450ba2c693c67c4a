import type { SpoolStats } from '../spool/disk-spool.js'
import type { GroupsStats } from './group-stats.js'
import type { SenderTimings } from './timings.js'
import { TimingsRecorder } from './timings-recorder.js'

/**
 * Why records were dropped: `overflow` (the queue was full), `closed` (sent after close, or still
 * undelivered at the close deadline without a spool), `oversize` (larger than queue.maxRecordBytes),
 * `spoolFull` (the oldest spooled records, evicted to stay under spool.maxBytes), `spoolError` (the
 * spool could not write or read them back).
 */
export type DropReason = 'overflow' | 'closed' | 'oversize' | 'spoolFull' | 'spoolError'

/** Every drop reason, in the order reports list them. */
export const DROP_REASONS: readonly DropReason[] = Object.freeze(['overflow', 'closed', 'oversize', 'spoolFull', 'spoolError'])

/** One failed batch, kept in a sender's bounded failure history. */
export interface FailureRecord {
  /** When the batch failed (ms since epoch). */
  readonly at: number
  /** Records in the batch. */
  readonly records: number
  /** Attempts made. */
  readonly attempts: number
  /** `permanent` (not retryable) or `exhausted` (retries used up). */
  readonly reason: 'permanent' | 'exhausted'
  /** The last error's message (never a credential: senders redact URLs). */
  readonly error: string
  /** HTTP status or sink code, when there was one. */
  readonly status?: number
}

/**
 * A snapshot of one sender's counters. At any moment
 * `received + recovered = queued + spooled + inFlight + delivered + failed + dropped` (dropped summed
 * over every reason).
 */
export interface SenderStats {
  readonly name: string
  /** Records given to the sender at or above its level. */
  readonly received: number
  /** Records waiting for a worker. */
  readonly queued: number
  /** Bytes waiting for a worker. */
  readonly queuedBytes: number
  /** Records in batches being delivered (including ones waiting for a retry). */
  readonly inFlight: number
  /** Records waiting in the disk spool (0 without one). */
  readonly spooled: number
  /** Bytes of the records waiting in the disk spool. */
  readonly spooledBytes: number
  /** Records found in the spool at start-up, left by an earlier run; they count like received ones. */
  readonly recovered: number
  /** Records the sink accepted. */
  readonly delivered: number
  /** Bytes the sink accepted. */
  readonly deliveredBytes: number
  /** Record re-sends after transient failures (a batch of 10 retried twice counts 20). */
  readonly retried: number
  /** Records whose batch failed for good (permanent error or retries exhausted). */
  readonly failed: number
  /** Of the failed records, those written to the dead-letter file. */
  readonly deadLettered: number
  /**
   * Of the delivered records, those the sink cut to fit its size limit (syslog's `maxMessageBytes`).
   * Present once a record has been cut.
   */
  readonly truncated?: number
  /** Records dropped, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>
  /** Delivery attempts (requests) made, retries included. */
  readonly attempts: number
  /** The most recent failed batches, newest last. */
  readonly recentFailures: readonly FailureRecord[]
  /**
   * The latest failed attempt, retried or not: what a sink that cannot be reached (a host name that
   * does not resolve, a refused port) answers while its records wait. Absent until an attempt fails.
   */
  readonly lastError?: { readonly at: number; readonly message: string }
  /** The disk spool's own counters, when the sender has one. */
  readonly spool?: SpoolStats
  /**
   * Most records the queue holds (`queue.maxRecords`): in every built-in sender's stats, so that a
   * reader of the `courier:stats` events (the OpenTelemetry bridge, a dashboard) can tell how full it is.
   */
  readonly queueCapacity?: number
  /** The adaptive concurrency: only with `pool.concurrency: 'adaptive'`. */
  readonly concurrency?: ConcurrencyStats
  /**
   * Latency and batch-size histograms since the sender started. Every built-in sender (a
   * QueuedSender) fills it; a custom sender may not.
   */
  readonly timings?: SenderTimings
  /**
   * A sender with `groupBy`: its live queue groups, the most-dropping and busiest first, and the totals
   * of the groups pruned. The sender's own counters above include every group's.
   */
  readonly groups?: GroupsStats
}

/** A sender's adaptive concurrency (`pool.concurrency: 'adaptive'`), in its stats. */
export interface ConcurrencyStats {
  /** Requests that may be in flight now: in [1, `max`]. */
  readonly limit: number
  /** The highest limit allowed (`pool.maxConcurrency`). */
  readonly max: number
  /** The highest limit reached so far. */
  readonly peak: number
  /** Requests (attempts) in flight now, batches about to start one included; not batches waiting out a backoff. */
  readonly active: number
  /** The limit at which the sink last said it was overloaded, while probes at it are held back. */
  readonly ceiling?: number
  /** The sink's usual round-trip time in ms, which slower answers are measured against. */
  readonly baselineRttMs?: number
  /** Raises of the limit so far. */
  readonly increases: number
  /** Cuts of the limit so far (429, 503, timeouts, slower answers). */
  readonly decreases: number
  /** Pauses of the whole sender after a 429 without `Retry-After`. */
  readonly pauses: number
}

/** Most failures kept in {@link SenderStats.recentFailures}. */
export const MAX_RECENT_FAILURES = 20

/** Mutable counters behind {@link SenderStats}. */
export class StatsCounters {
  received = 0
  queued = 0
  queuedBytes = 0
  inFlight = 0
  spooled = 0
  spooledBytes = 0
  recovered = 0
  delivered = 0
  deliveredBytes = 0
  retried = 0
  failed = 0
  deadLettered = 0
  truncated = 0
  attempts = 0
  readonly dropped: Record<DropReason, number> = { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 }
  lastError: { at: number; message: string } | undefined
  readonly timings = new TimingsRecorder()
  readonly #failures: FailureRecord[] = []

  addFailure(failure: FailureRecord): void {
    this.#failures.push(failure)
    if (this.#failures.length > MAX_RECENT_FAILURES) this.#failures.shift()
  }

  snapshot(name: string, spool?: SpoolStats, queueCapacity?: number, groups?: GroupsStats): SenderStats {
    return {
      name,
      received: this.received,
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      inFlight: this.inFlight,
      spooled: this.spooled,
      spooledBytes: this.spooledBytes,
      recovered: this.recovered,
      delivered: this.delivered,
      deliveredBytes: this.deliveredBytes,
      retried: this.retried,
      failed: this.failed,
      deadLettered: this.deadLettered,
      ...(this.truncated > 0 ? { truncated: this.truncated } : {}),
      dropped: { ...this.dropped },
      attempts: this.attempts,
      recentFailures: [...this.#failures],
      ...(this.lastError ? { lastError: { ...this.lastError } } : {}),
      ...(spool ? { spool } : {}),
      ...(queueCapacity !== undefined ? { queueCapacity } : {}),
      timings: this.timings.snapshot(),
      ...(groups ? { groups } : {}),
    }
  }
}

/** Total of a stats snapshot's drop counters. */
export function totalDropped(stats: { readonly dropped: Partial<Record<DropReason, number>> }): number {
  // A custom sender's stats may predate the spool's reasons: missing ones count as 0.
  let total = 0
  for (const reason of DROP_REASONS) total += stats.dropped[reason] ?? 0
  return total
}
