// Runs one target through one scenario: starts the sink, spawns the app (bench/app.mjs) as a child
// process, starts the sink's fault window at the app's first log call, and collects what both saw.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { now } from './clock.mjs'
import { BenchSink } from './sink.mjs'

const APP = fileURLToPath(new URL('./app.mjs', import.meta.url))
/** pino gives a transport 10 s to close at exit; past that (and a margin) the app is killed. */
const KILL_AFTER_LAST_LOG_MS = 12_000
/** Time the sink gets after the app is gone, for requests already on the wire. */
const SETTLE_MS = 300
/** Most stderr kept per run (peers can print an error per failed request). */
const MAX_STDERR = 64 * 1024

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {'burst'|'paced'} mode
 * @property {number} count
 * @property {number} [durationMs]
 * @property {number} latencyMs
 * @property {'none'|'503'|'refuse'} [fault]
 * @property {number} [faultMs]
 * @property {'natural'|'exit'} [exit]
 */

/**
 * @param {Scenario} scenario
 * @param {import('./targets.mjs').TargetInfo} target
 * @param {{ profileDir?: string }} [options]
 */
export async function runOne(scenario, target, options = {}) {
  const copies = target.copies ?? 1
  const sink = new BenchSink({ expected: scenario.count, copies, latencyMs: scenario.latencyMs, fault: scenario.fault })
  await sink.start()
  const config = {
    target: target.name,
    url: sink.url,
    mode: scenario.mode,
    count: scenario.count,
    durationMs: scenario.durationMs,
    exit: scenario.exit ?? 'natural',
  }
  const execArgv = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []
  const child = spawn(process.execPath, [...execArgv, APP, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  const reports = {}
  let stderr = ''
  let killed = false
  let killTimer
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (text) => {
    out += text
    let newline
    while ((newline = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, newline)
      out = out.slice(newline + 1)
      if (!line.startsWith('@@bench ')) continue
      const message = JSON.parse(line.slice(8))
      reports[message.kind] = message
      if (message.kind === 'start') sink.failFor(scenario.faultMs ?? 0)
      if (message.kind === 'logged') {
        killTimer = setTimeout(() => {
          killed = true
          child.kill('SIGKILL')
        }, KILL_AFTER_LAST_LOG_MS)
      }
    }
  })
  let stderrCut = false
  child.stderr.setEncoding('utf8').on('data', (text) => {
    // The tail is what matters (pino-courier's close line comes last).
    stderr += text
    if (stderr.length > MAX_STDERR) {
      stderr = stderr.slice(-MAX_STDERR)
      stderrCut = true
    }
  })
  const exit = await new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: now() }))
  })
  clearTimeout(killTimer)
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const tally = sink.tally()
  await sink.close()

  const logged = reports.logged
  if (!logged) {
    throw new Error(`${target.name} in ${scenario.id}: the app ended before it finished logging (exit ${exit.code ?? exit.signal}): ${stderr.slice(-2000)}`)
  }
  const marks = { ...logged.marks, ...(reports.exit?.marks ?? {}) }
  const exitBlockMs = reports.exit ? marks.exitEnd - marks.exitStart : undefined
  return {
    target: target.name,
    scenario: scenario.id,
    sent: logged.sent,
    // Deliveries a complete run makes: every record once per sender (fan-out).
    expected: logged.sent * copies,
    syncMs: logged.syncMs,
    eld: logged.eld,
    rssMb: reports.exit?.rssMb ?? logged.rssMb,
    // A target that hangs until killed never reports its exit: its block is the whole wait.
    exitBlockMs: killed ? exit.at - marks.lastLog : exitBlockMs,
    closeMs: marks.closeMs || undefined,
    goneMs: exit.at - marks.lastLog,
    killed,
    exitCode: exit.code,
    received: target.sink ? tally.received : undefined,
    duplicates: target.sink ? tally.duplicates : undefined,
    requests: target.sink ? tally.requests : undefined,
    failedRequests: target.sink ? tally.failedRequests : undefined,
    lastRecordMs: target.sink && tally.lastAt ? tally.lastAt - marks.firstLog : undefined,
    tailMs: target.sink && tally.lastAt ? tally.lastAt - marks.lastLog : undefined,
    ledger: reports.closed?.closeReport ?? (reports.exit && !killed ? courierLedger(stderr, stderrCut, target) : undefined),
  }
}

/**
 * The ledger of a pino-courier transport, read from the one line it writes to stderr at close when
 * something was not delivered (the main thread is blocked in pino's exit by then, so the
 * `courier:close` event cannot reach the app). No line means nothing was lost; a run that was killed
 * or did not report its exit has no known ledger (undefined).
 */
function courierLedger(stderr, cut, target) {
  if (target.group !== 'courier') return undefined
  const line = stderr.split('\n').find((l) => l.startsWith('pino-courier: closed;'))
  // Without the line, "nothing lost" holds only if the whole of stderr was seen.
  if (!line) return cut ? undefined : { undelivered: 0, failed: 0, overflow: 0, closed: 0, oversize: 0, spooled: 0, spoolFull: 0 }
  // With several senders the line has a part per sender: the counts are their sums.
  const pick = (pattern) => [...line.matchAll(new RegExp(pattern, 'g'))].reduce((n, m) => n + Number(m[1]), 0)
  return {
    // "N of M records could not be delivered" (one sender), "N of M record deliveries could not be made" (several).
    undelivered: pick(/; (\d+) of \d+ record(?:s could not be delivered| deliveries could not be made)/),
    failed: pick(/failed (\d+)/),
    overflow: pick(/dropped overflow (\d+)/),
    closed: pick(/, closed (\d+)/),
    oversize: pick(/oversize (\d+)/),
    spoolFull: pick(/spoolFull (\d+)/),
    spoolError: pick(/spoolError (\d+)/),
    spooled: pick(/, (\d+) left in the spool/),
  }
}
