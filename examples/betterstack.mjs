// Better Stack (Logs) over the http sender: NDJSON to your source's ingesting host with the source
// token, and the record's time written as `dt`, the field Better Stack takes a log's time from
// (without it, every log gets the time it arrived).
//
//   npm run build && node examples/betterstack.mjs
//
// A local stand-in for the ingesting host (POST /, `Authorization: Bearer <source token>`, JSON or
// NDJSON, 413 over 10 MiB) answers 202, after a 429 on the first request. For real, copy the source's
// ingesting host and token from Better Stack (Sources -> your source):
//   url: `https://${process.env.BETTER_STACK_INGESTING_HOST}`
//   headers: { authorization: `Bearer ${process.env.BETTER_STACK_SOURCE_TOKEN}` }
import { createServer } from 'node:http'
import pino from 'pino'

const SOURCE_TOKEN = 'example-source-token'

// ---- a local stand-in for Better Stack -----------------------------------------------------------
const received = []
let requests = 0
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    requests++
    if (req.method !== 'POST' || req.url !== '/') return res.writeHead(404).end()
    if (req.headers.authorization !== `Bearer ${SOURCE_TOKEN}`) return res.writeHead(403).end('Unauthorized')
    if (requests === 1) {
      console.log('better stack: 429 (retry after 1 s)')
      return res.writeHead(429, { 'retry-after': '1' }).end('Too Many Requests')
    }
    const body = Buffer.concat(chunks)
    if (body.length > 10 * 1024 * 1024) return res.writeHead(413).end('payload reached size limit')
    const logs = body.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    received.push(...logs)
    console.log(`better stack: 202  ${logs.length} logs, ${req.headers['content-type']}`)
    res.writeHead(202).end()
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const host = `http://127.0.0.1:${server.address().port}`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        url: host, // `https://${process.env.BETTER_STACK_INGESTING_HOST}`
        headers: { authorization: `Bearer ${SOURCE_TOKEN}` }, // `Bearer ${process.env.BETTER_STACK_SOURCE_TOKEN}`
        addFields: { time: 'dt' },
      },
    ],
  },
})
// pino's isoTime works as well as its default epoch ms: `dt` is written from either.
const logger = pino({ timestamp: pino.stdTimeFunctions.isoTime }, transport)

for (let i = 0; i < 300; i++) logger.info({ i }, 'job done')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

console.log(`better stack received ${received.length} logs; first: ${JSON.stringify(received[0])}`)
if (received.length !== 300 || received.some((log) => typeof log.dt !== 'string')) process.exitCode = 1
