// Issue 15's queue-groups scenario (`npm run bench -- --scenarios groups`): one sender with a
// 1,000-record queue, one request in flight and a slow sink (50 ms per request, batches of 100); a
// noisy tenant logs 50,000 records in a burst and a quiet tenant logs 100 during it. Run without and
// with `groupBy: 'tenant'`; reports how many of each tenant's records arrived, what the sender counted
// as dropped and under which group, and the time from the first log call to the close report.
//
//   node bench/queue-groups.mjs [reps] [extra sender options as JSON]    (one setting, standalone)
import { runInlineApp } from './inline-app.mjs'
import { median } from './report.mjs'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'

const NOISY = 50_000
const QUIET = 100

async function slowSink() {
  const tally = { noisy: 0, quiet: 0, requests: 0 }
  const server = createServer((req, res) => {
    tally.requests++
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () =>
      setTimeout(() => {
        const text = Buffer.concat(chunks).toString('utf8')
        for (const m of text.matchAll(/"tenant":"(noisy|quiet)"/g)) tally[m[1]]++
        res.writeHead(204).end()
      }, 50),
    )
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/ingest`, tally, close: () => new Promise((r) => server.close(r)) }
}

const APP = `
import pino from 'pino'
const { url, extra, noisy, quiet } = JSON.parse(process.argv[1])
const transport = pino.transport({ target: 'pino-courier', options: {
  stderr: false, closeTimeoutMs: 9000,
  senders: [{ type: 'http', url, pool: { concurrency: 1 }, batch: { maxRecords: 100, maxWaitMs: 20 }, queue: { maxRecords: 1000 }, ...extra }],
} })
let report
transport.on('courier:close', (r) => (report = r))
const logger = pino(transport)
const started = performance.now()
// The quiet tenant's records are spread through the noisy burst, one every noisy/quiet records.
const every = Math.floor(noisy / quiet)
for (let i = 0, q = 0; i < noisy; i++) {
  logger.info({ tenant: 'noisy', i }, 'noisy')
  if (i % every === every - 1 && q < quiet) logger.info({ tenant: 'quiet', q: q++ }, 'quiet')
}
// Closed by hand, so that the close report reaches this thread (at a natural exit it may not).
await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
const stats = report?.stats.senders[0]
const groups = Object.fromEntries((stats?.groups?.list ?? []).map((g) => [g.key, g.dropped.overflow]))
process.stdout.write('@@report ' + JSON.stringify({ dropped: stats?.dropped.overflow, groups, ms: performance.now() - started }) + '\\n')
`

async function runOne(extra) {
  const sink = await slowSink()
  const { code, report } = await runInlineApp(APP, { url: sink.url, extra, noisy: NOISY, quiet: QUIET })
  await sink.close()
  return { code, ...sink.tally, report }
}

const SETTINGS = [
  { name: 'one queue', extra: {} },
  { name: "groupBy: 'tenant'", extra: { groupBy: 'tenant' } },
]

/** Runs both settings `reps` times, alternating; returns the runs and a markdown table (medians). */
export async function runQueueGroupsBench({ reps = 3 } = {}) {
  const runs = []
  for (let rep = 0; rep < reps; rep++) {
    for (const setting of SETTINGS) {
      const r = await runOne(setting.extra)
      runs.push({ setting: setting.name, rep, ...r })
      console.log(`  groups   ${setting.name.padEnd(18)} rep ${rep + 1}: quiet ${r.quiet}/${QUIET}, noisy ${r.noisy}/${NOISY}, dropped ${r.report?.dropped}`)
    }
  }
  const lines = [
    `A noisy tenant logs ${NOISY.toLocaleString('en')} records in a burst, a quiet tenant ${QUIET} during it; one http sender, \`queue.maxRecords: 1000\`, one request in flight, batches of 100, a sink answering after 50 ms. Medians of ${reps}.`,
    '',
    '| setting | quiet tenant received | noisy tenant received | dropped (overflow) | counted under | time to close report |',
    '|---|---|---|---|---|---|',
  ]
  for (const setting of SETTINGS) {
    const mine = runs.filter((r) => r.setting === setting.name)
    const last = mine.at(-1)?.report
    const under = last && Object.keys(last.groups).length > 0 ? Object.entries(last.groups).map(([k, v]) => `${k}: ${v}`).join(', ') : 'the sender only'
    lines.push(
      `| ${setting.name} | ${median(mine.map((r) => r.quiet))}/${QUIET} | ${median(mine.map((r) => r.noisy))} | ${median(mine.map((r) => r.report?.dropped ?? NaN))} | ${under} | ${(median(mine.map((r) => r.report?.ms ?? NaN)) / 1000).toFixed(2)} s |`,
    )
  }
  return { runs, markdown: lines.join('\n') }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const reps = Number(process.argv[2] ?? 1)
  const extra = JSON.parse(process.argv[3] ?? '{}')
  for (let rep = 0; rep < reps; rep++) {
    const r = await runOne(extra)
    console.log(
      `rep ${rep + 1} ${JSON.stringify(extra)}: quiet tenant ${r.quiet}/${QUIET} received, noisy ${r.noisy}/${NOISY}, ${r.requests} requests, dropped ${JSON.stringify(r.report)}, exit ${r.code}`,
    )
  }
}
