// The app of the fault-injection suite: a separate Node process that logs records { i } through
// pino.transport({ target: 'pino-courier' }) (resolved by package name: run `npm run build` first)
// to one http sender, then ends. The test process runs the misbehaving sink, so that nothing this
// app blocks (its logging loop, transport.end()) can hold the sink's answers back.
//
//   node fault-app.mjs '<config as JSON>'   (see AppConfig in run-app.ts)
//
// It reports on stdout, one JSON object per line, written synchronously:
//   { event: 'started' }                         the first record is about to be logged
//   { event: 'logged', count, loopMs }           the logging loop has finished
//   { event: 'flushed', flushMs }                logger.flush(cb) called back (config.flush)
//   { event: 'closed', closeMs, report, stats }  end 'close': transport.end() returned and the
//                                                transport closed; report = the 'courier:close'
//                                                payload, stats = every 'courier:stats' payload
//   { event: 'exit', maxRssKb, exitMs }          the process is exiting (after pino closed the
//                                                transport in 'exit' and 'natural' modes)
import { once } from 'node:events'
import { writeSync } from 'node:fs'
import pino from 'pino'

const config = JSON.parse(process.argv[2] ?? '{}')
const {
  url,
  count,
  chunk = count,
  pauseMs = 0,
  poison = [],
  padBytes = 0,
  sender = {},
  options = {},
  flush = false,
  end = 'close',
} = config

function report(event, fields = {}) {
  writeSync(1, JSON.stringify({ event, at: Date.now(), ...fields }) + '\n')
}

const transport = pino.transport({
  target: 'pino-courier',
  options: { senders: [{ type: 'http', url, ...sender }], ...options },
})
const stats = []
let closeReport
transport.on('courier:stats', (s) => stats.push(s))
transport.on('courier:close', (r) => (closeReport = r))
transport.on('error', (error) => {
  process.stderr.write(`fault-app: transport error: ${error?.stack ?? error}\n`)
  process.exitCode = 1
})
const logger = pino(transport)

// Ready first: the scenarios are about a broken sink, not about exiting before the worker starts.
await once(transport, 'ready')

const poisoned = new Set(poison)
const pad = 'x'.repeat(padBytes)
const loopStart = Date.now()
report('started')
for (let i = 0; i < count; ) {
  const stop = Math.min(count, i + chunk)
  for (; i < stop; i++) {
    const fields = poisoned.has(i) ? { i, poison: true } : { i }
    if (padBytes > 0) fields.pad = pad
    logger.info(fields, 'record')
  }
  // Between chunks: let the event loop turn (and wait a while if asked), as an app logging over time.
  if (i < count) await new Promise((resolve) => (pauseMs > 0 ? setTimeout(resolve, pauseMs) : setImmediate(resolve)))
}
const loggedAt = Date.now()
report('logged', { count, loopMs: loggedAt - loopStart })

if (flush) {
  await new Promise((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())))
  report('flushed', { flushMs: Date.now() - loggedAt })
}

// Registered now, after pino's own exit handler: it runs once pino has closed the transport.
process.on('exit', () => report('exit', { maxRssKb: process.resourceUsage().maxRSS, exitMs: Date.now() - loggedAt }))

if (end === 'exit') {
  process.exit(0)
} else if (end === 'close') {
  const closed = once(transport, 'close')
  // pino unrefs the worker once it is ready: ref it so that the process waits for the close.
  transport.ref()
  const closeStart = Date.now()
  transport.end()
  await closed
  // The last events were posted by the worker before it exited: let them arrive.
  await new Promise((resolve) => setImmediate(resolve))
  report('closed', { closeMs: Date.now() - closeStart, report: closeReport ?? null, stats })
}
// end === 'natural': the event loop runs dry and pino closes the transport on exit.
