// Fan-out: one transport, two senders, each with its own level, queue and worker pool.
// Every record from `info` up goes to a file; errors and above also go to an alerting endpoint.
//
//   npm run build && node examples/fan-out.mjs
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'

// ---- an alerting endpoint ----------------------------------------------------------------------------
const alerts = []
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    alerts.push(...JSON.parse(Buffer.concat(chunks).toString('utf8')))
    res.end()
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const dir = await mkdtemp(join(tmpdir(), 'pino-courier-fanout-'))
const path = join(dir, 'app.ndjson')

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      { type: 'file', name: 'all', path, level: 'info' },
      {
        type: 'http',
        name: 'alerts',
        url: `http://127.0.0.1:${server.address().port}/alerts`,
        format: 'json', // a JSON array per request
        level: 'error',
        // One alert per request, a few at a time, at most 20 requests per second.
        batch: { maxRecords: 1 },
        pool: { concurrency: 2, rateLimit: { intervalMs: 1000, maxRequests: 20 } },
      },
    ],
  },
})
const logger = pino({ level: 'debug' }, transport)

logger.debug('debug: goes nowhere (below both levels)')
logger.info('info: file only')
logger.warn('warn: file only')
logger.error({ orderId: 'o-17' }, 'error: file and alerts')
logger.fatal('fatal: file and alerts')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref() // pino unrefs its worker: keep the process alive until 'close'
transport.end()
await closed
server.close()

const lines = (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line).msg)
console.log(`file   (level info):  ${lines.length} records: ${lines.join(' | ')}`)
console.log(`alerts (level error): ${alerts.length} records: ${alerts.map((r) => r.msg).join(' | ')}`)
await rm(dir, { recursive: true, force: true })
if (lines.length !== 4 || alerts.length !== 2) process.exitCode = 1
