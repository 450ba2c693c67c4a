// Alerts to a chat webhook: every record to a file, errors also to a Slack-format webhook, with
// digests instead of one message per error.
//
//   npm run build && node examples/alerts.mjs
//
// A local server stands in for Slack's incoming webhook and prints what it receives. It runs in a
// worker thread of its own because `transport.end()` (like pino's exit handler) blocks the main thread
// until the transport has closed, and the last digest is posted during close.
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import pino from 'pino'

if (isMainThread) await main()
else runFakeSlack()

// ---- a stand-in for Slack ------------------------------------------------------------------------

function runFakeSlack() {
  const received = []
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ path: req.url, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
      // Slack rate-limits with 429 and Retry-After: the second post is told to wait a second.
      if (received.length === 2) {
        res.writeHead(429, { 'retry-after': '1' })
        res.end('rate_limited')
        return
      }
      res.end('ok')
    })
  })
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
  parentPort.once('message', () => {
    parentPort.postMessage({ received })
    server.closeAllConnections()
    server.close()
    parentPort.close()
  })
}

// ---- the app ------------------------------------------------------------------------------------

async function main() {
  const slack = new Worker(new URL(import.meta.url))
  const port = await new Promise((resolve, reject) => {
    slack.once('error', reject)
    slack.once('message', (message) => resolve(message.port))
  })
  const dir = await mkdtemp(join(tmpdir(), 'pino-courier-alerts-'))
  const path = join(dir, 'app.ndjson')
  // In real life: process.env.SLACK_WEBHOOK_URL. The path is a credential; messages only ever show the host.
  const webhookUrl = `http://127.0.0.1:${port}/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`

  const transport = pino.transport({
    target: 'pino-courier',
    options: {
      senders: [
        { type: 'file', name: 'all', path, level: 'info' },
        {
          type: 'webhook',
          name: 'slack',
          url: webhookUrl,
          format: 'slack',
          title: 'checkout (example)',
          // level 'error' and flushLevel 'fatal' are the defaults. A short window for the example
          // (the default is a minute): the first error goes at once, the rest of the window in a digest.
          windowMs: 2000,
          maxAlertsPerWindow: 5,
        },
      ],
      stderr: false,
    },
  })
  let report
  transport.on('courier:close', (r) => (report = r))
  const logger = pino({ base: { service: 'checkout' } }, transport)
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

  let logged = 0
  let errors = 0
  const info = (i) => {
    logger.info({ i }, 'request served')
    logged++
  }
  const error = (err, fields, msg) => {
    logger.error({ err, ...fields }, msg)
    logged++
    errors++
  }

  // A storm: 500 failed charges (one kind), 20 token refresh failures, amid ordinary traffic.
  for (let i = 0; i < 300; i++) info(i)
  for (let i = 0; i < 500; i++) error(Object.assign(new Error('payment provider returned 502'), { name: 'UpstreamError' }), { orderId: i }, 'charge failed')
  for (let i = 0; i < 20; i++) error(new TypeError("Cannot read properties of undefined (reading 'token')"), {}, 'could not refresh token')
  // The window ends: the rest goes out as one digest (Slack answers 429 first; it is retried after Retry-After).
  await sleep(2500)
  // A fatal record posts what was collected at once.
  for (let i = 0; i < 30; i++) error(new RangeError('amount must be positive'), { orderId: 1000 + i }, 'invalid refund')
  logger.fatal('database connection pool exhausted')
  logged++
  errors++
  // Collected after the flush: posted by close as the last digest (or at the window's end, if the
  // machine is slow enough for it to come first).
  for (let i = 0; i < 5; i++) error(Object.assign(new Error('payment provider returned 502'), { name: 'UpstreamError' }), { orderId: 2000 + i }, 'charge failed')

  await new Promise((resolve) => logger.flush(resolve))
  const closed = new Promise((resolve) => transport.once('close', resolve))
  transport.ref()
  transport.end()
  await closed

  slack.postMessage('tally')
  const { received } = await new Promise((resolve) => slack.once('message', resolve))
  const lines = (await readFile(path, 'utf8')).trim().split('\n')
  await rm(dir, { recursive: true, force: true })

  console.log(`"Slack" received ${received.length} requests:`)
  for (const [n, { body }] of received.entries()) {
    const header = body.blocks.find((b) => b.type === 'header')?.text.text
    const context = body.blocks.find((b) => b.type === 'context')?.elements[0]?.text
    console.log(`\n#${n + 1} ${header}\n   ${context}`)
    for (const block of body.blocks.filter((b) => b.type === 'section')) {
      const [first, ...rest] = block.text.text.split('\n')
      console.log(`   | ${first}${rest.length ? `  (+${rest.length} lines)` : ''}`)
    }
  }

  const slackStats = report?.senders.find((s) => s.name === 'slack')?.stats
  const fileStats = report?.senders.find((s) => s.name === 'all')?.stats
  console.log(`\nfile: ${lines.length} of ${logged} records (the file sender counts ${fileStats?.delivered} delivered)`)
  console.log(
    `slack sender: ${slackStats?.received} error records received, ${slackStats?.delivered} delivered in ` +
      `${slackStats?.alerts.posts} posts (${slackStats?.alerts.firstAlerts} first alert, ${slackStats?.alerts.digests} digests, ` +
      `${slackStats?.alerts.flushes} fatal flush), ${slackStats?.alerts.suppressed} of them folded into digests; ` +
      `${slackStats?.retried} records re-sent after the 429`,
  )

  const problems = []
  if (lines.length !== logged || fileStats?.delivered !== logged) problems.push(`the file has ${lines.length} of ${logged} records`)
  if (!slackStats) problems.push('no close report for the webhook sender')
  else {
    if (slackStats.received !== errors || slackStats.delivered !== errors) problems.push(`webhook delivered ${slackStats.delivered} of ${errors} errors`)
    if (slackStats.retried < 1) problems.push('the 429 was not retried')
  }
  // The first alert, the window's digest (posted twice: 429 then 200), the fatal flush, the last digest.
  if (received.length !== 5) problems.push(`"Slack" got ${received.length} requests, expected 5`)
  const all = JSON.stringify(received)
  for (const expected of ['ERROR: charge failed', '*ERROR ×500* charge failed', '*ERROR ×20* could not refresh token', '*FATAL* database connection pool exhausted', '*ERROR ×30* invalid refund', '*ERROR ×5* charge failed']) {
    if (!all.includes(expected)) problems.push(`nothing posted says "${expected}"`)
  }
  if (received.some(({ body }) => body.blocks.length > 50)) problems.push('a post has more than 50 blocks')
  if (problems.length > 0) {
    console.error(`\nFAILED: ${problems.join('; ')}`)
    process.exitCode = 1
  }
}
