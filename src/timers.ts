/**
 * Every timer pino-courier sets goes through here. Node's timers hold a delay in a signed 32-bit
 * integer: a longer delay (or a non-finite one) fires after 1 ms instead, with a TimeoutOverflowWarning.
 * A `pool.timeoutMs` of 3e9 then timed every attempt out at once, and a `Retry-After` of a month made a
 * spooled batch retry in a tight loop. Options are bounded in their schemas ({@link durationSchema}) so
 * users hear about it at start-up; delays computed at run time (a sink's `Retry-After`, a pause's end)
 * are clamped here, and the code that waits checks the clock again when the timer fires.
 */
import { z } from 'zod'

/** The longest delay Node's timers can wait: 2^31 - 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Schema of a duration option in milliseconds: a whole number from `min` up to what a timer can wait
 * ({@link MAX_TIMER_MS}), or up to `max` when the option has a tighter limit of its own.
 */
export function durationSchema(min = 0, max = MAX_TIMER_MS): z.ZodNumber {
  const schema = z.number().int().min(min, min === 1 ? 'must be positive' : `must be at least ${min}`)
  return max < MAX_TIMER_MS
    ? schema.max(max, `must be at most ${max}`)
    : schema.max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node timer can wait)`)
}

/** A delay a timer can wait for: NaN and negatives become 0, anything past the limit the limit. */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : Math.ceil(ms)
}

/**
 * `setTimeout` with the delay clamped by {@link timerDelay}. A caller whose delay may exceed the limit
 * must check, when it fires, whether the time it waits for has come (and wait again if not).
 */
export function setTimer<A extends unknown[]>(callback: (...args: A) => void, ms: number, ...args: A): NodeJS.Timeout {
  // eslint-disable-next-line no-restricted-globals -- the one place a raw timer is set
  return setTimeout(callback, timerDelay(ms), ...args)
}

/** `setInterval` with the interval clamped by {@link timerDelay} (at least 1 ms: 0 would spin). */
export function setRepeat(callback: () => void, ms: number): NodeJS.Timeout {
  // eslint-disable-next-line no-restricted-globals -- the one place a raw interval is set
  return setInterval(callback, Math.max(1, timerDelay(ms)))
}
