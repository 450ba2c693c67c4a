// Stats and warnings in the main thread, with a sink that misbehaves.
//
//   npm run build && node examples/stats-and-warnings.mjs
//
// The sink answers 503 (Retry-After: 1) to its first two requests, so the first batch is retried
// twice; meanwhile a burst overflows the small queue (drops are counted, errors are kept), and one
// batch is refused with a 400, a permanent failure. Every record ends up counted somewhere.
import { createServer } from 'node:http'
import pino from 'pino'

let requests = 0
let errorsAtSink = 0
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    const n = requests++
    if (n < 2) {
      res.writeHead(503, { 'retry-after': '1' }).end('busy, come back in a second')
    } else if (body.includes('"msg":"poison"')) {
      res.writeHead(400).end('bad record')
    } else {
      errorsAtSink += body.split('\n').filter((line) => line.startsWith('{"level":50')).length
      res.end()
    }
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [{ type: 'http', name: 'collector', url: `http://127.0.0.1:${server.address().port}/logs` }],
    // Transport-wide defaults for every sender (a sender's own options win field by field).
    queue: { maxRecords: 200 }, // overflow: 'drop-newest' (default), lower levels go first
    batch: { maxRecords: 100, maxWaitMs: 100 },
    retry: { maxAttempts: 4, baseDelayMs: 50 },
    statsIntervalMs: 200,
    warnIntervalMs: 500,
    stderr: false, // we print the warnings ourselves
  },
})

const t0 = Date.now()
const at = () => `${String(Date.now() - t0).padStart(5)} ms`
const droppedOf = (s) => s.dropped.overflow + s.dropped.closed + s.dropped.oversize
const ledgerHolds = (s) => s.received === s.queued + s.inFlight + s.delivered + s.failed + droppedOf(s)

transport.on('courier:stats', (stats) => {
  for (const s of stats.senders) {
    console.log(
      `${at()}  stats   ${s.name}: received ${s.received}, queued ${s.queued}, inFlight ${s.inFlight}, delivered ${s.delivered},` +
        ` retried ${s.retried}, failed ${s.failed}, dropped ${droppedOf(s)}  [ledger ${ledgerHolds(s) ? 'ok' : 'BROKEN'}]`,
    )
  }
})
transport.on('courier:warning', (w) => console.log(`${at()}  warning ${w.kind}: ${w.message}`))
let report
transport.on('courier:close', (r) => (report = r))

const logger = pino(transport)
for (let i = 0; i < 1000; i++) logger.info({ i }, 'burst')
for (let i = 0; i < 5; i++) logger.error({ i }, 'an error that must not be dropped')
await new Promise((resolve) => logger.flush(resolve))
logger.warn('poison')
await new Promise((resolve) => logger.flush(resolve))

const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref() // pino unrefs its worker: keep the process alive until 'close'
transport.end()
await closed
server.close()

const s = report.stats.senders[0]
console.log(`\nclose report: undelivered ${report.undelivered}, timedOut ${report.timedOut}`)
console.log(`  received ${s.received} = delivered ${s.delivered} + failed ${s.failed} + dropped ${droppedOf(s)} ${JSON.stringify(s.dropped)}`)
console.log(`  attempts ${s.attempts}, records re-sent ${s.retried}`)
for (const f of s.recentFailures) console.log(`  failed batch: ${f.records} record(s), ${f.reason} after ${f.attempts} attempt(s), status ${f.status}: ${f.error}`)
console.log(`  error records that reached the sink: ${errorsAtSink} of 5 (info records were dropped in their place)`)
if (!ledgerHolds(s) || s.failed !== 1 || errorsAtSink !== 5) process.exitCode = 1
