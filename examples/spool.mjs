// Disk spool: logs survive a collector outage and a restart.
//
//   npm run build && node examples/spool.mjs
//
// Run 1 logs 1,000 records while the collector is down: they go to the spool in a temp dir and stay
// there when the transport closes. Run 2 starts with the collector up: it sends what run 1 left first,
// with the batch ids it had (Idempotency-Key), then its own records. Batches the collector refuses
// with a 400 go to a dead-letter file. createCourierTransport({ handleSignals: true }) also makes
// SIGTERM/SIGINT flush and exit with 128 + n.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createCourierTransport } from 'pino-courier'

const dir = mkdtempSync(join(tmpdir(), 'pino-courier-spool-'))
const deadLetters = join(dir, 'dead-letters.ndjson')

// ---- a collector, down at first ------------------------------------------------------------------
const received = []
const keys = new Set()
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    // It refuses batches with a record it cannot take.
    if (body.includes('"bad":true')) {
      res.writeHead(400).end('bad record')
      return
    }
    keys.add(req.headers['idempotency-key'])
    received.push(...body.trim().split('\n').map((line) => JSON.parse(line)))
    res.end()
  })
})
// Reserve a port, then close it: until run 2 nothing listens there and connections are refused.
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address()
await new Promise((resolve) => server.close(resolve))
const url = `http://127.0.0.1:${port}/ingest`

function start() {
  const transport = createCourierTransport({
    senders: [
      {
        type: 'http',
        name: 'collector',
        url,
        spool: { dir, fsync: 'always' },
        deadLetter: { path: deadLetters },
        batch: { maxRecords: 100 },
        pool: { concurrency: 1 }, // in order, across the outage and the restart
      },
    ],
    handleSignals: true,
    stderr: false,
  })
  return { transport, logger: pino(transport) }
}

async function close({ transport, logger }) {
  const report = new Promise((resolve) => transport.once('courier:close', resolve))
  await new Promise((resolve) => logger.flush(resolve))
  transport.ref()
  transport.end()
  return report
}

// ---- run 1: the collector is down ----------------------------------------------------------------
const run1 = start()
for (let i = 0; i < 1000; i++) run1.logger.info({ run: 1, i }, 'order placed')
const report1 = await close(run1)
console.log(`run 1: ${report1.stats.senders[0].received} logged, ${report1.spooled} left in the spool, ${report1.undelivered} lost`)

// ---- run 2: the collector is up ------------------------------------------------------------------
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
const run2 = start()
for (let i = 0; i < 500; i++) run2.logger.info({ run: 2, i, ...(i === 250 ? { bad: true } : {}) }, 'order placed')
const report2 = await close(run2)
const stats = report2.stats.senders[0]
const dead = readFileSync(deadLetters, 'utf8').trim().split('\n')
console.log(
  `run 2: ${stats.recovered} recovered from the spool + ${stats.received} logged = ` +
    `${stats.delivered} delivered + ${stats.failed} failed (${stats.deadLettered} in the dead-letter file) + ` +
    `${report2.spooled} still spooled`,
)
const firstRun2 = received.findIndex((r) => r.run === 2)
console.log(
  `collector: ${received.length} records in ${keys.size} requests; run 1's records came first: ${firstRun2 === 1000}`,
)
server.close()
rmSync(dir, { recursive: true, force: true })

const ok = received.length + dead.length === 1500 && firstRun2 === 1000 && report1.spooled === 1000
if (!ok) {
  console.error('something went missing')
  process.exitCode = 1
}
