import type { DeliveryContext, DeliveryResult } from '../sinks/sink.js'
import { setTimer } from '../timers.js'
import { DeliveryTimeoutError } from './delivery-error.js'

/**
 * What one attempt came to: the sink's result (undefined: all accepted), or the error. `timedOut`: it
 * ran into `pool.timeoutMs`, whatever error the sink rejected with on its aborted signal.
 */
export type AttemptOutcome =
  | { readonly ok: true; readonly result: DeliveryResult | undefined }
  | { readonly ok: false; readonly error: unknown; readonly timedOut?: boolean }

/**
 * Runs one delivery attempt (`deliver`, e.g. a sink's deliver for one batch) within `timeoutMs`. The
 * attempt's signal fires at the time limit or when the sender stops (`stopped`); a sink that ignores
 * its signal is raced, so it cannot hold a worker slot past the limit. Never rejects: a sink may throw
 * anything, synchronously or not.
 */
export async function attempt(
  deliver: (context: DeliveryContext) => Promise<void | DeliveryResult>,
  attemptNo: number,
  timeoutMs: number,
  stopped: AbortSignal,
): Promise<AttemptOutcome> {
  const attemptAbort = new AbortController()
  const timer = setTimer(() => attemptAbort.abort(new DeliveryTimeoutError(timeoutMs)), timeoutMs)
  const onStop = (): void => {
    // A hung sink never reaches the finally below: without this the attempt's timer would outlive
    // close() and hold the process (or worker) open for up to pool.timeoutMs.
    clearTimeout(timer)
    attemptAbort.abort(stopped.reason)
  }
  stopped.addEventListener('abort', onStop, { once: true })
  try {
    const result = await Promise.race([
      deliver({ signal: attemptAbort.signal, attempt: attemptNo }),
      rejectOnAbort(attemptAbort.signal, stopped),
    ])
    return { ok: true, result: result ?? undefined }
  } catch (error) {
    // A sink that honours its signal rejects with an error of its own: the reason says it was the time limit.
    if (attemptAbort.signal.reason instanceof DeliveryTimeoutError) return { ok: false, error, timedOut: true }
    return { ok: false, error }
  } finally {
    clearTimeout(timer)
    stopped.removeEventListener('abort', onStop)
  }
}

/**
 * Rejects with the signal's reason one event-loop turn after it aborts, unless `stopped` has aborted
 * (never settles otherwise). The turn lets a sink that honours the signal reject first, with its own,
 * more telling error.
 */
function rejectOnAbort(signal: AbortSignal, stopped: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    // Past the close deadline the batch is already settled as dropped: nothing waits for this.
    const later = (): void => void (stopped.aborted || setImmediate(() => reject(signal.reason)))
    if (signal.aborted) later()
    else signal.addEventListener('abort', later, { once: true })
  })
}
