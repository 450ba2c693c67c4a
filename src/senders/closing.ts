import { DEFAULT_CLOSE_TIMEOUT_MS } from '../config/defaults.js'
import type { Sink } from '../sinks/sink.js'
import { setTimer } from '../timers.js'

/**
 * Time the sink always gets to close, even when draining used up the whole deadline: enough for a
 * sink to end a socket or a file handle it owns. close() can overrun its deadline by this much,
 * which the default deadline leaves well inside pino's 10 s exit limit.
 */
export const CLOSE_SINK_GRACE_MS = 100

/** Closes a sink within `timeoutMs`; a sink that fails or hangs on close must not fail close(). */
export async function closeSink(sink: Sink, timeoutMs: number): Promise<void> {
  if (!sink.close) return
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      Promise.resolve().then(() => sink.close?.()),
      new Promise<void>((resolve) => (timer = setTimer(resolve, timeoutMs))),
    ])
  } catch {
    // Closing a broken sink must not turn close() into a rejection: its records are accounted for.
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The deadline a sender's close() uses: a courier passes its own (`given`); a sender configured with a
 * shorter one (`own`) keeps it.
 */
export function closeDeadline(given: number | undefined, own: number | undefined): number {
  return given === undefined ? (own ?? DEFAULT_CLOSE_TIMEOUT_MS) : Math.min(given, own ?? given)
}

/** Waits for `work` at most `ms`: true when the time ran out first. */
export async function pastDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    work.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimer(resolve, ms, true))),
  ])
  clearTimeout(timer)
  return timedOut
}
