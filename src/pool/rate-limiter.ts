import type { RateLimitOptions } from '../config/delivery-options.js'

/**
 * A sender's `pool.rateLimit` as fixed windows of `intervalMs`: at most `maxRequests` requests and
 * `maxRecords` records start in one window. Every attempt takes from it, the retries of a batch as well
 * as its first try: a sink answering 503 must not get more requests than the limit allows (p-queue's
 * own interval cap counted jobs, and a job's retries ran inside it, uncounted).
 */
export class RateLimiter {
  readonly #limit: RateLimitOptions | undefined
  #windowStart = Number.NEGATIVE_INFINITY
  #requests = 0
  #records = 0

  constructor(limit: RateLimitOptions | undefined) {
    this.#limit = limit
  }

  /** Whether a limit is set at all. */
  get limited(): boolean {
    return this.#limit !== undefined
  }

  /** Most records per window, if the limit sets one. */
  get maxRecords(): number | undefined {
    return this.#limit?.maxRecords
  }

  /**
   * Records an attempt may carry if it starts now: Infinity without a record limit, 0 when no request
   * may start in the current window.
   */
  allowance(): number {
    const limit = this.#limit
    if (!limit) return Number.POSITIVE_INFINITY
    this.#roll()
    if (limit.maxRequests !== undefined && this.#requests >= limit.maxRequests) return 0
    return limit.maxRecords === undefined ? Number.POSITIVE_INFINITY : limit.maxRecords - this.#records
  }

  /**
   * Whether an attempt with `records` records may start now. A batch larger than the record limit
   * (one cut before the limit was known, e.g. spooled by an earlier run) goes alone in a fresh window.
   */
  admits(records: number): boolean {
    const allowance = this.allowance()
    return allowance >= records || (allowance > 0 && this.#records === 0)
  }

  /** Counts an attempt of `records` records in the current window. */
  take(records: number): void {
    if (!this.#limit) return
    this.#roll()
    this.#requests++
    this.#records += records
  }

  /** Milliseconds until the current window ends (0 without a limit). */
  msToNextWindow(): number {
    const limit = this.#limit
    if (!limit) return 0
    return Math.max(0, this.#windowStart + limit.intervalMs - Date.now())
  }

  /** Opens a fresh window once the current one has passed. */
  #roll(): void {
    const now = Date.now()
    if (now - this.#windowStart >= (this.#limit as RateLimitOptions).intervalMs) {
      this.#windowStart = now
      this.#requests = 0
      this.#records = 0
    }
  }
}
