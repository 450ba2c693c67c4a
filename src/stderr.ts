import { writeSync } from 'node:fs'

/**
 * Writes one line to stderr synchronously. From a transport's worker this gets out even while pino
 * blocks the main thread at exit (an asynchronous worker stderr write would be lost then).
 */
export function writeStderr(message: string): void {
  try {
    writeSync(2, message + '\n')
  } catch {
    // stderr itself is gone (closed pipe): there is nobody left to tell.
  }
}
