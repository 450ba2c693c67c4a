// Datadog over the http sender: JSON arrays of at most 1,000 logs, gzipped, the API key in
// DD-API-KEY, and two fields Datadog reads: the record's time as `timestamp` and its level's name
// as `status` (pino's numeric level alone shows every log as "info").
//
//   npm run build && node examples/datadog.mjs
//
// A local stand-in for Datadog's log intake checks each request as Datadog documents it (POST
// /api/v2/logs, DD-API-KEY, a JSON array of at most 1,000 entries and 5 MB uncompressed) and answers
// 202, after a 503 on the first request (the sender retries). For real, point `url` at your site's
// intake and take the key from the environment:
//   url: 'https://http-intake.logs.datadoghq.com/api/v2/logs'   (datadoghq.eu: http-intake.logs.datadoghq.eu)
//   headers: { 'dd-api-key': process.env.DD_API_KEY }
//
// Datadog takes logs whose timestamp is at most 18 hours old: it drops older ones yet still answers
// 202, so pino-courier counts them delivered. Records held back longer than that (retried through a
// long intake outage, or replayed from the spool after one) are lost without a word.
import { createServer } from 'node:http'
import { gunzipSync } from 'node:zlib'
import pino from 'pino'

const API_KEY = 'example-datadog-api-key'

// ---- a local stand-in for Datadog ----------------------------------------------------------------
const received = []
let requests = 0
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    requests++
    const raw = Buffer.concat(chunks)
    const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
    const refuse = (status, error) => {
      console.log(`datadog: ${status} ${error}`)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [error] }))
    }
    if (req.method !== 'POST' || req.url !== '/api/v2/logs') return refuse(404, 'Not found')
    if (req.headers['dd-api-key'] !== API_KEY) return refuse(403, 'Forbidden')
    if (requests === 1) return refuse(503, 'Service Unavailable')
    if (Buffer.byteLength(text) > 5_000_000) return refuse(413, 'Payload too large')
    const logs = JSON.parse(text)
    if (!Array.isArray(logs) || logs.length > 1000) return refuse(400, 'Bad request')
    received.push(...logs)
    console.log(`datadog: 202  ${logs.length} logs (${raw.length} bytes gzipped, ${Buffer.byteLength(text)} plain)`)
    res.writeHead(202, { 'content-type': 'application/json' }).end('{}')
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const intake = `http://127.0.0.1:${server.address().port}/api/v2/logs`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        url: intake, // 'https://http-intake.logs.datadoghq.com/api/v2/logs'
        format: 'json', // a JSON array per request
        headers: { 'dd-api-key': API_KEY }, // process.env.DD_API_KEY
        addFields: { time: 'timestamp', level: 'status' },
        batch: { maxRecords: 1000 }, // Datadog takes at most 1,000 logs per request (the default maxBytes, 1 MiB, is under its 5 MB)
        gzip: true, // Datadog recommends it
        retry: { baseDelayMs: 50 },
      },
    ],
  },
})
const logger = pino({ base: { service: 'checkout', hostname: 'web-1' } }, transport)

for (let i = 0; i < 2500; i++) logger.info({ i, orderId: `o-${1000 + i}` }, 'order placed')
logger.error({ err: new Error('card declined') }, 'payment failed')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

const failed = received.find((log) => log.status === 'error')
console.log(`datadog received ${received.length} logs; first: ${JSON.stringify(received[0])}`)
console.log(`the error: status=${failed?.status} timestamp=${failed?.timestamp} err.message=${failed?.err?.message}`)
if (received.length !== 2501) process.exitCode = 1
