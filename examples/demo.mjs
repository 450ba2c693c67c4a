// pino-courier demo: a burst of log calls against a slow HTTP sink.
//
//   npm run demo                      builds, then runs this file
//   node examples/demo.mjs 200000     another burst size (after `npm run build`)
//
// A local HTTP sink answers every request after ~100 ms. The app logs a burst as fast as it can
// through `pino.transport({ target: 'pino-courier' })`: the log calls only hand lines to pino's
// buffer, and the transport's worker thread batches them and ships them to the slow sink in the
// background. At the end the transport is closed and every record is accounted for.
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import pino from 'pino'

const SINK_DELAY_MS = 100

if (isMainThread) await main()
else runSink(workerData.delayMs)

// ---- the slow sink ------------------------------------------------------------------------------
// It runs in a worker thread of its own because `transport.end()` (like pino's exit handler) blocks
// the main thread until the transport has closed: a sink living in the main thread could not answer.

function runSink(delayMs) {
  const seen = new Set()
  let requests = 0
  let lastRecordAt = 0
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      requests++
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        if (line === '') continue
        const { i } = JSON.parse(line)
        if (!seen.has(i)) {
          seen.add(i)
          lastRecordAt = performance.timeOrigin + performance.now()
        }
      }
      parentPort.postMessage({ type: 'progress', distinct: seen.size })
      setTimeout(() => res.end('ok'), delayMs)
    })
  })
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }))
  parentPort.once('message', () => {
    parentPort.postMessage({ type: 'tally', requests, distinct: seen.size, lastRecordAt })
    server.closeAllConnections()
    server.close()
    parentPort.close()
  })
}

// ---- the app ------------------------------------------------------------------------------------

async function main() {
  const RECORDS = Number(process.argv[2] ?? 50_000)
  const EXTRA = [
    ['warn', 'disk usage above 80%'],
    ['warn', 'slow upstream response'],
    ['error', 'payment provider returned 502'],
    ['error', 'could not refresh token'],
    ['fatal', 'not really fatal, just loud'],
  ]
  const TOTAL = RECORDS + EXTRA.length
  const now = () => performance.timeOrigin + performance.now()
  const fmt = (n) => n.toLocaleString('en-US')
  const pad = (value, width) => String(value).padStart(width)
  const droppedOf = (s) => s.dropped.overflow + s.dropped.closed + s.dropped.oversize

  const sinkThread = new Worker(new URL(import.meta.url), { workerData: { delayMs: SINK_DELAY_MS } })
  let sinkDistinct = 0
  let resolveTally
  const tally = new Promise((resolve) => (resolveTally = resolve))
  const port = await new Promise((resolve, reject) => {
    sinkThread.once('error', reject)
    sinkThread.on('message', (message) => {
      if (message.type === 'listening') resolve(message.port)
      else if (message.type === 'progress') sinkDistinct = message.distinct
      else if (message.type === 'tally') resolveTally(message)
    })
  })
  const url = `http://127.0.0.1:${port}/logs`

  const transport = pino.transport({
    target: 'pino-courier',
    options: { senders: [{ type: 'http', url }], statsIntervalMs: 250 },
  })
  const logger = pino(transport)

  let closeReport
  let burstStart = 0
  const since = () => `${pad(((now() - burstStart) / 1000).toFixed(2), 5)} s`
  transport.on('courier:stats', (stats) => {
    const s = stats.senders[0]
    if (!s || burstStart === 0) return
    console.log(
      `  ${since()}  ${pad(fmt(s.received), 9)}  ${pad(fmt(s.queued), 8)}  ${pad(fmt(s.inFlight), 8)}  ${pad(fmt(s.delivered), 9)}  ${pad(fmt(droppedOf(s)), 7)}  ${pad(fmt(sinkDistinct), 9)}`,
    )
  })
  transport.on('courier:warning', (warning) => console.log(`  warning: ${warning.message}`))
  transport.on('courier:close', (report) => (closeReport = report))

  // Lines logged before the worker is ready wait in pino's buffer; waiting keeps the timing clean.
  await new Promise((resolve) => transport.once('ready', resolve))

  console.log(`pino-courier demo: ${fmt(TOTAL)} records, HTTP sink at ${url} answering after ${SINK_DELAY_MS} ms\n`)
  console.log(`     time   received    queued  inFlight  delivered  dropped  sink has`)

  burstStart = now()
  for (let i = 0; i < RECORDS; i++) logger.info({ i, user: `user-${i % 977}`, route: '/checkout' }, 'request handled')
  EXTRA.forEach(([level, msg], k) => logger[level]({ i: RECORDS + k }, msg))
  const logCallMs = now() - burstStart
  console.log(`  ${since()}  burst done: ${fmt(TOTAL)} log calls returned after ${logCallMs.toFixed(0)} ms`)

  // logger.flush(cb) reaches the transport: cb runs once everything logged so far is delivered,
  // failed or dropped. The main thread stays free meanwhile, so the live stats keep coming.
  await new Promise((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())))
  const flushedAt = now()
  console.log(`  ${since()}  flushed`)

  // end() closes the senders (a close deadline of 5 s by default) and reports to the main thread.
  // pino unrefs its worker: ref() keeps this process alive until the 'close' event.
  const closed = new Promise((resolve) => transport.once('close', resolve))
  transport.ref()
  transport.end()
  await closed
  const closedAt = now()

  sinkThread.postMessage('tally')
  const sink = await tally
  await new Promise((resolve) => sinkThread.once('exit', resolve))

  const s = closeReport?.stats.senders[0]
  if (!s) {
    console.error('no close report reached the main thread')
    process.exit(1)
  }
  const accounted = s.delivered + s.failed + droppedOf(s)
  const ms = (t) => `${(t - burstStart).toFixed(0)} ms`
  const rows = [
    ['sent (log calls)', fmt(TOTAL)],
    ['received by the transport', fmt(s.received)],
    ['delivered', fmt(s.delivered)],
    ['failed', fmt(s.failed)],
    ['dropped (overflow)', fmt(s.dropped.overflow)],
    ['dropped (closed)', fmt(s.dropped.closed)],
    ['dropped (oversize)', fmt(s.dropped.oversize)],
    ['retried', fmt(s.retried)],
    ['HTTP requests', fmt(sink.requests)],
    ['records received by the sink', fmt(sink.distinct)],
    ['app time in log calls', `${logCallMs.toFixed(0)} ms`],
    ['last record reached the sink', sink.lastRecordAt ? ms(sink.lastRecordAt) : 'never'],
    ['flush returned', ms(flushedAt)],
    ['transport closed', ms(closedAt)],
  ]
  console.log(`\nfinal tally (times from the first log call)`)
  for (const [label, value] of rows) console.log(`  ${label.padEnd(30)} ${pad(value, 9)}`)
  console.log(
    `\n  sent ${fmt(TOTAL)} = delivered ${fmt(s.delivered)} + failed ${fmt(s.failed)} + dropped ${fmt(droppedOf(s))}` +
      ` (overflow ${fmt(s.dropped.overflow)}, closed ${fmt(s.dropped.closed)}, oversize ${fmt(s.dropped.oversize)})` +
      (accounted === TOTAL ? '' : `  <- MISMATCH: ${fmt(accounted)}`),
  )
  const lastAt = sink.lastRecordAt ? ms(sink.lastRecordAt) : 'never'
  console.log(
    sink.distinct === TOTAL
      ? `  the app spent ${logCallMs.toFixed(0)} ms in log calls; the sink had every record after ${lastAt}`
      : `  the app spent ${logCallMs.toFixed(0)} ms in log calls; the sink had all ${fmt(sink.distinct)} delivered records after ${lastAt};` +
          ` the other ${fmt(TOTAL - sink.distinct)} were counted above, not lost silently`,
  )
  if (accounted !== TOTAL || s.received !== TOTAL || sink.distinct !== s.delivered) process.exitCode = 1
}
