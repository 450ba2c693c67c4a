/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts (then `onAbort` runs: drop
 * the connection the promise was waiting on, say). For a client call that does not take a signal (a
 * kafkajs send, an ioredis pipeline, a NATS flush): the attempt ends at its deadline whatever the
 * client does. The promise runs on after an abort, and its late failure is handled, never an
 * unhandled rejection that would end the worker.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  promise.catch(() => undefined)
  if (signal.aborted) {
    onAbort?.()
    return Promise.reject(signal.reason as Error)
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.()
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', abort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort)
        reject(error as Error)
      },
    )
  })
}
