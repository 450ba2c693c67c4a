// In-process: the same senders, queues and stats without a worker thread.
// `pino(options, createCourierStream(...))` — log calls only queue, delivery runs on this event loop.
// Use it where worker threads are unwelcome (short scripts, some serverless runtimes, tests).
//
//   npm run build && node examples/in-process.mjs
import { createServer } from 'node:http'
import pino from 'pino'
import { createCourierStream, createMemorySender } from 'pino-courier'

let received = 0
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    received += body.split('\n').filter(Boolean).length
    setTimeout(() => res.end(), 50) // a slowish collector
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))

// Senders are plain specs (http, file) as in the transport, or sender instances like this memory
// sender, which keeps the last records it delivered in memory (handy in tests).
const memory = createMemorySender({ name: 'recent-errors', level: 'error', capacity: 100 })
const stream = createCourierStream({
  senders: [{ type: 'http', url: `http://127.0.0.1:${server.address().port}/logs`, batch: { maxRecords: 500 } }, memory],
  closeTimeoutMs: 3000,
  onWarning: (warning) => console.log(`warning: ${warning.message}`),
})
const logger = pino(stream)

for (let i = 0; i < 2000; i++) logger.info({ i }, 'cache refreshed')
logger.warn({ user: 'ada' }, 'role changed')
logger.error({ code: 'E_TIMEOUT' }, 'upstream timed out')

const stats = stream.stats()
console.log(`right after the log calls: ${stats.lines} lines, http queued ${stats.senders[0].queued}, in flight ${stats.senders[0].inFlight}`)

// logger.flush(cb) reaches the stream too: cb runs once everything so far is delivered.
await new Promise((resolve) => logger.flush(resolve))
console.log(`after flush: http delivered ${stream.stats().senders[0].delivered}, collector has ${received}`)

// Before exiting: close() delivers what is left within closeTimeoutMs and reports.
const report = await stream.close()
server.close()
for (const sender of report.senders) {
  const s = sender.stats
  console.log(`${sender.name.padEnd(14)} received ${s.received}, delivered ${s.delivered}, failed ${s.failed}, undelivered ${sender.undelivered}`)
}
console.log(`memory sender kept: ${JSON.stringify(memory.values().map((r) => r.msg))}`)
if (report.undelivered !== 0 || received !== 2002) process.exitCode = 1
