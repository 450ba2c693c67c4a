/** Why records were dropped. */
export type DropReason = 'overflow' | 'closed' | 'oversize'

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
 * `received = queued + inFlight + delivered + failed + dropped.overflow + dropped.closed + dropped.oversize`.
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
  /** Records the sink accepted. */
  readonly delivered: number
  /** Bytes the sink accepted. */
  readonly deliveredBytes: number
  /** Record re-sends after transient failures (a batch of 10 retried twice counts 20). */
  readonly retried: number
  /** Records whose batch failed for good (permanent error or retries exhausted). */
  readonly failed: number
  /** Records dropped, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>
  /** Delivery attempts (requests) made, retries included. */
  readonly attempts: number
  /** The most recent failed batches, newest last. */
  readonly recentFailures: readonly FailureRecord[]
}

/** Most failures kept in {@link SenderStats.recentFailures}. */
export const MAX_RECENT_FAILURES = 20

/** Mutable counters behind {@link SenderStats}. */
export class StatsCounters {
  received = 0
  queued = 0
  queuedBytes = 0
  inFlight = 0
  delivered = 0
  deliveredBytes = 0
  retried = 0
  failed = 0
  attempts = 0
  readonly dropped: Record<DropReason, number> = { overflow: 0, closed: 0, oversize: 0 }
  readonly #failures: FailureRecord[] = []

  addFailure(failure: FailureRecord): void {
    this.#failures.push(failure)
    if (this.#failures.length > MAX_RECENT_FAILURES) this.#failures.shift()
  }

  snapshot(name: string): SenderStats {
    return {
      name,
      received: this.received,
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      inFlight: this.inFlight,
      delivered: this.delivered,
      deliveredBytes: this.deliveredBytes,
      retried: this.retried,
      failed: this.failed,
      dropped: { ...this.dropped },
      attempts: this.attempts,
      recentFailures: [...this.#failures],
    }
  }
}

/** Total of a stats snapshot's drop counters. */
export function totalDropped(stats: Pick<SenderStats, 'dropped'>): number {
  return stats.dropped.overflow + stats.dropped.closed + stats.dropped.oversize
}
