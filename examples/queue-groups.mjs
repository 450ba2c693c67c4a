// Queue groups: a noisy tenant's burst does not cost a quiet tenant its records.
//
//   npm run build && node examples/queue-groups.mjs
//
// One http sender with a small queue (1,000 records), one request at a time, and a collector that takes
// 50 ms per request. Tenant "noisy" logs 20,000 records in a burst; tenant "quiet" logs 50 during it.
// With `groupBy: 'tenant'` each tenant has a queue of its own and they take turns: every quiet record
// arrives, and what the burst could not fit is counted under "noisy".
import { createServer } from 'node:http'
import pino from 'pino'

const arrived = { noisy: 0, quiet: 0 }
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () =>
    setTimeout(() => {
      for (const line of body.split('\n').filter(Boolean)) arrived[JSON.parse(line).tenant]++
      res.writeHead(204).end()
    }, 50),
  )
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'http',
        name: 'collector',
        url: `http://127.0.0.1:${server.address().port}/logs`,
        groupBy: 'tenant',
        queue: { maxRecords: 1000 },
        pool: { concurrency: 1 },
        batch: { maxRecords: 100, maxWaitMs: 20 },
      },
    ],
    stderr: false,
  },
})
let report
transport.on('courier:close', (r) => (report = r))

const logger = pino(transport)
for (let i = 0; i < 20_000; i++) {
  logger.info({ tenant: 'noisy', i }, 'burst')
  if (i % 400 === 399) logger.info({ tenant: 'quiet', i }, 'a quiet tenant')
}
await new Promise((resolve) => logger.flush(resolve))

const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref() // pino unrefs its worker: keep the process alive until 'close'
transport.end()
await closed
server.close()

const stats = report.stats.senders[0]
console.log(`arrived at the collector: quiet ${arrived.quiet} of 50, noisy ${arrived.noisy} of 20000`)
console.log(`groups by "${stats.groups.by}", the most-dropping first:`)
for (const g of stats.groups.list) {
  console.log(`  ${g.key.padEnd(6)} received ${g.received}, delivered ${g.delivered}, dropped (queue full) ${g.dropped.overflow}`)
}
console.log(`sender: received ${stats.received} = delivered ${stats.delivered} + dropped ${stats.dropped.overflow}`)
const noisy = stats.groups.list.find((g) => g.key === 'noisy')
if (arrived.quiet !== 50 || noisy.dropped.overflow !== 20_000 - arrived.noisy || stats.received !== stats.delivered + stats.dropped.overflow) {
  process.exitCode = 1
}
