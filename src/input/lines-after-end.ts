/**
 * Log lines written to a `pino.transport()` stream after it ended never reach the worker: no sender
 * counts them. `createCourierTransport()` makes the stream in the main thread, so it can count them
 * there (and keep thread-stream's 'error' for such a write from crashing an app without a listener).
 */
import type pino from 'pino'
import { writeStderr } from '../stderr.js'
import { setTimer } from '../timers.js'

/** Newlines in a chunk pino wrote (one per log line; a chunk without one still counts as a line). */
function linesIn(data: unknown): number {
  let count = 0
  if (typeof data === 'string') {
    for (let i = data.indexOf('\n'); i !== -1; i = data.indexOf('\n', i + 1)) count++
  } else if (data instanceof Uint8Array) {
    for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) count++
  }
  return Math.max(count, 1)
}

/**
 * Counts what is written to a thread-stream after it ended, and keeps such a write from crashing the
 * app. thread-stream answers a write after `end()` (or after its worker exited) by emitting 'error'
 * on the next turn ("the worker is ending"); with no listener that is an uncaught exception, for a
 * log call. None of our code runs in the main thread of a plain `pino.transport()`, so this is done
 * where the stream is made. An app that listens for 'error' still gets it.
 */
export function countLinesAfterEnd(stream: ReturnType<typeof pino.transport>, options: { stderr: boolean; warnIntervalMs: number }): void {
  const write = stream.write
  let lines = 0
  /** Lines not told about on stderr yet, and when the last warning went out. */
  let untold = 0
  let warnedAt = Number.NEGATIVE_INFINITY
  let timer: NodeJS.Timeout | undefined
  let exitHook = false
  const tell = (): void => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (untold === 0) return
    writeStderr(
      warnedAt === Number.NEGATIVE_INFINITY
        ? `pino-courier: ${untold === 1 ? 'a log line was' : `${untold} log lines were`} written after the transport ended ` +
            '(transport.end() or process exit) and lost; later ones are counted in transport.linesAfterEnd'
        : `pino-courier: ${untold} more log ${untold === 1 ? 'line' : 'lines'} written after the transport ended, lost (${lines} in all)`,
    )
    untold = 0
    warnedAt = Date.now()
  }
  const noteLost = (count: number): void => {
    lines += count
    if (!options.stderr) return
    untold += count
    const wait = warnedAt + options.warnIntervalMs - Date.now()
    if (wait <= 0) return tell()
    // Unref'd: a summary must not keep an exiting app alive; what it did not tell yet is told at exit.
    timer ??= setTimer(tell, wait).unref()
    if (!exitHook) {
      exitHook = true
      process.once('exit', tell)
    }
  }
  Object.defineProperty(stream, 'linesAfterEnd', { get: () => lines, enumerable: true, configurable: true })
  stream.write = function writeUnlessEnded(this: typeof stream, data: string): boolean {
    // Not in thread-stream's types, but public getters of its class (4.x).
    const state = this as unknown as { writableEnded?: boolean; destroyed?: boolean }
    if (!state.writableEnded && !state.destroyed) return write.call(this, data)
    noteLost(linesIn(data))
    return this.listenerCount('error') > 0 ? write.call(this, data) : false
  }
}
