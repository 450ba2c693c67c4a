// HTTP sender: batches as NDJSON, gzipped, with custom headers.
//
//   npm run build && node examples/http-batch.mjs
//
// A local HTTP server stands in for a log collector and prints every request it receives.
import { createServer } from 'node:http'
import { gunzipSync } from 'node:zlib'
import pino from 'pino'

// ---- a local collector ---------------------------------------------------------------------------
const received = []
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const raw = Buffer.concat(chunks)
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
    const records = body.toString('utf8').trim().split('\n').map((line) => JSON.parse(line))
    received.push(...records)
    console.log(
      `collector: ${req.method} ${req.url}  ${req.headers['content-type']}  ` +
        `content-encoding=${req.headers['content-encoding']}  authorization=${req.headers.authorization}  ` +
        `${raw.length} bytes on the wire -> ${records.length} records`,
    )
    res.end()
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${server.address().port}/ingest`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        url,
        format: 'ndjson', // the default; 'json' sends a JSON array instead
        gzip: true,
        headers: { authorization: 'Bearer example-token', 'x-service': 'checkout' },
        // Up to 100 records per request; a record never waits more than 200 ms for its batch.
        batch: { maxRecords: 100, maxWaitMs: 200 },
      },
    ],
  },
})
const logger = pino({ base: { service: 'checkout' } }, transport)

for (let i = 0; i < 250; i++) logger.info({ i, orderId: `o-${1000 + i}` }, 'order placed')

// Wait until everything logged so far has been delivered (or failed/dropped and counted), then
// close the transport. Flushing first matters here because the collector lives in this thread and
// transport.end() blocks this thread until the worker has closed. pino unrefs its worker, so ref()
// keeps the process alive until the 'close' event.
await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

console.log(`collector received ${received.length} records; first: ${JSON.stringify(received[0])}`)
if (received.length !== 250) process.exitCode = 1
