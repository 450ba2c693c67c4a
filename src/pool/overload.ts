import type { AdaptiveResult } from './adaptive-limit.js'
import type { AttemptOutcome } from './attempt.js'
import { DeliveryError, DeliveryTimeoutError } from './delivery-error.js'
import { isPartial } from './partial-outcome.js'

/** Statuses that say the sink is overloaded (too many requests, service unavailable), not broken. */
export const OVERLOAD_STATUSES: ReadonlySet<number> = new Set([429, 503])

const TOO_MANY_REQUESTS = 429

/**
 * What an attempt says about the sink's capacity, for an {@link AdaptiveLimit}: `overloaded` for a 429 or
 * 503, an attempt that ran into `pool.timeoutMs`, or a partial result whose records to retry were
 * refused 429 or 503 (Elasticsearch's bulk answers 200 with items refused 429 when its write queue is
 * full); `ok` for a delivery, a partial one included (the sink took the request); `failed` otherwise
 * (a refused connection, a 400: nothing about load).
 */
export function attemptVerdict(outcome: AttemptOutcome): AdaptiveResult['outcome'] {
  if (outcome.ok) return overloadedItems(outcome.result) ? 'overloaded' : 'ok'
  const error = outcome.error
  if (outcome.timedOut === true || error instanceof DeliveryTimeoutError) return 'overloaded'
  return error instanceof DeliveryError && error.status !== undefined && OVERLOAD_STATUSES.has(error.status) ? 'overloaded' : 'failed'
}

/**
 * Whether an attempt was refused 429 without a `Retry-After` (the whole request, or records of a
 * partial result): the sink says "too many" without saying for how long, so the pace is ours to slow.
 */
export function bareTooManyRequests(outcome: AttemptOutcome): boolean {
  if (outcome.ok) return overloadedItems(outcome.result, TOO_MANY_REQUESTS)
  const error = outcome.error
  return error instanceof DeliveryError && error.status === TOO_MANY_REQUESTS && error.retryAfterMs === undefined
}

/** Whether a partial result names records to retry with an overload status (`only`: that one). */
function overloadedItems(result: unknown, only?: number): boolean {
  if (!isPartial(result) || !Array.isArray(result.retry)) return false
  return result.retry.some((r) => r?.status !== undefined && (only === undefined ? OVERLOAD_STATUSES.has(r.status) : r.status === only))
}
