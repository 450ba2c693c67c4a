/**
 * `pino-courier spool DIR [--json]`: what waits in a spool directory, per sender and owner, read-only;
 * `pino-courier spool DIR --drain (--url URL | --config FILE)`: sends it with those senders. The
 * listing is in spool/spool-listing.ts, the drain in spool/spool-drain.ts. See docs/cli-redrive.md.
 */
import { ConfigError } from '../config/config-error.js'
import { DROP_REASONS, totalDropped } from '../stats/delivery-stats.js'
import { writeStderr } from '../stderr.js'
import { createCliCourier } from './cli-courier.js'
import { courierOptionsFromFlags, SHARED_FLAGS, SHARED_FLAGS_USAGE, type SharedFlagValues } from './cli-options.js'
import { parseFlags } from './parse-flags.js'
import { stopOnSignals } from './redrive/stop-on-signals.js'
import { drainSpool, DrainUsageError, type DrainReport } from './spool/spool-drain.js'
import { formatListing, listingJson } from './spool/spool-format.js'
import { listSpool, NotASpoolError } from './spool/spool-listing.js'
import { EXIT, UsageError } from './usage-error.js'

/** Exit code of a second SIGINT/SIGTERM, which quits at once (as the pipe command's). */
const SECOND_SIGNAL_EXIT = 130

const COMMAND = 'pino-courier spool'

const FLAGS = {
  ...SHARED_FLAGS,
  json: { type: 'boolean' },
  drain: { type: 'boolean' },
  sender: { type: 'string' },
  'max-wait-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** The command's --help. */
export const SPOOL_USAGE = `Usage: pino-courier spool DIR [--json]
       pino-courier spool DIR --drain (--url URL | --config FILE) [--sender NAME] [--max-wait-ms N]

Lists what waits in the spool directory DIR (a config's spool.dir), per sender: records, bytes,
oldest and newest record, segment files, and the owner directories (live processes, dead ones,
directories adopted from dead ones). Read-only: it never takes anything over, and works while apps
write the spool.

--drain sends what waits with the given senders, then closes and reports on stderr. A sender drains
the spooled sender of its own name (--url makes one named "http"); records of a running process are
left to it. What cannot be sent stays in the spool.

Flags:
  --json                     the listing as JSON (stdout)
  --drain                    send what waits (needs --url or --config)
  --sender NAME              drain the spooled sender NAME (a one-sender config is renamed to it)
  --max-wait-ms N            stop draining after N ms (the rest stays in the spool) [no limit]
${SHARED_FLAGS_USAGE}
  -h, --help                 this help

Exit code: 0 listed, or every record drained was delivered (or is still spooled); 1 some record
failed or was dropped; 2 usage or configuration error, or DIR is not a spool (nothing sent).`

/** Runs the spool command; returns its exit code. */
export async function runSpool(args: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseFlags(args, FLAGS, 1)
    if (values.help === true) {
      process.stdout.write(`${SPOOL_USAGE}\n`)
      return EXIT.ok
    }
    const [dir] = positionals
    if (dir === undefined) throw new UsageError('name the spool directory: pino-courier spool DIR')
    if (values.drain !== true) {
      for (const flag of ['url', 'config', 'header', 'sender', 'max-wait-ms']) {
        if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --drain`)
      }
      const listing = listSpool(dir)
      process.stdout.write(values.json === true ? `${JSON.stringify(listingJson(listing), null, 2)}\n` : `${formatListing(listing)}\n`)
      return EXIT.ok
    }
    if (values.json === true) throw new UsageError('--json lists; with --drain the tally goes to stderr')
    return await drain(dir, values as SharedFlagValues)
  } catch (error) {
    return usage(error)
  }
}

async function drain(dir: string, values: SharedFlagValues): Promise<number> {
  const maxWaitMs = parseMaxWait(values['max-wait-ms'])
  const options = courierOptionsFromFlags(values)
  const stop = stopOnSignals(COMMAND, SECOND_SIGNAL_EXIT)
  try {
    const report = await drainSpool({
      dir,
      options,
      sender: values.sender as string | undefined,
      createCourier: (o) => createCliCourier(o),
      stop: stop.signal,
      maxWaitMs,
    })
    for (const line of describeDrain(report)) writeStderr(line)
    const bad = report.close?.senders.some((s) => s.stats.failed > 0 || totalDropped(s.stats) > 0) ?? false
    return bad ? EXIT.undelivered : EXIT.ok
  } finally {
    stop.dispose()
  }
}

function parseMaxWait(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError('--max-wait-ms needs a whole number of milliseconds')
  return n
}

/** The drain's tally, for stderr. */
export function describeDrain(report: DrainReport): string[] {
  const out: string[] = []
  const prefix = `${COMMAND} --drain`
  if (report.ended === 'nothing') {
    const why = report.leftToLiveOwners.length > 0 ? 'what waits belongs to running processes' : 'nothing waits in its spool'
    out.push(`${prefix}: nothing to drain for ${report.drained.join(', ')}: ${why}`)
  }
  for (const sender of report.close?.senders ?? []) {
    const s = sender.stats
    const drops = DROP_REASONS.filter((r) => s.dropped[r] > 0).map((r) => `${r} ${s.dropped[r]}`)
    const parts = [`${s.delivered} delivered`, `${s.failed} failed${s.deadLettered > 0 ? ` (${s.deadLettered} to the dead-letter file)` : ''}`]
    parts.push(`${totalDropped(s)} dropped${drops.length > 0 ? ` (${drops.join(', ')})` : ''}`)
    parts.push(`${s.spooled} left in the spool`)
    const why = s.failed > 0 || totalDropped(s) > 0 || s.spooled > 0 ? (s.lastError ? `; last error: ${s.lastError.message}` : '') : ''
    out.push(`${prefix}: ${s.name}: ${s.recovered} spooled ${s.recovered === 1 ? 'record' : 'records'} taken over: ${parts.join(', ')}${why}`)
  }
  if (report.ended === 'stopped') out.push(`${prefix}: stopped by a signal; what was not sent stays in the spool`)
  if (report.ended === 'timeout') out.push(`${prefix}: --max-wait-ms passed; what was not sent stays in the spool`)
  for (const live of report.leftToLiveOwners) {
    out.push(`${prefix}: ${live.sender}: ${live.records} records left alone: their process is running (pid ${live.pids.join(', ')}) and sends them itself`)
  }
  for (const left of report.notTakenOver) {
    out.push(
      `${prefix}: ${left.sender}: ${left.records} ${left.records === 1 ? 'record was' : 'records were'} not taken over (owner ${left.states.join(', ')}: ${notTakenWhy(left.states)}); they stay in the spool`,
    )
  }
  if (report.unmatched.length > 0) {
    out.push(`${prefix}: not drained (no sender of the config is named so; use --sender NAME): ${report.unmatched.join(', ')}`)
  }
  return out
}

function notTakenWhy(states: readonly string[]): string {
  if (states.includes('other-host')) return 'written on another host, and the config sets spool.adoptOtherHosts to false'
  if (states.includes('unknown')) return 'its owner file cannot be read'
  return 'not adopted by the drain'
}

/** A usage or configuration error, or DIR not a spool: said on stderr, exit 2. Anything else is a bug: rethrown. */
function usage(error: unknown): number {
  if (error instanceof UsageError) {
    writeStderr(`${COMMAND}: ${error.message} (see ${COMMAND} --help)`)
    return EXIT.usage
  }
  if (error instanceof NotASpoolError || error instanceof DrainUsageError || error instanceof ConfigError) {
    writeStderr(`${COMMAND}: ${error.message}`)
    return EXIT.usage
  }
  throw error
}
