#!/usr/bin/env node
/**
 * The `pino-courier` command: `node app.js | pino-courier --url URL` (the pipe command), or the
 * `redrive` and `spool` sub-commands. Each returns its exit code (0 delivered, 1 some record failed or
 * was dropped, 2 usage or configuration error); the process exits with it once stdout has drained.
 */
import { keepYoungGenerationSmall } from './young-generation.js'

// Before anything else is loaded: loading the library is already enough to grow it.
keepYoungGenerationSmall()

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv
  // Each command loads only its own code: the pipe command starts sooner and smaller.
  if (first === 'redrive') return (await import('./redrive-command.js')).runRedrive(rest)
  if (first === 'spool') return (await import('./spool-command.js')).runSpool(rest)
  return (await import('./pipe-command.js')).runPipe(argv)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // Exit once what was written to stdout (--echo) has gone; sockets and timers left by a sender
    // past its close deadline must not keep the process alive.
    const stdout = process.stdout
    // A stdout that broke (EPIPE) will neither drain nor report again: nothing more can go out.
    if (stdout.writableLength === 0 || stdout.destroyed || stdout.errored) process.exit(code)
    else stdout.once('drain', () => process.exit(code)).once('error', () => process.exit(code)).once('close', () => process.exit(code))
  },
  (error: unknown) => {
    process.stderr.write(`pino-courier: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
