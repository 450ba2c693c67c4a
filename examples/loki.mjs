// Logs to Grafana Loki's push API (`type: 'loki'`): static labels, a label read from each record
// (`labelKeys`), the level as a label, and a field as structured metadata.
//
//   npm run build && node examples/loki.mjs
//
// A small stand-in for Loki (it takes `POST /loki/api/v1/push` JSON and answers 204, as Loki does)
// runs in a worker thread of its own: `transport.end()` (like pino's exit handler) blocks the main
// thread until the transport has closed, and close may push the last batch.
import { createServer } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import pino from 'pino'

if (isMainThread) await main()
else runFakeLoki()

// ---- a stand-in for Loki --------------------------------------------------------------------------

function runFakeLoki() {
  const streams = new Map() // Loki's stream name -> entries [ns, line, metadata?]
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/loki/api/v1/push') {
        res.writeHead(404).end('404 page not found\n')
        return
      }
      const raw = Buffer.concat(chunks)
      const body = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'))
      for (const { stream, values } of body.streams) {
        const name = `{${Object.keys(stream).sort().map((k) => `${k}=${JSON.stringify(stream[k])}`).join(', ')}}`
        streams.set(name, [...(streams.get(name) ?? []), ...values])
      }
      res.writeHead(204).end()
    })
  })
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
  parentPort.once('message', () => {
    parentPort.postMessage({ streams: [...streams] })
    server.closeAllConnections()
    server.close()
    parentPort.close()
  })
}

// ---- the app ------------------------------------------------------------------------------------

async function main() {
  const loki = new Worker(new URL(import.meta.url))
  const port = await new Promise((resolve, reject) => {
    loki.once('error', reject)
    loki.once('message', (message) => resolve(message.port))
  })

  const transport = pino.transport({
    target: 'pino-courier',
    options: {
      senders: [
        {
          type: 'loki',
          // The base URL: /loki/api/v1/push is added. Credentials in it (https://user:token@…) become
          // Basic auth; `tenant` becomes X-Scope-OrgID on a multi-tenant Loki.
          url: `http://127.0.0.1:${port}`,
          tenant: 'team-checkout',
          gzip: true,
          // Labels make streams: few, of low cardinality. Never a request or user id (those stay in
          // the line, where LogQL's `| json` finds them, or go as structured metadata).
          labels: { app: 'checkout', env: 'dev' },
          labelKeys: ['region'], // a record field (a dotted path like 'req.method' becomes req_method)
          // levelLabel: 'level' is the default: the record's level name as a label.
          structuredMetadataKeys: ['trace_id'],
          // One request in flight (the default) keeps each stream in order at Loki, retries included.
          // With pool: { concurrency: 4 } streams go in parallel, but a stream's later request waits
          // for its earlier ones (raise pool.timeoutMs with it) and a retried batch lands late.
        },
      ],
      stderr: false,
    },
  })
  let report
  transport.on('courier:close', (r) => (report = r))
  const logger = pino(transport)

  const regions = ['eu-west', 'us-east']
  let logged = 0
  for (let i = 0; i < 200; i++) {
    const region = regions[i % 2]
    const trace_id = `trace-${Math.floor(i / 10)}`
    if (i % 50 === 49) logger.error({ region, trace_id, orderId: i }, 'charge failed')
    else logger.info({ region, trace_id, orderId: i }, 'order placed')
    logged++
  }

  await new Promise((resolve) => logger.flush(resolve))
  const closed = new Promise((resolve) => transport.once('close', resolve))
  transport.ref()
  transport.end()
  await closed

  loki.postMessage('tally')
  const { streams } = await new Promise((resolve) => loki.once('message', resolve))
  let arrived = 0
  console.log(`"Loki" received ${streams.length} streams:`)
  for (const [name, values] of streams) {
    arrived += values.length
    const [ns, line, metadata] = values[0]
    console.log(`\n${name}: ${values.length} entries`)
    console.log(`   first: ${ns} ${line}${metadata ? `  metadata ${JSON.stringify(metadata)}` : ''}`)
  }
  const stats = report?.senders[0]?.stats
  console.log(`\n${arrived} of ${logged} records arrived; the sender counts ${stats?.delivered} delivered, ${stats?.failed} failed`)
  if (arrived !== logged) process.exitCode = 1
}
