/**
 * The pipe command: `node app.js | pino-courier --url URL` (or `--config FILE`). Reads NDJSON lines
 * from stdin, ships them with backpressure instead of drops, shows a live status on stderr, and at
 * the end prints a tally and exits 0 (all delivered or spooled), 1 (some failed or dropped) or 2
 * (usage or configuration error, nothing sent).
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config/config-error.js'
import { DEFAULT_QUEUE } from '../config/defaults.js'
import type { Courier, CourierCloseReport } from '../input/courier.js'
import { startCourierMetrics, type MetricsServer } from '../metrics/metrics-server.js'
import { QueuedSender } from '../senders/queued-sender.js'
import { errorMessage } from '../error-message.js'
import { createCliCourier } from './cli-courier.js'
import { courierOptionsFromFlags, SHARED_FLAGS, SHARED_FLAGS_USAGE, type CliCourierOptions } from './cli-options.js'
import { parseFlags } from './parse-flags.js'
import { pumpLines, type PumpResult } from './pipe-reader.js'
import { StatusBoard, stderrTarget, type StatusTarget } from './status-board.js'
import { stdinChunks, type ChunkSource } from './stdin-chunks.js'
import { tallyExitCode, tallyLines, type InputEnd } from './tally.js'
import { EXIT, UsageError } from './usage-error.js'

/** The pipe command's flags: the shared ones and its own. */
export const PIPE_FLAGS = Object.freeze({
  ...SHARED_FLAGS,
  echo: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'status-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const)

/** Exit code of a second SIGINT or SIGTERM, which quits without waiting (as a shell's 128 + SIGINT). */
export const SECOND_SIGNAL_EXIT = 130

/** Default period of the plain status line when stderr is not a terminal, in seconds. */
export const DEFAULT_STATUS_INTERVAL_S = 10

export const PIPE_USAGE = `Usage: node app.js | pino-courier --url URL [options]
       node app.js | pino-courier --config courier.json [options]
       pino-courier redrive FILE (--url URL | --config FILE) [options]
       pino-courier spool DIR [--json | --drain (--url URL | --config FILE)]

Ships the NDJSON lines of stdin (pino's output) to the senders. A full queue pauses the reading
(the pipe fills and the writer waits) instead of dropping records.

Options:
${SHARED_FLAGS_USAGE}
  --echo                     copy stdin to stdout unchanged, like tee
  --status-interval SECONDS  plain status line on stderr every SECONDS when it is not a terminal
                             (0 = none) [${DEFAULT_STATUS_INTERVAL_S}]
  -q, --quiet                no live status (the final tally is still printed)
  -h, --help                 this help
  -v, --version              the version

Flags override the --config file. Status and tally go to stderr; stdout carries only --echo.
SIGTERM or SIGINT: stop reading, deliver within the close deadline (closeTimeoutMs), print the
tally; a second SIGINT or SIGTERM exits at once (code 130).
"pino-courier redrive --help" and "pino-courier spool --help" for the sub-commands.
Exit codes: 0 every record delivered (or spooled), 1 some record failed or was dropped,
2 usage or configuration error (nothing sent). See docs/cli.md.`

/** What the command reads and writes: the process's own streams, replaceable by nothing else. */
interface PipeIo {
  readonly stdin: ChunkSource
  readonly stdout: NodeJS.WriteStream
  readonly status: StatusTarget
}

export async function runPipe(args: readonly string[]): Promise<number> {
  const io: PipeIo = { stdin: stdinChunks(), stdout: process.stdout, status: stderrTarget() }
  let values: Record<string, unknown>
  try {
    values = parseFlags(args, PIPE_FLAGS).values
  } catch (error) {
    return usageFailure(io, error)
  }
  if (values.help === true) {
    io.stdout.write(PIPE_USAGE + '\n')
    return EXIT.ok
  }
  if (values.version === true) {
    io.stdout.write(packageVersion() + '\n')
    return EXIT.ok
  }
  let options: CliCourierOptions
  let courier: Courier
  let intervalMs: number
  try {
    intervalMs = statusIntervalMs(values['status-interval'])
    options = courierOptionsFromFlags(values)
    // On a terminal the board prints warnings itself, above its lines; elsewhere the courier does.
    const board = io.status.isTTY && values.quiet !== true
    courier = createCliCourier(options, { stderr: board ? false : options.transport.stderr })
  } catch (error) {
    return usageFailure(io, error, typeof values.config === 'string' ? values.config : undefined)
  }
  let metrics: MetricsServer | undefined
  if (options.transport.metrics) {
    // Before the first line is read: a port in use is a configuration error, nothing sent yet.
    try {
      metrics = await startCourierMetrics(options.transport.metrics, () => courier)
    } catch (error) {
      await courier.close({ timeoutMs: 100 })
      return usageFailure(io, error, typeof values.config === 'string' ? values.config : undefined)
    }
    io.status.write(`pino-courier: metrics at ${metrics.url}\n`)
  }
  try {
    return await ship(io, courier, options, { echo: values.echo === true, quiet: values.quiet === true, intervalMs })
  } finally {
    await metrics?.close()
  }
}

async function ship(io: PipeIo, courier: Courier, options: CliCourierOptions, flags: { echo: boolean; quiet: boolean; intervalMs: number }): Promise<number> {
  const started = Date.now()
  const board = flags.quiet ? undefined : new StatusBoard(courier, io.status, flags.intervalMs)
  if (board && io.status.isTTY && options.transport.stderr) courier.on('warning', (warning) => board.message(warning.message))
  const stop = new AbortController()
  let stoppedBy: string | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy === undefined) {
      stoppedBy = signal
      stop.abort()
      const text = `pino-courier: ${signal}: stopped reading; delivering what was read within ${options.transport.closeTimeoutMs} ms (${signal} again to exit at once)`
      if (board) board.message(text)
      else io.status.write(text + '\n')
      return
    }
    // A second signal (Ctrl-C again): whoever sent it does not want to wait for the close deadline.
    io.status.write(`\npino-courier: second signal (${signal}): exiting now, what was not delivered yet is lost\n`)
    process.exit(SECOND_SIGNAL_EXIT)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  // Run by hand without a pipe, the command would seem to hang: say what it waits for.
  if (io.stdin.isTTY) io.status.write('pino-courier: reading NDJSON lines from the terminal (Ctrl-D ends the input)\n')
  board?.start()

  const pumped: PumpResult = await pumpLines({
    input: io.stdin,
    courier,
    echo: flags.echo ? io.stdout : undefined,
    maxLineBytes: maxLineBytes(courier),
    signal: stop.signal,
  })
  const report = await finish(courier, pumped, stop.signal)
  board?.stop()
  const input: InputEnd =
    pumped.reason === 'error'
      ? { kind: 'error', message: errorMessage(pumped.error) }
      : stoppedBy !== undefined
        ? { kind: 'signal', signal: stoppedBy }
        : { kind: 'end' }
  const lines = tallyLines(report, input, Date.now() - started, options.transport.closeTimeoutMs)
  io.status.write(lines.join('\n') + '\n')
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  return tallyExitCode(report.stats, input)
}

/**
 * At the end of input everything read is delivered (or fails, once its retries are over: a pipe has
 * no exit deadline to meet), then the senders close. A signal, before or during that wait, ends it:
 * close() then delivers what it can within the close deadline.
 */
async function finish(courier: Courier, pumped: PumpResult, signal: AbortSignal): Promise<CourierCloseReport> {
  if (pumped.reason === 'end' && !signal.aborted) {
    const flushed = courier.flush().catch(() => undefined)
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true })
      void flushed.then(() => resolve())
    })
  }
  return courier.close()
}

/** The longest line kept whole: the senders' largest queue.maxRecordBytes (see LineSplitter). */
function maxLineBytes(courier: Courier): number {
  let max = 0
  for (const sender of courier.senders) if (sender instanceof QueuedSender) max = Math.max(max, sender.options.queue.maxRecordBytes)
  return (max || DEFAULT_QUEUE.maxRecordBytes) + 1
}

function statusIntervalMs(value: unknown): number {
  if (value === undefined) return DEFAULT_STATUS_INTERVAL_S * 1000
  const seconds = Number(value)
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--status-interval: expected seconds (a number, 0 = none), got "${String(value)}"`)
  }
  return Math.round(seconds * 1000)
}

/** Prints a usage or configuration error (exit 2); anything else is a bug and is rethrown. */
function usageFailure(io: PipeIo, error: unknown, configFile?: string): number {
  if (error instanceof UsageError) {
    io.status.write(`pino-courier: ${error.message}\nRun "pino-courier --help" for usage.\n`)
    return EXIT.usage
  }
  if (error instanceof ConfigError) {
    // The paths are the file's (or the flags' that override it): say which file.
    io.status.write(`${error.message}${configFile === undefined ? '' : ` (in --config ${configFile})`}\n`)
    return EXIT.usage
  }
  throw error
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return `pino-courier ${pkg.version ?? 'unknown'}`
  } catch {
    return 'pino-courier (version unknown)'
  }
}
