// Issue 15's adaptive-concurrency scenario: a 100,000-record burst, in batches of 1,000, through pino.transport to a sink that takes 4 requests at
// a time, answers 429 (no Retry-After) at once beyond that and 20 ms after each request otherwise.
// Each setting runs in a child app; the sink counts distinct record ids, requests and 429s. `adaptive`
// is `pool: { concurrency: 'adaptive', maxConcurrency: 64 }`; the goal (issue 15): under 5% of requests
// answered 429 and at most 1.25x the time of a fixed 4 in the same run.
//
//   node bench/adaptive.mjs [records] [reps] [concurrency,...]     (defaults: 100000 3 4,16,adaptive)
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { now } from './clock.mjs'
import { runInlineApp } from './inline-app.mjs'
import { median } from './report.mjs'

/** What the sink takes at once, and how long it takes. */
const SINK_SLOTS = 4
const SINK_LATENCY_MS = 20
/** `maxConcurrency` of the adaptive setting: the default, far above the sink's 4. */
const ADAPTIVE_MAX = 64

/** The limited sink: 429 beyond SINK_SLOTS requests in progress. */
async function limitedSink(expected) {
  const seen = new Uint8Array(expected)
  const tally = { received: 0, duplicates: 0, requests: 0, refused: 0, firstAt: 0, lastAt: 0 }
  let active = 0
  const server = createServer((req, res) => {
    tally.requests++
    if (active >= SINK_SLOTS) {
      tally.refused++
      req.resume()
      res.writeHead(429).end()
      return
    }
    active++
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      setTimeout(() => {
        const text = Buffer.concat(chunks).toString('utf8')
        const at = now()
        for (const match of text.matchAll(/"benchId":(\d+)/g)) {
          const id = Number(match[1])
          if (seen[id]) tally.duplicates++
          else {
            seen[id] = 1
            tally.received++
            tally.firstAt ||= at
            tally.lastAt = at
          }
        }
        active--
        res.writeHead(204).end()
      }, SINK_LATENCY_MS)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/ingest`, tally, close: () => new Promise((r) => server.close(r)) }
}

const APP = `
import pino from 'pino'
const { url, count, pool } = JSON.parse(process.argv[1])
const transport = pino.transport({ target: 'pino-courier', options: {
  stderr: false,
  senders: [{ type: 'http', url, pool, batch: { maxRecords: 1000, maxWaitMs: 50 }, queue: { maxRecords: count * 2, maxBytes: 512 * 1024 * 1024 },
    retry: { maxAttempts: 1000, maxRetryTimeMs: 600000 } }],
} })
let report
transport.on('courier:close', (r) => (report = r))
const logger = pino(transport)
for (let i = 0; i < count; i++) logger.info({ benchId: i, route: '/api/v1/orders/:id', status: 200 }, 'request completed')
// Ended here rather than at exit, where the app's thread waits for the worker and sees no event: the
// close (same deadline either way) then posts its report, with the adaptive limit's stats.
// The worker is unref'd: a timer keeps this thread up until it has closed.
const alive = setInterval(() => {}, 1000)
await new Promise((resolve) => {
  transport.on('close', resolve)
  transport.end()
})
clearInterval(alive)
process.on('exit', () => process.stdout.write('@@report ' + JSON.stringify({ undelivered: report?.undelivered, concurrency: report?.stats?.senders?.[0]?.concurrency }) + '\\n'))
`

async function runOne(count, pool) {
  const sink = await limitedSink(count)
  const started = now()
  const { code, report } = await runInlineApp(APP, { url: sink.url, count, pool })
  await sink.close()
  const { tally } = sink
  return {
    pool,
    code,
    seconds: (tally.lastAt - started) / 1000,
    received: tally.received / count,
    duplicates: tally.duplicates,
    requests: tally.requests,
    refusedShare: tally.requests ? tally.refused / tally.requests : 0,
    report,
  }
}

/** The adaptive limit at the end (and its peak), from the close report's stats. */
function limitNote(report) {
  const c = report?.concurrency
  return c ? `, limit ${c.limit} (peak ${c.peak}, ${c.decreases} cuts, ${c.pauses} pauses)` : ''
}

const settingOf = (c) => (c === 'adaptive' ? { concurrency: c, maxConcurrency: ADAPTIVE_MAX } : { concurrency: Number(c) })
const describe = (pool, r) =>
  `concurrency ${String(pool.concurrency).padEnd(8)}: ${r.seconds.toFixed(2)} s to the last record, received ${(r.received * 100).toFixed(1)}%, ` +
  `dup ${r.duplicates}, ${r.requests} requests, ${(r.refusedShare * 100).toFixed(1)}% answered 429, exit ${r.code}` +
  limitNote(r.report)

/**
 * `npm run bench -- --scenarios adaptive`: fixed 4 (hand-tuned), fixed 16 and adaptive, `reps` times round
 * all three; returns the runs and a markdown table of medians, with each setting's time against fixed 4.
 */
export async function runAdaptiveBench({ count = 100_000, reps = 3 } = {}) {
  const settings = ['4', '16', 'adaptive']
  const runs = []
  for (let rep = 0; rep < reps; rep++) {
    for (const name of settings) {
      const r = await runOne(count, settingOf(name))
      runs.push({ setting: name, rep, ...r })
      console.log(`  adaptive rep ${rep + 1} ${describe(r.pool, r)}`)
    }
  }
  const of = (name) => runs.filter((r) => r.setting === name)
  const fixed4 = median(of('4').map((r) => r.seconds))
  const lines = [
    `A ${count.toLocaleString('en')}-record burst in batches of 1,000 through \`pino.transport\` to an http sink that takes ${SINK_SLOTS} requests at a time, answers 429 (no \`Retry-After\`) at once beyond that and after ${SINK_LATENCY_MS} ms otherwise. Medians of ${reps}; the goal for \`'adaptive'\`: under 5% of requests answered 429, at most 1.25× the time of a hand-tuned fixed 4.`,
    '',
    '| `pool.concurrency` | time to the last record | × fixed 4 | requests | answered 429 | received once | limit at the end (peak) |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const name of settings) {
    const mine = of(name)
    const seconds = median(mine.map((r) => r.seconds))
    const c = mine.at(-1)?.report?.concurrency
    lines.push(
      `| ${name === 'adaptive' ? `\`'adaptive'\` (max ${ADAPTIVE_MAX})` : name} | ${seconds.toFixed(2)} s | ${(seconds / fixed4).toFixed(2)}× | ${median(mine.map((r) => r.requests))} | ${(median(mine.map((r) => r.refusedShare)) * 100).toFixed(1)}% | ${(median(mine.map((r) => r.received)) * 100).toFixed(1)}% | ${c ? `${c.limit} (${c.peak})` : '–'} |`,
    )
  }
  return { runs, markdown: lines.join('\n') }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [countArg, repsArg, concurrencies] = process.argv.slice(2)
  const count = Number(countArg ?? 100_000)
  const reps = Number(repsArg ?? 3)
  const settings = (concurrencies ?? '4,16,adaptive').split(',').map(settingOf)
  for (let rep = 0; rep < reps; rep++) {
    for (const pool of settings) console.log(`rep ${rep + 1} ${describe(pool, await runOne(count, pool))}`)
  }
}
