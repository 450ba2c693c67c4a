// Axiom over the http sender: NDJSON to a dataset's ingest endpoint with an API token, the record's
// time written as `_time` (the field Axiom takes an event's time from), and Axiom's answer read: the
// events it counts as `failed` (a field limit reached, say) are counted failed, not delivered.
//
//   npm run build && node examples/axiom.mjs
//
// A local stand-in for Axiom (POST /v1/datasets/<dataset>/ingest, `Authorization: Bearer <token>`)
// answers `{"ingested":…,"failed":…,"failures":[…]}` and refuses the events that carry a field it
// has no room for. For real, use Axiom's URL for your dataset and a token from the environment:
//   url: 'https://api.axiom.co/v1/datasets/my-dataset/ingest'   (an edge deployment: https://<edge domain>/v1/ingest/my-dataset)
//   headers: { authorization: `Bearer ${process.env.AXIOM_TOKEN}` }
import { createServer } from 'node:http'
import pino from 'pino'

const TOKEN = 'xaat-example-token'

// ---- a local stand-in for Axiom ------------------------------------------------------------------
const ingested = []
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/datasets/my-dataset/ingest') return res.writeHead(404).end()
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(403).end('{"message":"forbidden","code":403}')
    const events = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    const failures = []
    for (const event of events) {
      if ('debugBlob' in event) failures.push({ timestamp: new Date().toISOString(), error: 'adding field "debugBlob" would exceed the field limit' })
      else ingested.push(event)
    }
    const answer = { ingested: events.length - failures.length, failed: failures.length, failures, processedBytes: Buffer.concat(chunks).length }
    console.log(`axiom: ${req.headers['content-type']}  ${JSON.stringify(answer).slice(0, 140)}`)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const ingest = `http://127.0.0.1:${server.address().port}/v1/datasets/my-dataset/ingest`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        url: ingest, // 'https://api.axiom.co/v1/datasets/my-dataset/ingest'
        headers: { authorization: `Bearer ${TOKEN}` }, // `Bearer ${process.env.AXIOM_TOKEN}`
        addFields: { time: '_time' },
        rejectedCountField: 'failed',
      },
    ],
  },
})
const closeReport = new Promise((resolve) => transport.once('courier:close', resolve))
const logger = pino(transport)

for (let i = 0; i < 500; i++) logger.info(i % 100 === 7 ? { i, debugBlob: 'x' } : { i }, 'request served')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

const { stats } = (await closeReport).senders[0]
console.log(`axiom ingested ${ingested.length} events; first: ${JSON.stringify(ingested[0])}`)
console.log(`sender: delivered ${stats.delivered}, failed ${stats.failed}`)
if (ingested.length !== 495 || stats.delivered !== 495 || stats.failed !== 5) process.exitCode = 1
