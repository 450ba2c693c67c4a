// One bench run: a child process playing the app. It builds one target's logger, logs a burst or a
// paced stream of records, measures what the app feels (time inside the log calls, event-loop
// delay, peak RSS, how long its exit blocks) and reports on stdout, one `@@bench {json}` line at the
// end of logging and one from its last exit listener (a target that hangs the exit until it is
// killed still leaves the first).
//
//   node bench/app.mjs '{"target":"courier","url":"http://127.0.0.1:1234","mode":"burst","count":1000}'
import { writeSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { now } from './clock.mjs'
import { createTarget } from './targets.mjs'

/**
 * @typedef {object} AppConfig
 * @property {string} target
 * @property {string} url            the sink
 * @property {'burst'|'paced'} mode
 * @property {number} count          records to log
 * @property {number} [durationMs]   paced: spread the records over this long
 * @property {number} [chunk]        burst: records per event-loop turn
 * @property {'natural'|'exit'} [exit] end by letting the event loop empty, or by process.exit()
 */

/** @type {AppConfig} */
const config = JSON.parse(process.argv[2] ?? '{}')
const { target, url, mode, count } = config
const chunk = config.chunk ?? 100
const PACE_TICK_MS = 10

const marks = { firstLog: 0, lastLog: 0, exitStart: 0, exitEnd: 0, closeMs: 0 }
const report = (kind, data) => writeSync(1, `@@bench ${JSON.stringify({ kind, ...data })}\n`)
const rssMb = () => process.resourceUsage().maxRSS / 1024

// Registered before the target exists, so it runs before pino's own exit handler (which flushes and
// closes the transport, blocking); the one registered after the target runs after it.
process.on('exit', () => (marks.exitStart = now()))

const { logger, ready, close } = await createTarget(target, url)
await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])

process.on('exit', () => {
  marks.exitEnd = now()
  report('exit', { marks, rssMb: rssMb() })
})

// Records look like a request log line of a web service: ~200 bytes with pino's own fields.
const fields = { benchId: 0, route: '/api/v1/orders/:id', method: 'GET', status: 200, durationMs: 12.5, user: 'u-48213' }
const message = 'request completed'

const eld = monitorEventLoopDelay({ resolution: 1 })
let syncNs = 0n
let sent = 0

function logUpTo(end) {
  const start = process.hrtime.bigint()
  for (; sent < end; sent++) {
    fields.benchId = sent
    logger.info(fields, message)
  }
  syncNs += process.hrtime.bigint() - start
}

report('start', {})
marks.firstLog = now()
eld.enable()
if (mode === 'burst') {
  while (sent < count) {
    logUpTo(Math.min(count, sent + chunk))
    if (sent < count) await new Promise((resolve) => setImmediate(resolve))
  }
} else {
  const durationMs = config.durationMs ?? 5000
  const begin = now()
  while (sent < count) {
    await new Promise((resolve) => setTimeout(resolve, PACE_TICK_MS))
    const due = Math.min(count, Math.ceil((count * (now() - begin)) / durationMs))
    logUpTo(due)
  }
}
marks.lastLog = now()
eld.disable()

const ms = (ns) => Number(ns) / 1e6
report('logged', {
  sent,
  syncMs: ms(syncNs),
  eld: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) },
  rssMb: rssMb(),
  marks,
})

if (config.exit === 'exit') process.exit(0)
if (close) {
  // In-process: nothing blocks the exit, but the app awaits close() before it can end.
  const started = now()
  const result = await close()
  marks.closeMs = now() - started
  report('closed', { closeReport: summarize(result) })
}

/** The parts of a courier close report the bench prints (its ledger). */
function summarize(result) {
  const senders = result?.senders ?? []
  const sum = (pick) => senders.reduce((n, s) => n + pick(s.stats), 0)
  return {
    undelivered: result?.undelivered ?? 0,
    failed: sum((s) => s.failed),
    overflow: sum((s) => s.dropped.overflow),
    closed: sum((s) => s.dropped.closed),
    oversize: sum((s) => s.dropped.oversize),
    spooled: result?.spooled ?? 0,
    spoolFull: sum((s) => s.dropped.spoolFull ?? 0),
    spoolError: sum((s) => s.dropped.spoolError ?? 0),
  }
}
