// Splunk HTTP Event Collector over the http sender: `format: 'splunk-hec'` wraps every record as one
// HEC event, `{"time":<epoch seconds.ms from the record's time>,…metadata,"event":<the record as pino
// wrote it>}`, and reads HEC's coded answers: a 400 naming `invalid-event-number` N means HEC indexed
// the events before N, so those count delivered, N fails with HEC's reason, and only the rest is sent
// again (resending the whole request would index the first ones twice).
//
//   npm run build && node examples/splunk-hec.mjs
//
// A local stand-in for HEC (POST /services/collector/event, `Authorization: Splunk <token>`) answers
// `{"text":"Success","code":0}`, refuses one event it finds invalid with code 6 as HEC does, and is
// busy (503, code 9) once. For real, point `url` at HEC's port (the path is added when yours has none)
// and take the token from the environment; HEC's indexer acknowledgement must be off on the token:
//   url: 'https://splunk.example.com:8088'
//   headers: { authorization: `Splunk ${process.env.SPLUNK_HEC_TOKEN}` }
import { createServer } from 'node:http'
import pino from 'pino'

const TOKEN = '11111111-2222-3333-4444-555555555555'

// ---- a local stand-in for HEC --------------------------------------------------------------------
const indexed = []
let requests = 0
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    requests++
    const answer = (status, body) => {
      console.log(`hec: ${status} ${JSON.stringify(body)}`)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (req.method !== 'POST' || req.url !== '/services/collector/event') return answer(404, { text: 'Not found' })
    if (req.headers.authorization !== `Splunk ${TOKEN}`) return answer(403, { text: 'Invalid token', code: 4 })
    if (requests === 1) return answer(503, { text: 'Server is busy', code: 9 })
    const events = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    // HEC reads the events in order and stops at the first one it cannot take: those before it are indexed.
    for (const [n, event] of events.entries()) {
      if (event.event.orderId === 'o-1042') return answer(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': n })
      indexed.push(event)
    }
    answer(200, { text: 'Success', code: 0 })
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const hec = `http://127.0.0.1:${server.address().port}`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        url: hec, // 'https://splunk.example.com:8088' -> /services/collector/event
        format: 'splunk-hec',
        splunk: { sourcetype: '_json', index: 'main', source: 'checkout' },
        headers: { authorization: `Splunk ${TOKEN}` }, // `Splunk ${process.env.SPLUNK_HEC_TOKEN}`
        retry: { baseDelayMs: 50 },
      },
    ],
  },
})
const closeReport = new Promise((resolve) => transport.once('courier:close', resolve))
const logger = pino({ base: { service: 'checkout' } }, transport)

for (let i = 0; i < 100; i++) logger.info({ i, orderId: `o-${1000 + i}` }, 'order placed')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

const { stats } = (await closeReport).senders[0]
console.log(`hec indexed ${indexed.length} events; first: ${JSON.stringify(indexed[0])}`)
console.log(`sender: delivered ${stats.delivered}, failed ${stats.failed} (${stats.recentFailures[0]?.error})`)
const once = new Set(indexed.map((event) => event.event.i)).size === indexed.length
if (indexed.length !== 99 || !once || stats.failed !== 1) process.exitCode = 1
