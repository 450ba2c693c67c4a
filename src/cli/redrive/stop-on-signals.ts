import { writeStderr } from '../../stderr.js'

/**
 * SIGINT and SIGTERM for a command that must finish its bookkeeping: the first one aborts the returned
 * signal (the command stops reading, lets what was sent settle within the close deadline and updates
 * its files); a second one exits at once with `exitCode`, files left as they were (which loses nothing:
 * they are only ever replaced by a rename). Except inside `guard(work)`: a file being replaced has
 * been renamed, and the lines appended to its old version meanwhile are still to be copied over, so
 * the exit waits for the work to end. `dispose()` removes the handlers.
 */
export function stopOnSignals(
  command: string,
  exitCode: number,
): { signal: AbortSignal; guard: <T>(work: () => Promise<T>) => Promise<T>; dispose: () => void } {
  const controller = new AbortController()
  let guarded = 0
  let exitAfterGuard = false
  const onSignal = (name: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      writeStderr(`${command}: ${name}: stopping; what was sent is settled first (${name} again to quit at once)`)
      controller.abort()
      return
    }
    if (guarded > 0) {
      writeStderr(`${command}: ${name} again: quitting once the file being replaced is complete`)
      exitAfterGuard = true
      return
    }
    writeStderr(`${command}: ${name} again: quitting now`)
    process.exit(exitCode)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    guard: async (work) => {
      guarded++
      try {
        return await work()
      } finally {
        guarded--
        if (guarded === 0 && exitAfterGuard) process.exit(exitCode)
      }
    },
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
