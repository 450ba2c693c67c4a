// Elasticsearch / OpenSearch sender: records indexed through the _bulk API into daily indices.
//
//   npm run build && node examples/elasticsearch.mjs
//
// A small stand-in for Elasticsearch (in this process) answers the bulk requests as the real one does:
// `create` with a known _id answers 409, a field of the wrong type answers 400 for that record only.
// Against a real cluster, set `url` (and `apiKey`) and drop the stand-in.
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'

// ---- a stand-in Elasticsearch -----------------------------------------------------------------------
const indices = new Map() // index -> Map(_id -> document)
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n')
    const items = []
    for (let k = 0; k < lines.length; k += 2) {
      const [[op, meta]] = Object.entries(JSON.parse(lines[k]))
      const doc = JSON.parse(lines[k + 1])
      const index = indices.get(meta._index) ?? new Map()
      indices.set(meta._index, index)
      if (typeof doc.orderId !== 'string') {
        // The index maps orderId as a keyword: an object there is a mapping error, for this record only.
        items.push({ [op]: { status: 400, error: { type: 'document_parsing_exception', reason: `failed to parse field [orderId] of type [keyword] in document with id '${meta._id}'` } } })
      } else if (op === 'create' && index.has(meta._id)) {
        items.push({ [op]: { status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${meta._id}]: version conflict, document already exists` } } })
      } else {
        index.set(meta._id, doc)
        items.push({ [op]: { status: 201 } })
      }
    }
    const errors = items.some((item) => Object.values(item)[0].status >= 300)
    console.log(`elasticsearch: ${req.method} ${req.url}  ${lines.length / 2} actions  errors=${errors}`)
    res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' })
    res.end(JSON.stringify({ errors, took: 1, items }))
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${server.address().port}` // the base URL: /_bulk is added

// ---- the logger ------------------------------------------------------------------------------------
const deadLetter = join(mkdtempSync(join(tmpdir(), 'courier-es-')), 'dead-letter.ndjson')
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'elasticsearch',
        url,
        index: 'orders-%{yyyy.MM.dd}', // one index per UTC day of each record's time
        // opType: 'create' (the default): a record sent again answers 409 and counts as delivered.
        // apiKey: process.env.ES_API_KEY,  // Authorization: ApiKey <encoded>
        batch: { maxRecords: 100, maxWaitMs: 200 },
        deadLetter: { path: deadLetter }, // records Elasticsearch refuses for good
      },
    ],
  },
})
// Records from three days (a replay of an older backlog, say): each goes to its own day's index.
let clock = Date.now()
const logger = pino({ base: { service: 'checkout' }, timestamp: () => `,"time":${clock}` }, transport)

const day = 24 * 60 * 60 * 1000
for (let i = 0; i < 250; i++) {
  clock = Date.now() - (i % 3) * day
  logger.info({ i, orderId: i === 42 ? { oops: true } : `o-${1000 + i}` }, 'order placed')
}

// Flush first: the stand-in lives in this thread, and transport.end() blocks it (examples/README.md).
await new Promise((resolve) => logger.flush(resolve))
const report = new Promise((resolve) => transport.once('courier:close', resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

const { stats } = (await report).senders[0]
console.log(`\nsender: received ${stats.received}, delivered ${stats.delivered}, failed ${stats.failed} (dead-lettered ${stats.deadLettered})`)
for (const [name, docs] of [...indices].sort()) console.log(`index ${name}: ${docs.size} documents`)
const [first] = indices.values().next().value.values()
console.log(`a document: ${JSON.stringify(first)}`)
console.log(`dead letter: ${readFileSync(deadLetter, 'utf8').trim()}`)
if (stats.delivered !== 249 || stats.failed !== 1) process.exitCode = 1
