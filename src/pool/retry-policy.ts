import { DeliveryError } from './delivery-error.js'
import type { RetryOptions } from '../config/delivery-options.js'

/** The 4xx statuses that mean "try again later"; every 5xx does too (see isTransientStatus). */
export const TRANSIENT_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 429])

/** True for statuses that say "try again later": 408, 429 and every 5xx. */
export function isTransientStatus(status: number): boolean {
  return (status >= 500 && status <= 599) || TRANSIENT_CLIENT_STATUSES.has(status)
}

/**
 * Parses an HTTP `Retry-After` value (delay-seconds or an HTTP date) into milliseconds.
 * Returns undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (text === '') return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  // Date.parse reads "-5" or "12" as years: only an HTTP date (it names a weekday) is a date here.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

/** What to do after a failed attempt. */
export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'permanent' | 'exhausted' }

/**
 * Exponential backoff with full jitter (AWS architecture blog), capped by attempts and total time,
 * honouring a sink's `Retry-After`.
 */
export class RetryPolicy {
  readonly #options: Required<RetryOptions>
  readonly #random: () => number

  constructor(options: Required<RetryOptions>, random: () => number = Math.random) {
    this.#options = options
    this.#random = random
  }

  /** Backoff before attempt `attempt + 1`, without Retry-After. */
  backoffMs(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.#options
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 30))
    return Math.floor(this.#random() * ceiling)
  }

  /**
   * How long the sink asked us to wait (`Retry-After`), capped at `maxRetryAfterMs`; undefined when it
   * did not ask.
   */
  retryAfterMs(error: unknown): number | undefined {
    const asked = error instanceof DeliveryError ? error.retryAfterMs : undefined
    if (asked === undefined || !(asked >= 0)) return asked === undefined ? undefined : 0
    return Math.min(asked, this.#options.maxRetryAfterMs)
  }

  /**
   * Decides after attempt number `attempt` (1-based) failed with `error`, `elapsedMs` after the
   * batch's first attempt started. `unbounded`: no limit of attempts or time (a batch safe in a
   * spool), only permanent errors end the retries.
   */
  decide(error: unknown, attempt: number, elapsedMs: number, unbounded = false): RetryDecision {
    if (error instanceof DeliveryError && error.permanent) return { retry: false, reason: 'permanent' }
    if (!unbounded && attempt >= this.#options.maxAttempts) return { retry: false, reason: 'exhausted' }
    const retryAfter = this.retryAfterMs(error)
    const delayMs = retryAfter === undefined ? this.backoffMs(attempt) : retryAfter
    if (!unbounded && elapsedMs + delayMs > this.#options.maxRetryTimeMs) return { retry: false, reason: 'exhausted' }
    return { retry: true, delayMs }
  }
}
