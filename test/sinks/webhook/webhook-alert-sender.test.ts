/**
 * The webhook alert sender against a real HTTP server on 127.0.0.1 posing as each sink. Windows and
 * Retry-After run on fake timers (setTimeout and Date; sockets stay real).
 */
import { once } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { JsonAlertPayload } from '../../../src/sinks/webhook/formats/json-format.js'
import type { SlackPayload } from '../../../src/sinks/webhook/formats/slack-format.js'
import { ConfigError } from '../../../src/config/config-error.js'
import { createCourierStream, type CourierWarning } from '../../../src/index.js'
import { LevelMap } from '../../../src/config/levels.js'
import { parseTransportOptions } from '../../../src/config/transport-options.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { createRecord, LogRecord } from '../../../src/input/record.js'
import { createSenders } from '../../../src/sinks/registry.js'
import type { SenderContext } from '../../../src/senders/sender.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import {
  createWebhookAlertSender,
  type WebhookAlertSender,
  type WebhookAlertSenderOptions,
} from '../../../src/sinks/webhook/webhook-alert-sender.js'
import { useCleanups } from '../../helpers/cleanups.js'
import type { HttpSink, Reply } from '../../helpers/http-sink.js'

type FailureEvent = SenderEvents['failure'][0]
type RetryEvent = SenderEvents['retry'][0]
type DropEvent = SenderEvents['drop'][0]

const { defer, sink } = useCleanups()
// Registered after useCleanups: after-hooks run in reverse order, so real timers are back before the
// cleanups close senders (a close deadline on a fake clock would never pass).
afterEach(() => {
  vi.useRealTimers()
})

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)
const STACK = 'TypeError: amount is undefined\n    at charge (/srv/pay.js:10:5)\n    at handle (/srv/app.js:3:1)'

/** Fakes setTimeout and Date only: sockets, setImmediate and nextTick stay real. */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 })
}

/** A sender closed after the test, with fast retries. */
function alertSender(options: Partial<WebhookAlertSenderOptions> & { url: string }, context?: SenderContext): WebhookAlertSender {
  const created = createWebhookAlertSender({ retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options }, context)
  defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

function errorRecord(msg = 'charge failed', fields: Record<string, unknown> = {}): LogRecord {
  return createRecord(
    JSON.stringify({ level: 50, time: Date.now(), pid: 42, hostname: 'web-1', msg, err: { type: 'TypeError', message: 'amount is undefined', stack: STACK }, ...fields }),
  )
}

function fatalRecord(msg = 'database gone'): LogRecord {
  return createRecord(JSON.stringify({ level: 60, time: Date.now(), msg }))
}

/** Waits, on real time whatever the timers, until `predicate` holds. */
async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = performance.now()
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * Waits until the server has `posts` requests and they are settled. Needed before moving a fake clock
 * far: a post still on the wire would see its attempt time out on the fake clock.
 */
async function settled(alerts: WebhookAlertSender, server: HttpSink, posts: number): Promise<void> {
  await until(() => server.requests.length >= posts, `${posts} posts`)
  await alerts.flush()
}

function jsonBodies(server: HttpSink): JsonAlertPayload[] {
  return server.requests.map((r) => JSON.parse(r.body) as JsonAlertPayload)
}

/** Every record received is queued, in flight, delivered, failed or dropped. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.queued + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats))
  expect(stats.queued).toBeGreaterThanOrEqual(0)
  expect(stats.inFlight).toBeGreaterThanOrEqual(0)
}

describe('WebhookAlertSender', () => {
  describe('send', () => {
    it('ignores records below the threshold without parsing or counting them', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url })
      expect(alerts.level).toBe(50)
      const below = [createRecord('{"level":30,"msg":"fine"}'), createRecord('{"level":40,"msg":"hmm"}'), new LogRecord('not json', 49)]
      const parsed = below.map((r) => vi.spyOn(r, 'value'))
      for (const record of below) expect(alerts.send(record)).toBe(true)
      await alerts.flush()

      for (const spy of parsed) expect(spy).not.toHaveBeenCalled()
      expect(alerts.stats()).toMatchObject({ received: 0, queued: 0, delivered: 0, alerts: { posts: 0, pending: 0, groups: 0 } })
      expect(server.requests).toHaveLength(0)

      // A lower threshold takes them; a custom level's name works too.
      const warn = alertSender({ url: server.url, name: 'warn', level: 'audit' }, { levels: new LevelMap({ audit: 35, error: 50, fatal: 60 }) })
      warn.send(below[1] as LogRecord)
      await warn.flush()
      expect(warn.stats()).toMatchObject({ received: 1, delivered: 1 })
      expect(server.requests).toHaveLength(1)
    })

    it('takes levels far outside the range without throwing: NaN is ignored, huge levels are alerts', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url, format: 'slack' })
      expect(alerts.send(new LogRecord('{"msg":"nan"}', Number.NaN))).toBe(true)
      expect(alerts.send(new LogRecord('{"msg":"huge"}', Number.MAX_VALUE))).toBe(true)
      expect(alerts.send(new LogRecord('{"msg":"inf"}', Number.POSITIVE_INFINITY))).toBe(true)
      expect(alerts.send(new LogRecord('{"msg":"negative"}', -1e300))).toBe(true)
      const report = await alerts.close()
      expect(report.stats).toMatchObject({ received: 2, delivered: 2 })
      expect(server.requests.map((r) => (JSON.parse(r.body) as SlackPayload).blocks[0])).toEqual([
        { type: 'header', text: { type: 'plain_text', text: `🚨 LEVEL ${Number.MAX_VALUE}: huge`, emoji: true } },
        { type: 'header', text: { type: 'plain_text', text: '🚨 LEVEL Infinity: inf', emoji: true } },
      ])
    })

    it('posts the first alert at once: one record, in a post of its own', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: `${server.url}/hook`, title: 'checkout' })
      alerts.send(errorRecord())
      await until(() => server.requests.length === 1, 'the first post')

      const request = server.requests[0]!
      expect(request.method).toBe('POST')
      expect(request.url).toBe('/logs/hook')
      expect(request.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(request.headers['user-agent']).toBe('pino-courier')
      expect(request.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/)
      expect(JSON.parse(request.body)).toEqual({
        source: 'pino-courier',
        sender: 'webhook',
        title: 'checkout',
        summary: 'checkout · ERROR: charge failed',
        reason: 'first',
        at: '2026-01-02T03:04:05.000Z',
        window: { start: '2026-01-02T03:04:05.000Z', end: '2026-01-02T03:05:05.000Z' },
        records: 1,
        groups: [
          {
            key: { level: '50', msg: 'charge failed', 'err.type': 'TypeError' },
            level: 50,
            levelLabel: 'error',
            message: 'charge failed',
            count: 1,
            new: 1,
            firstAt: '2026-01-02T03:04:05.000Z',
            lastAt: '2026-01-02T03:04:05.000Z',
            example: {
              time: '2026-01-02T03:04:05.000Z',
              error: { type: 'TypeError', message: 'amount is undefined', stack: ['at charge (/srv/pay.js:10:5)', 'at handle (/srv/app.js:3:1)'], stackOmitted: 0 },
              hostname: 'web-1',
              pid: 42,
            },
          },
        ],
        omitted: { groups: 0, occurrences: 0, records: 0 },
        other: null,
      })
      await alerts.flush()
      const stats = alerts.stats()
      expect(stats).toMatchObject({ received: 1, delivered: 1, attempts: 1, alerts: { posts: 1, firstAlerts: 1, postsDelivered: 1, windowPosts: 1 } })
      expect(stats.deliveredBytes).toBe(request.raw.length)
      expectLedger(stats)
    })

    it.each([
      ['slack', (body: Record<string, unknown>) => expect(body).toMatchObject({ text: expect.stringContaining('ERROR: charge failed'), blocks: expect.arrayContaining([expect.objectContaining({ type: 'header' })]) })],
      ['discord', (body: Record<string, unknown>) => expect(body).toMatchObject({ content: expect.stringContaining('ERROR: charge failed'), embeds: [expect.objectContaining({ title: 'ERROR charge failed' })], allowed_mentions: { parse: [] } })],
      ['teams', (body: Record<string, unknown>) => expect(body).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.4' } }] })],
    ] as const)('posts the %s format as JSON, without an idempotency key', async (format, check) => {
      const server = await sink()
      const alerts = alertSender({ url: server.url, format })
      alerts.send(errorRecord())
      await alerts.flush()
      expect(server.requests).toHaveLength(1)
      expect(server.requests[0]!.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(server.requests[0]!.headers).not.toHaveProperty('idempotency-key')
      check(JSON.parse(server.requests[0]!.body) as Record<string, unknown>)
      expect(alerts.format).toBe(format)
    })
  })

  describe('windows', () => {
    it('collects later alerts into one digest, posted when the window ends', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, windowMs: 60_000 })
      alerts.send(errorRecord('charge failed'))
      await settled(alerts, server, 1)

      await vi.advanceTimersByTimeAsync(1000)
      for (let i = 0; i < 3; i++) alerts.send(errorRecord('charge failed'))
      await vi.advanceTimersByTimeAsync(1000)
      alerts.send(errorRecord('refund failed'))
      alerts.send(errorRecord('refund failed'))
      alerts.send(errorRecord('charge failed', { err: { type: 'RangeError', message: 'negative amount' } }))
      expect(alerts.stats()).toMatchObject({ queued: 6, alerts: { pending: 6, groups: 3, suppressed: 6, grouped: 4 } })
      expectLedger(alerts.stats())

      await vi.advanceTimersByTimeAsync(57_999)
      await alerts.flush()
      expect(server.requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      await until(() => server.requests.length === 2, 'the digest')

      const digest = jsonBodies(server)[1]!
      expect(digest).toMatchObject({ reason: 'window', records: 6, summary: '6 new alerts in 3 groups' })
      expect(digest.window).toEqual({ start: '2026-01-02T03:04:05.000Z', end: '2026-01-02T03:05:05.000Z' })
      expect(digest.groups.map((g) => [g.message, g.key['err.type'], g.count, g.new, g.firstAt, g.lastAt])).toEqual([
        // The window's counts, the first alert's occurrence included.
        ['charge failed', 'TypeError', 4, 3, '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:06.000Z'],
        ['refund failed', 'TypeError', 2, 2, '2026-01-02T03:04:07.000Z', '2026-01-02T03:04:07.000Z'],
        ['charge failed', 'RangeError', 1, 1, '2026-01-02T03:04:07.000Z', '2026-01-02T03:04:07.000Z'],
      ])
      await alerts.flush()
      const stats = alerts.stats()
      expect(stats).toMatchObject({
        received: 7,
        delivered: 7,
        queued: 0,
        alerts: { posts: 2, firstAlerts: 1, digests: 1, flushes: 0, suppressed: 6, grouped: 4, pending: 0, windowPosts: 1 },
      })
      expectLedger(stats)
    })

    it('gives a steady storm one digest per window, and goes quiet after a quiet window', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, windowMs: 10_000 })
      const posted = async (n: number): Promise<void> => {
        await until(() => server.requests.length === n, `${n} posts`)
        await alerts.flush()
      }
      alerts.send(errorRecord()) // t = 0: posted at once, window [0, 10 s)
      await posted(1)
      // One alert a second. Windows end at 10, 20 and 30 s: a digest each, every one opening the next window.
      for (let second = 1; second <= 30; second++) {
        await vi.advanceTimersByTimeAsync(1000)
        if (second % 10 === 0) await posted(1 + second / 10)
        if (second < 30) alerts.send(errorRecord())
      }
      expect(jsonBodies(server).map((b) => [b.reason, b.records])).toEqual([
        ['first', 1],
        ['window', 9],
        ['window', 10],
        ['window', 10],
      ])
      // The window opened at 30 s stays empty: it closes without a post, and the next alert goes at once.
      await vi.advanceTimersByTimeAsync(15_000)
      expect(server.requests).toHaveLength(4)
      alerts.send(errorRecord())
      await posted(5)
      expect(jsonBodies(server)[4]).toMatchObject({ reason: 'first', records: 1 })
      expect(alerts.stats()).toMatchObject({ received: 31, delivered: 31, alerts: { posts: 5, firstAlerts: 2, digests: 3 } })
    })

    it('dedupes by the groupBy paths when given, and shows their values', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, format: 'slack', groupBy: ['msg', 'req.url'] })
      alerts.send(errorRecord('slow upstream', { req: { url: '/pay' } }))
      for (let i = 0; i < 4; i++) alerts.send(errorRecord('slow upstream', { req: { url: '/pay' } }))
      for (let i = 0; i < 2; i++) alerts.send(errorRecord('slow upstream', { req: { url: '/refund' }, err: { type: 'Other' } }))
      await settled(alerts, server, 1)
      await vi.advanceTimersByTimeAsync(60_000)
      await until(() => server.requests.length === 2, 'the digest')
      const digest = JSON.parse(server.requests[1]!.body) as SlackPayload
      const sections = digest.blocks.flatMap((b) => (b.type === 'section' ? [b.text.text] : []))
      expect(sections).toHaveLength(2)
      expect(sections[0]).toMatch(/^\*ERROR ×5\* slow upstream\nTypeError: amount is undefined\nreq\.url: \/pay · host web-1 · pid 42\n/)
      expect(sections[1]).toMatch(/^\*ERROR ×2\* slow upstream\nOther\nreq\.url: \/refund · /)
      expect(alerts.stats().alerts).toMatchObject({ grouped: 5, suppressed: 6 })
    })
  })

  describe('flushLevel', () => {
    it('posts what was collected at once when a fatal record arrives', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url })
      alerts.send(errorRecord())
      alerts.send(errorRecord())
      alerts.send(errorRecord('other'))
      await until(() => server.requests.length === 1, 'the first post')
      await alerts.flush()
      expect(server.requests).toHaveLength(1)

      alerts.send(fatalRecord())
      await until(() => server.requests.length === 2, 'the flush')
      const flushed = jsonBodies(server)[1]!
      expect(flushed).toMatchObject({ reason: 'flushLevel', records: 3, summary: '3 new alerts in 3 groups' })
      // Most severe first.
      expect(flushed.groups.map((g) => [g.levelLabel, g.message, g.count, g.new])).toEqual([
        ['fatal', 'database gone', 1, 1],
        ['error', 'charge failed', 2, 1],
        ['error', 'other', 1, 1],
      ])
      // The window keeps its end; nothing new arrived, so it ends without a post.
      await alerts.flush()
      await vi.advanceTimersByTimeAsync(60_000)
      await alerts.flush()
      expect(server.requests).toHaveLength(2)
      expect(alerts.stats()).toMatchObject({ received: 4, delivered: 4, alerts: { posts: 2, flushes: 1, digests: 0, windowPosts: 0 } })
    })

    it('makes at most maxAlertsPerWindow posts in a window; later fatal records wait for its end', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, maxAlertsPerWindow: 3, flushLevel: 'error' })
      for (let i = 0; i < 10; i++) alerts.send(errorRecord(`kind ${i}`))
      alerts.send(fatalRecord())
      await until(() => server.requests.length === 3, '3 posts')
      await alerts.flush()
      expect(server.requests).toHaveLength(3)
      expect(alerts.stats().alerts).toMatchObject({ posts: 3, firstAlerts: 1, flushes: 2, deferredFlushes: 8, pending: 8, windowPosts: 3 })

      await vi.advanceTimersByTimeAsync(60_000)
      await until(() => server.requests.length === 4, 'the digest')
      expect(jsonBodies(server).map((b) => [b.reason, b.records])).toEqual([
        ['first', 1],
        ['flushLevel', 1],
        ['flushLevel', 1],
        ['window', 8],
      ])
      await alerts.flush()
      expect(alerts.stats()).toMatchObject({ received: 11, delivered: 11, alerts: { windowPosts: 1 } })
    })
  })

  describe('limits', () => {
    it("cuts a storm of distinct errors to the sink's limits, counts it, and delivers every record", async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, format: 'slack', maxGroups: 200 })
      alerts.send(errorRecord('first'))
      for (let k = 0; k < 150; k++) {
        for (let n = 0; n <= k % 3; n++) alerts.send(errorRecord(`kind ${k} ${'x'.repeat(300)}`))
      }
      await settled(alerts, server, 1)
      await vi.advanceTimersByTimeAsync(60_000)
      await until(() => server.requests.length === 2, 'the digest')
      const digest = JSON.parse(server.requests[1]!.body) as SlackPayload
      expect(digest.blocks.length).toBeLessThanOrEqual(50)
      const more = digest.blocks.flatMap((b) => (b.type === 'section' && b.text.text.startsWith('…') ? [b.text.text] : []))
      const truncated = alerts.stats().alerts.truncatedGroups
      expect(truncated).toBeGreaterThan(0)
      expect(more[0]).toMatch(new RegExp(`^… ${truncated} more groups \\([\\d,]+ occurrences\\) left out to fit the message$`))
      expect(digest.blocks.filter((b) => b.type === 'section')).toHaveLength(150 - truncated + 1)
      await alerts.flush()
      expect(alerts.stats()).toMatchObject({ received: 301, delivered: 301, failed: 0 })
    })

    it('counts kinds beyond maxGroups as other, and says so in the digest', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, maxGroups: 2 })
      for (let k = 0; k < 5; k++) alerts.send(errorRecord(`kind ${k}`))
      await settled(alerts, server, 1)
      await vi.advanceTimersByTimeAsync(60_000)
      await until(() => server.requests.length === 2, 'the digest')
      expect(jsonBodies(server)[1]).toMatchObject({ records: 4, groups: [{ message: 'kind 1' }], other: { count: 3, new: 3 } })
      expect(alerts.stats().alerts).toMatchObject({ otherOccurrences: 3 })
    })
  })

  describe('retries', () => {
    it('honours Retry-After on a 429 before posting again', async () => {
      useFakeClock()
      const server = await sink((_req, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '30' }, body: 'rate_limited' } : undefined))
      const alerts = alertSender({ url: server.url, format: 'slack' })
      const retried = once(alerts, 'retry') as Promise<[RetryEvent]>
      alerts.send(errorRecord())
      const [retry] = await retried
      expect(retry).toMatchObject({ records: 1, attempt: 1, delayMs: 30_000 })
      expect(retry.error).toContain('HTTP 429')

      await vi.advanceTimersByTimeAsync(29_999)
      expect(server.requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      await until(() => server.requests.length === 2, 'the retry')
      await alerts.flush()
      expect(server.requests[1]!.body).toBe(server.requests[0]!.body)
      expect(alerts.stats()).toMatchObject({ received: 1, delivered: 1, retried: 1, attempts: 2 })
    })

    it("honours Discord's retry_after in a JSON body, and the Retry-After header over it when both are there", async () => {
      useFakeClock()
      const limited = { message: 'You are being rate limited.', retry_after: 12.5, global: false }
      const server = await sink((_req, index): Reply | undefined => {
        if (index === 0) return { status: 429, headers: { 'content-type': 'application/json' }, body: JSON.stringify(limited) }
        // The header's unit is fixed; the body's depends on Discord's API version: the header wins.
        if (index === 2) return { status: 429, headers: { 'retry-after': '5' }, body: JSON.stringify(limited) }
        return undefined
      })
      const alerts = alertSender({ url: server.url, format: 'discord' })
      const delays: number[] = []
      alerts.on('retry', (r) => delays.push(r.delayMs))
      alerts.send(errorRecord())
      await until(() => delays.length === 1, 'the first retry')
      expect(delays).toEqual([12_500])
      await vi.advanceTimersByTimeAsync(12_499)
      expect(server.requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      await until(() => server.requests.length === 2, 'the retry')
      await alerts.flush()

      alerts.send(fatalRecord())
      await until(() => delays.length === 2, 'the second retry')
      expect(delays).toEqual([12_500, 5_000])
      await vi.advanceTimersByTimeAsync(5_000)
      await until(() => server.requests.length === 4, 'the second post')
      await alerts.flush()
      expect(alerts.stats()).toMatchObject({ received: 2, delivered: 2, retried: 2, failed: 0 })
    })

    it('fails a post for good on a 4xx, counting the records it carried', async () => {
      useFakeClock()
      const server = await sink((_req, index) => (index === 0 ? undefined : { status: 400, body: 'invalid_payload' }))
      const alerts = alertSender({ url: server.url, format: 'slack' })
      const failures: FailureEvent[] = []
      alerts.on('failure', (f) => failures.push(f))
      for (let i = 0; i < 5; i++) alerts.send(errorRecord())
      await settled(alerts, server, 1)
      await vi.advanceTimersByTimeAsync(60_000)
      await until(() => failures.length === 1, 'the failure')
      await alerts.flush()

      expect(server.requests).toHaveLength(2)
      expect(failures[0]).toMatchObject({ sender: 'webhook', records: 4, attempts: 1, reason: 'permanent', status: 400 })
      expect(failures[0]!.error).toBe(`DeliveryError: HTTP 400 from http://127.0.0.1:${server.port}: invalid_payload`)
      const stats = alerts.stats()
      expect(stats).toMatchObject({ received: 5, delivered: 1, failed: 4, alerts: { postsDelivered: 1, postsFailed: 1 } })
      expect(stats.recentFailures).toEqual([expect.objectContaining({ records: 4, status: 400 })])
      expectLedger(stats)
    })

    it('retries a 503 and counts re-sent records', async () => {
      const server = await sink((_req, index) => (index < 2 ? { status: 503 } : undefined))
      const alerts = alertSender({ url: server.url })
      alerts.send(errorRecord())
      await until(() => alerts.stats().delivered === 1, 'delivery')
      expect(server.requests).toHaveLength(3)
      expect(alerts.stats()).toMatchObject({ delivered: 1, retried: 2, attempts: 3 })
    })
  })

  describe('secrets', () => {
    it('never shows the webhook URL in errors, warnings, stats, reports or thrown messages', async () => {
      const secrets = ['T0SECRET', 'B0SECRET', 'xoxSECRETTOKEN', 'QUERYSECRET', 'services']
      const path = '/services/T0SECRET/B0SECRET/xoxSECRETTOKEN?token=QUERYSECRET'
      // Like Slack's own error pages and many proxies, the server echoes what was requested.
      const server = await sink((req, index) =>
        index % 2 === 0 ? { status: 404, body: `no_service for ${req.url}` } : { status: 500, body: `upstream failed: POST http://127.0.0.1${req.url}` },
      )
      const closed = await sink()
      const deadPort = closed.port
      await closed.close()

      const warnings: CourierWarning[] = []
      const events: unknown[] = []
      const hooks = [
        alertSender({ url: `http://127.0.0.1:${server.port}${path}`, name: 'a', format: 'slack', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
        alertSender({ url: `http://127.0.0.1:${server.port}${path}`, name: 'b', format: 'discord', retry: { maxAttempts: 1 } }),
        alertSender({ url: `http://127.0.0.1:${deadPort}${path}`, name: 'c', format: 'teams', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
      ]
      for (const hook of hooks) {
        hook.on('failure', (e) => events.push(e))
        hook.on('retry', (e) => events.push(e))
        hook.on('drop', (e) => events.push(e))
      }
      const stream = createCourierStream({ senders: hooks, stderr: false, onWarning: (w) => warnings.push(w) })
      defer(() => stream.close())
      stream.write(`${errorRecord().line}\n`)
      await stream.flush()
      const report = await stream.close()
      stream.write(`${errorRecord().line}\n`) // after close: a drop event

      let thrown = ''
      try {
        createWebhookAlertSender({ url: `ftp://127.0.0.1${path}` })
      } catch (error) {
        thrown = `${(error as Error).message} ${String((error as Error).cause)}`
      }
      expect(thrown).toContain('url: Invalid URL')

      expect(events.length).toBeGreaterThanOrEqual(5)
      expect(warnings.length).toBeGreaterThanOrEqual(3)
      expect(report.undelivered).toBe(3)
      const texts = [
        JSON.stringify(events),
        JSON.stringify(warnings),
        JSON.stringify(report),
        JSON.stringify(hooks.map((h) => h.stats())),
        hooks.map((h) => h.endpoint).join(' '),
        thrown,
      ]
      for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret)
      expect(JSON.stringify(events)).toContain(`HTTP 404 from http://127.0.0.1:${server.port}: no_service for …`)
      expect(JSON.stringify(events)).toContain(`request to http://127.0.0.1:${deadPort} failed`)
      expect(hooks[0]!.endpoint).toBe(`http://127.0.0.1:${server.port}`)
    })
  })

  describe('close', () => {
    it('posts the pending digest even when the window has no posts left', async () => {
      useFakeClock()
      const server = await sink()
      const alerts = alertSender({ url: server.url, maxAlertsPerWindow: 1 })
      for (let i = 0; i < 4; i++) alerts.send(errorRecord())
      alerts.send(fatalRecord())
      await until(() => server.requests.length === 1, 'the first post')
      expect(alerts.stats().alerts).toMatchObject({ pending: 4, deferredFlushes: 1 })

      vi.useRealTimers()
      const report = await alerts.close()
      expect(jsonBodies(server).map((b) => [b.reason, b.records])).toEqual([
        ['first', 1],
        ['close', 4],
      ])
      expect(report).toMatchObject({ name: 'webhook', undelivered: 0, abandonedAtDeadline: 0, timedOut: false, spooled: 0 })
      expect(report.stats).toMatchObject({ received: 5, delivered: 5, queued: 0, inFlight: 0 })
      expect((report.stats as { alerts?: unknown }).alerts).toMatchObject({ posts: 2, digests: 1 })
      expectLedger(report.stats)
    })

    it('counts the records of posts still unsent at the deadline as abandoned, and later sends as dropped', async () => {
      const server = await sink(() => ({ hang: true }))
      const alerts = alertSender({ url: server.url })
      const drops: DropEvent[] = []
      alerts.on('drop', (d) => drops.push(d))
      alerts.send(errorRecord())
      await until(() => server.requests.length === 1, 'the hung post')
      for (let i = 0; i < 4; i++) alerts.send(errorRecord())
      expect(alerts.stats()).toMatchObject({ inFlight: 1, queued: 4 })

      const report = await alerts.close({ timeoutMs: 300 })
      expect(report).toMatchObject({ undelivered: 5, abandonedAtDeadline: 5, timedOut: true })
      expect(report.stats).toMatchObject({ received: 5, delivered: 0, queued: 0, inFlight: 0, dropped: { closed: 5 } })
      expectLedger(report.stats)

      expect(alerts.send(errorRecord())).toBe(true)
      expect(alerts.stats()).toMatchObject({ received: 6, dropped: { closed: 6 } })
      expect(drops.reduce((n, d) => n + d.records, 0)).toBe(6)
      // Idempotent: the same report.
      expect(await alerts.close()).toBe(report)
      expect(server.requests).toHaveLength(1)
    })

    it('closes without a post when nothing is pending', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url })
      alerts.send(errorRecord())
      await alerts.flush()
      const report = await alerts.close()
      expect(server.requests).toHaveLength(1)
      expect(report).toMatchObject({ undelivered: 0, timedOut: false })
    })
  })

  describe('stats', () => {
    it('keeps the ledger in records at every step: pending, in flight, delivered', async () => {
      const server = await sink(() => ({ delayMs: 150 }))
      const alerts = alertSender({ url: server.url, windowMs: 100 })
      alerts.send(errorRecord())
      // The first alert is handed to the (idle) posting worker at once.
      expect(alerts.stats()).toMatchObject({ received: 1, inFlight: 1, queued: 0 })
      await until(() => server.requests.length === 1, 'the post at the server')
      for (let i = 0; i < 9; i++) alerts.send(errorRecord())
      expect(alerts.stats()).toMatchObject({ received: 10, inFlight: 1, queued: 9 })
      expectLedger(alerts.stats())
      await until(() => alerts.stats().delivered === 10, 'both posts delivered')
      const stats = alerts.stats()
      expect(stats).toMatchObject({ received: 10, queued: 0, queuedBytes: 0, inFlight: 0, delivered: 10 })
      expect(server.requests).toHaveLength(2)
      expect(stats.deliveredBytes).toBe(server.requests.reduce((n, r) => n + r.raw.length, 0))
      expectLedger(stats)
    })
  })

  describe('options', () => {
    const configError = (options: unknown, context?: SenderContext): ConfigError => {
      try {
        createWebhookAlertSender(options as WebhookAlertSenderOptions, context)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return error as ConfigError
      }
      throw new Error('expected a ConfigError')
    }
    const url = 'https://hooks.example.test/services/T/B/secret'

    it('names each bad option', () => {
      expect(configError({ url, format: 'hipchat' }).paths).toEqual(['format'])
      expect(configError({ url, windowMs: 0, maxAlertsPerWindow: 0 }).paths).toEqual(['windowMs', 'maxAlertsPerWindow'])
      expect(configError({ url, groupBy: ['msg', 'err..type'] }).paths).toEqual(['groupBy[1]'])
      expect(configError({ url, groupBy: [] }).paths).toEqual(['groupBy'])
      expect(configError({ url, maxBodyBytes: 100 }).paths).toEqual(['maxBodyBytes'])
      expect(configError({ url, maxGroups: 0, maxStackLines: -1 }).paths).toEqual(['maxGroups', 'maxStackLines'])
      expect(configError({ url, pool: { concurrency: 4 } }).paths).toEqual(['pool.concurrency'])
      expect(configError({ url, queue: { maxRecords: 5 } }).paths).toEqual(['queue'])
      expect(configError({ url, retry: { maxAttempts: 0 } }).paths).toEqual(['retry.maxAttempts'])
      expect(configError({ url, level: 'loud' }).paths).toEqual(['level'])
      expect(configError({ url, flushLevel: 'loud' }).paths).toEqual(['flushLevel'])
      expect(configError({}).paths).toEqual(['url'])
      const bad = configError({ url: 'ftp://hooks.example.test/services/T/B/secret' })
      expect(bad.paths).toEqual(['url'])
      expect(bad.message).not.toContain('secret')
    })

    it('names the sender in transport options (senders[i].path) and in createSenders', async () => {
      const error = (() => {
        try {
          parseTransportOptions({ senders: [{ type: 'file', path: '/tmp/x' }, { type: 'webhook', url, format: 'irc', windowMs: 'soon' }] })
        } catch (caught) {
          return caught as ConfigError
        }
        throw new Error('expected a ConfigError')
      })()
      expect(error.paths).toEqual(['senders[1].format', 'senders[1].windowMs'])
      expect(error.message).toMatch(/^pino-courier: invalid options: senders\[1\]\.format: /)
      const options = parseTransportOptions({ senders: [{ type: 'webhook', url }] })
      expect(options.senders[0]?.name).toBe('webhook')

      const built = await createSenders([{ type: 'file', path: '/dev/null' }, { type: 'webhook', url, flushLevel: 'panic' }], {}).then(
        () => undefined,
        (caught: unknown) => caught as ConfigError,
      )
      expect(built?.paths).toEqual(['senders[1].flushLevel'])
    })

    it("takes the transport's retry and pool.timeoutMs defaults, and ignores its queue, batch, spool and dead-letter", async () => {
      const server = await sink(() => ({ status: 500 }))
      const alerts = alertSender(
        { url: server.url, retry: { baseDelayMs: 1, maxDelayMs: 1 } },
        { defaults: [{ retry: { maxAttempts: 2 }, queue: { maxRecords: 1 }, batch: { maxRecords: 1000 }, pool: { concurrency: 8, timeoutMs: 5000 }, spool: { dir: '/nonexistent/spool' }, deadLetter: { path: '/nonexistent/dead' } }] },
      )
      alerts.send(errorRecord())
      await alerts.flush()
      expect(server.requests).toHaveLength(2)
      expect(alerts.stats()).toMatchObject({ received: 1, failed: 1, deadLettered: 0, spooled: 0 })
    })
  })
})
