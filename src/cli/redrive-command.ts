/**
 * `pino-courier redrive FILE [--url URL | --config FILE]`: sends the lines of a dead-letter file (or
 * any saved NDJSON file) again, and keeps in FILE only the lines that were not delivered. The work is
 * in redrive/redrive.ts; here are the flags, the checks that refuse before anything is sent, the
 * signals and the exit code. See docs/cli-redrive.md.
 */
import { ConfigError } from '../config/config-error.js'
import type { ResolvedTransportOptions } from '../config/transport-options.js'
import { writeStderr } from '../stderr.js'
import { createCliCourier } from './cli-courier.js'
import { courierOptionsFromFlags, SHARED_FLAGS, SHARED_FLAGS_USAGE, type SharedFlagValues } from './cli-options.js'
import { parseFlags } from './parse-flags.js'
import { describeRedrive, redriveExitCode } from './redrive/redrive-report.js'
import { redrive, RedriveUsageError } from './redrive/redrive.js'
import { stopOnSignals } from './redrive/stop-on-signals.js'
import { EXIT, UsageError } from './usage-error.js'

/** Exit code of a second SIGINT/SIGTERM, which quits at once (as the pipe command's). */
const SECOND_SIGNAL_EXIT = 130

const COMMAND = 'pino-courier redrive'

const FLAGS = { ...SHARED_FLAGS, help: { type: 'boolean', short: 'h' } } as const

/** The command's --help. */
export const REDRIVE_USAGE = `Usage: pino-courier redrive FILE (--url URL | --config FILE) [flags]

Sends the lines of FILE (a dead-letter file, or any NDJSON file) again, with the batching, retries
and spool of the given senders. Afterwards FILE keeps exactly the lines that were not delivered
(failed again, dropped, or taken by no sender); delivered lines leave it, so a second run sends
only what is left. Lines appended to FILE meanwhile are kept. The tally goes to stderr.

Flags:
${SHARED_FLAGS_USAGE}
  -h, --help                 this help

Exit code: 0 every line delivered (or spooled), 1 some line kept, 2 usage or configuration error
(nothing sent). See docs/cli-redrive.md.`

/** Runs the redrive command; returns its exit code. */
export async function runRedrive(args: readonly string[]): Promise<number> {
  let file: string
  let values: SharedFlagValues
  try {
    const parsed = parseFlags(args, FLAGS, 1)
    if (parsed.values.help === true) {
      process.stdout.write(`${REDRIVE_USAGE}\n`)
      return EXIT.ok
    }
    const [first] = parsed.positionals
    if (first === undefined) throw new UsageError('name the file to send again: pino-courier redrive FILE --url URL')
    file = first
    values = parsed.values as SharedFlagValues
  } catch (error) {
    return usage(error)
  }
  const stop = stopOnSignals(COMMAND, SECOND_SIGNAL_EXIT)
  try {
    const options = courierOptionsFromFlags(values)
    const report = await redrive({
      file,
      deadLetterPaths: deadLetterPaths(options.transport),
      createCourier: (observer) => createCliCourier(options, { observer }),
      stop: stop.signal,
      guard: stop.guard,
    })
    for (const line of describeRedrive(report, file)) writeStderr(line)
    return redriveExitCode(report)
  } catch (error) {
    return usage(error)
  } finally {
    stop.dispose()
  }
}

/** Every dead-letter path the config names, at the top level or on a sender. */
function deadLetterPaths(transport: ResolvedTransportOptions): string[] {
  const paths: string[] = []
  const add = (deadLetter: unknown): void => {
    const path = (deadLetter as { path?: unknown } | undefined)?.path
    if (typeof path === 'string') paths.push(path)
  }
  add(transport.deadLetter)
  for (const spec of transport.senders) add((spec as { deadLetter?: unknown }).deadLetter)
  return paths
}

/** A usage or configuration error: said on stderr, exit 2 (nothing was sent). Anything else is a bug: rethrown. */
function usage(error: unknown): number {
  if (error instanceof UsageError || error instanceof RedriveUsageError) {
    writeStderr(`${COMMAND}: ${error.message}${error instanceof UsageError ? ` (see ${COMMAND} --help)` : ''}`)
    return EXIT.usage
  }
  if (error instanceof ConfigError) {
    writeStderr(`${COMMAND}: ${error.message}`)
    return EXIT.usage
  }
  throw error
}
