/**
 * The webhook alert sender inside real pino transports: a burst of 10,000 identical errors through a
 * worker (in a child process, so that the sink in this process can answer while pino blocks the app's
 * thread in close), next to a file sender in one transport, and in the in-process stream.
 */
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { JsonAlertPayload } from '../../src/sinks/webhook/formats/json-format.js'
import type { SlackPayload } from '../../src/sinks/webhook/formats/slack-format.js'
import {
  createCourierStream,
  createMemorySender,
  totalDropped,
  type CourierCloseReport,
  type SenderStats,
  type TransportOptions,
  type WebhookAlertStats,
} from '../../src/index.js'
import { fixture, flushLogger, perfectSequence, readNdjson, summarizeSequence } from '../fixtures/integration.js'
import { runNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const ALERT_APP = fixture('alert-app.mjs')

const { defer, sink, tempDir } = useCleanups()

/** Runs the fixture app and returns its close report. */
async function runApp(options: TransportOptions, plan: string): Promise<{ report: CourierCloseReport; logged: string }> {
  const result = await runNode(ALERT_APP, [JSON.stringify(options), plan], { timeoutMs: 50_000 })
  const line = result.stdout.split('\n').find((l) => l.startsWith('REPORT '))
  if (result.code !== 0 || !line) {
    throw new Error(`app exited with ${result.code ?? result.signal}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`)
  }
  const logged = result.stdout.split('\n').find((l) => l.startsWith('LOGGED ')) ?? ''
  return { report: JSON.parse(line.slice('REPORT '.length)) as CourierCloseReport, logged }
}

function senderStats(report: CourierCloseReport, name: string): SenderStats {
  const found = report.senders.find((s) => s.name === name)
  if (!found) throw new Error(`no sender "${name}" in the close report`)
  return found.stats
}

function expectBalanced(stats: SenderStats): void {
  expect(stats.received).toBe(stats.queued + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats))
  expect(stats.queued + stats.inFlight).toBe(0)
}

describe('webhook alerts through pino', () => {
  it('turns a burst of 10,000 identical errors into at most maxAlertsPerWindow posts whose digest counts all 10,000', async () => {
    const n = 10_000
    const server = await sink()
    const { report, logged } = await runApp(
      { senders: [{ type: 'webhook', name: 'alerts', url: `${server.url}/T000/B000/XXXX`, format: 'json' }], stderr: false },
      `burst:${n}`,
    )
    const posts = server.requests.map((r) => JSON.parse(r.body) as JsonAlertPayload)
    const stats = senderStats(report, 'alerts') as WebhookAlertStats

    expect(posts.length).toBeLessThanOrEqual(5)
    // The first error at once, then everything else in the digest posted at close.
    expect(posts.map((p) => [p.reason, p.records])).toEqual([
      ['first', 1],
      ['close', n - 1],
    ])
    const digest = posts[1] as JsonAlertPayload
    expect(digest.groups).toHaveLength(1)
    expect(digest.groups[0]).toMatchObject({
      key: { level: '50', msg: 'charge failed', 'err.type': 'TypeError' },
      count: n,
      new: n - 1,
      example: { error: { type: 'TypeError', message: 'payment backend unreachable' } },
    })
    expect(posts.reduce((sum, p) => sum + p.records, 0)).toBe(n)

    expect(report).toMatchObject({ undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0, attempts: 2 })
    expect(stats.alerts).toMatchObject({ posts: 2, firstAlerts: 1, digests: 1, suppressed: n - 1, grouped: n - 1, postsDelivered: 2 })
    expectBalanced(stats)
    // The numbers, for the record (vitest prints console output).
    console.log(
      `10,000-error burst: ${logged}; ${server.requests.length} posts to the sink; ` +
        `digest group count ${digest.groups[0]?.count} (${digest.groups[0]?.new} new); ` +
        `ledger received ${stats.received} = delivered ${stats.delivered} + failed ${stats.failed} + dropped ${totalDropped(stats)}; ` +
        `alerts ${JSON.stringify(stats.alerts)}`,
    )
  })

  it('sends every record to a file and only the errors to a Slack-format webhook, in one transport', async () => {
    const n = 400
    const server = await sink()
    const path = join(await tempDir(), 'app.ndjson')
    const { report } = await runApp(
      {
        senders: [
          { type: 'file', path, level: 'info' },
          { type: 'webhook', url: `${server.url}/services/T1/B2/C3`, format: 'slack', title: 'checkout' },
        ],
        stderr: false,
      },
      `mixed:${n}`,
    )
    // The file got every record, in order.
    expect(summarizeSequence(await readNdjson(path), n)).toEqual(perfectSequence(n))

    // Errors: i % 20 === 0 (20 RangeErrors, "validation failed") and i % 20 === 10 (20 TypeErrors, "charge failed").
    const posts = server.requests.map((r) => JSON.parse(r.body) as SlackPayload)
    expect(posts).toHaveLength(2)
    expect(posts[0]?.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔴 checkout · ERROR: validation failed', emoji: true } })
    const sections = posts[1]!.blocks.flatMap((b) => (b.type === 'section' ? [b.text.text] : []))
    expect(sections).toHaveLength(2)
    expect(sections[0]).toMatch(/^\*ERROR ×20\* validation failed\nRangeError: amount 0 out of range\n/)
    expect(sections[0]).toContain('19 new since the last post')
    expect(sections[1]).toMatch(/^\*ERROR ×20\* charge failed\nTypeError: card is undefined\n/)

    const file = senderStats(report, 'file')
    const webhook = senderStats(report, 'webhook') as WebhookAlertStats
    expect(file).toMatchObject({ received: n, delivered: n })
    expect(webhook).toMatchObject({ received: 40, delivered: 40, failed: 0 })
    expect(webhook.alerts).toMatchObject({ posts: 2, grouped: 38 })
    expectBalanced(file)
    expectBalanced(webhook)
    expect(report.undelivered).toBe(0)
  })

  it('works in the in-process stream, with the logger’s messageKey and errorKey', async () => {
    const server = await sink()
    const memory = createMemorySender({ name: 'memory' })
    const stream = createCourierStream({
      senders: [memory, { type: 'webhook', name: 'alerts', url: server.url, format: 'discord' }],
      messageKey: 'message',
      errorKey: 'error',
      stderr: false,
    })
    defer(() => stream.close())
    const logger = pino({ messageKey: 'message', errorKey: 'error' }, stream)

    logger.info('hello')
    logger.error(new Error('disk full'), 'write failed')
    logger.error(new Error('disk full'), 'write failed')
    logger.fatal('shutting down')
    await flushLogger(logger)

    // The first error at once; the fatal record posts what was collected (itself and the repeat).
    expect(server.requests).toHaveLength(2)
    const [first, flushed] = server.requests.map((r) => JSON.parse(r.body) as { content: string; embeds: { title: string; description: string }[] })
    expect(first?.embeds).toEqual([expect.objectContaining({ title: 'ERROR write failed', description: expect.stringMatching(/^\*\*Error: disk full\*\*\n/) })])
    expect(flushed?.embeds.map((e) => e.title)).toEqual(['FATAL shutting down', 'ERROR ×2 write failed'])

    const report = await stream.close()
    expect(report.undelivered).toBe(0)
    expect(report.senders.map((s) => [s.name, s.stats.received, s.stats.delivered])).toEqual([
      ['memory', 4, 4],
      ['alerts', 3, 3],
    ])
    expect(server.requests).toHaveLength(2)
  })
})
