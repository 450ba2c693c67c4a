import { writeStderr } from '../../stderr.js'

/**
 * SIGINT and SIGTERM for a command that must finish its bookkeeping: the first one aborts the returned
 * signal (the command stops reading, lets what was sent settle within the close deadline and updates
 * its files); a second one exits at once with `exitCode`, files left as they were (which loses nothing:
 * they are only ever replaced by a rename). `dispose()` removes the handlers.
 */
export function stopOnSignals(command: string, exitCode: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      writeStderr(`${command}: ${name}: stopping; what was sent is settled first (${name} again to quit at once)`)
      controller.abort()
      return
    }
    writeStderr(`${command}: ${name} again: quitting now`)
    process.exit(exitCode)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
