/**
 * The webhook alert sender's posting: its ledger in log records, its bounded backlog of posts and its
 * rate limit, against a real HTTP server on 127.0.0.1. The storms run on real time (they are short);
 * the rate limit on a fake clock (setTimeout and Date; sockets stay real).
 */
import { once } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRecord, type LogRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { DROP_REASONS, totalDropped, type DropReason, type SenderStats } from '../../../src/stats/delivery-stats.js'
import {
  createWebhookAlertSender,
  type WebhookAlertSender,
  type WebhookAlertSenderOptions,
} from '../../../src/sinks/webhook/webhook-alert-sender.js'
import { useCleanups } from '../../helpers/cleanups.js'

type DropEvent = SenderEvents['drop'][0]
type FailureEvent = SenderEvents['failure'][0]
type RetryEvent = SenderEvents['retry'][0]

const { defer, sink } = useCleanups()
afterEach(() => {
  vi.useRealTimers()
})

function alertSender(options: Partial<WebhookAlertSenderOptions> & { url: string }): WebhookAlertSender {
  const created = createWebhookAlertSender(options)
  defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

function record(level: number, msg: string): LogRecord {
  return createRecord(JSON.stringify({ level, time: Date.now(), msg }))
}

async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = performance.now()
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Every event the sender emits, kept for sums. */
function listen(alerts: WebhookAlertSender): { drops: DropEvent[]; failures: FailureEvent[]; retries: RetryEvent[] } {
  const events = { drops: [] as DropEvent[], failures: [] as FailureEvent[], retries: [] as RetryEvent[] }
  alerts.on('drop', (e) => events.drops.push(e))
  alerts.on('failure', (e) => events.failures.push(e))
  alerts.on('retry', (e) => events.retries.push(e))
  return events
}

function expectBalanced(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
  expect(stats.queued).toBeGreaterThanOrEqual(0)
  expect(stats.inFlight).toBeGreaterThanOrEqual(0)
}

describe('webhook alert sender posting', () => {
  it('adds up after a storm with failing posts, a full backlog and a close deadline, and its events sum to its counters', async () => {
    // Posts take 5 ms; every third is refused for good (400), every third fails once then goes (503).
    const server = await sink((_req, index) => {
      if (index % 3 === 0) return { status: 400, body: 'invalid_payload', delayMs: 5 }
      if (index % 3 === 1) return { status: 503, delayMs: 5 }
      return { delayMs: 5 }
    })
    const alerts = alertSender({
      url: server.url,
      // Every alert posts at once: a storm of posts, more than the backlog holds.
      flushLevel: 'error',
      maxAlertsPerWindow: 1000,
      windowMs: 100,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    })
    const events = listen(alerts)
    for (let i = 0; i < 300; i++) alerts.send(record(i % 4 === 0 ? 60 : 50, `storm ${i % 7}`))
    expectBalanced(alerts.stats())
    expect(alerts.stats().dropped.overflow).toBeGreaterThan(0)
    await until(() => server.requests.length >= 20, 'some posts')
    for (let i = 0; i < 20; i++) alerts.send(record(50, 'late'))
    expectBalanced(alerts.stats())

    const report = await alerts.close({ timeoutMs: 100 })
    alerts.send(record(50, 'after close'))
    const stats = alerts.stats()
    expectBalanced(stats)
    expect(stats).toMatchObject({ received: 321, queued: 0, inFlight: 0 })
    expect(stats.delivered).toBeGreaterThan(0)
    expect(stats.failed).toBeGreaterThan(0)
    expect(stats.dropped.overflow).toBeGreaterThan(0)
    expect(stats.dropped.closed).toBeGreaterThan(1)
    expect(report.undelivered).toBe(report.stats.failed + totalDropped(report.stats))

    // Every event's records add up to the counters: the ledger emits them, nothing else does.
    const dropped = (reason: DropReason): number => events.drops.filter((d) => d.reason === reason).reduce((n, d) => n + d.records, 0)
    for (const reason of DROP_REASONS) expect(dropped(reason)).toBe(stats.dropped[reason])
    expect(events.failures.reduce((n, f) => n + f.records, 0)).toBe(stats.failed)
    expect(events.retries.reduce((n, r) => n + r.records, 0)).toBe(stats.retried)
    expect(events.failures.every((f) => f.sender === 'webhook')).toBe(true)
    // Posts, in the alert counters, add up too.
    const { posts, postsDelivered, postsFailed, postsDropped } = stats.alerts
    expect(postsDelivered + postsFailed + postsDropped).toBe(posts)
  })

  it('keeps at most 100 posts waiting: the oldest post of the lowest level gives way, or the newcomer when it is lower', async () => {
    const server = await sink(() => ({ hang: true }))
    const alerts = alertSender({ url: server.url, level: 'warn', flushLevel: 'warn', maxAlertsPerWindow: 1000 })
    const { drops } = listen(alerts)
    alerts.send(record(60, 'first')) // in flight, never answered
    await until(() => server.requests.length === 1, 'the hung post')
    for (let i = 0; i < 100; i++) alerts.send(record(60, `fatal ${i}`))
    expect(alerts.stats()).toMatchObject({ received: 101, inFlight: 1, queued: 100, dropped: { overflow: 0 } })

    // A warn post meets a backlog of fatal ones: it is the one dropped.
    alerts.send(record(40, 'warn'))
    expect(alerts.stats()).toMatchObject({ queued: 100, dropped: { overflow: 1 }, alerts: { postsDropped: 1 } })
    // A fatal post makes room by dropping the oldest fatal one; a warn post among them goes first.
    alerts.send(record(60, 'fatal 100'))
    expect(alerts.stats()).toMatchObject({ queued: 100, dropped: { overflow: 2 }, alerts: { postsDropped: 2 } })
    expect(drops).toEqual([
      { sender: 'webhook', reason: 'overflow', records: 1 },
      { sender: 'webhook', reason: 'overflow', records: 1 },
    ])

    const report = await alerts.close({ timeoutMs: 100 })
    expect(report).toMatchObject({ timedOut: true, abandonedAtDeadline: 101, undelivered: 103 })
    expect(report.stats).toMatchObject({ received: 103, queued: 0, inFlight: 0, dropped: { overflow: 2, closed: 101 } })
    expect(server.requests).toHaveLength(1)
  })

  it('drops the oldest post of the lowest level for a newer one of a higher level, and posts the rest in order', async () => {
    // The first post is answered late: meanwhile the backlog fills up.
    const server = await sink((_req, index) => (index === 0 ? { delayMs: 300 } : undefined))
    // Groups enough for every message in the window, so that each post names its own.
    const alerts = alertSender({ url: server.url, level: 'warn', flushLevel: 'warn', maxAlertsPerWindow: 1000, maxGroups: 200 })
    alerts.send(record(60, 'first'))
    await until(() => server.requests.length === 1, 'the first post at the server')
    alerts.send(record(60, 'fatal early'))
    for (let i = 0; i < 99; i++) alerts.send(record(40, `warn ${i}`))
    alerts.send(record(50, 'error'))
    // The error post took the place of the oldest warn post, not of the older fatal one.
    expect(alerts.stats()).toMatchObject({ received: 102, queued: 100, inFlight: 1, dropped: { overflow: 1 } })

    await alerts.flush()
    const messages = server.requests.map((r) => (JSON.parse(r.body) as { groups: { message: string }[] }).groups[0]?.message)
    expect(messages).toEqual(['first', 'fatal early', ...Array.from({ length: 98 }, (_, i) => `warn ${i + 1}`), 'error'])
    expect(alerts.stats()).toMatchObject({ received: 102, delivered: 101, queued: 0, inFlight: 0, dropped: { overflow: 1 } })
  })

  it('keeps every request, retries included, within pool.rateLimit, in order', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: Date.UTC(2026, 0, 2) })
    const server = await sink((_req, index) => (index === 0 ? { status: 503 } : undefined))
    const alerts = alertSender({
      url: server.url,
      flushLevel: 'error',
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      pool: { rateLimit: { intervalMs: 10_000, maxRequests: 1 } },
    })
    const retried = once(alerts, 'retry') as Promise<[RetryEvent]>
    alerts.send(record(50, 'a'))
    alerts.send(record(50, 'b'))
    const [retry] = await retried
    expect(retry).toMatchObject({ records: 1, attempt: 1 })
    expect(alerts.stats()).toMatchObject({ received: 2, inFlight: 1, queued: 1 })

    // The retry of the first post waits for the next window, and the second post for the one after.
    await vi.advanceTimersByTimeAsync(9_000)
    expect(server.requests).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await until(() => alerts.stats().delivered === 1, 'the retry delivered')
    await vi.advanceTimersByTimeAsync(9_000)
    expect(server.requests).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1_000)
    await until(() => server.requests.length === 3, 'the second post')
    await alerts.flush()
    const messages = server.requests.map((r) => (JSON.parse(r.body) as { groups: { message: string }[] }).groups[0]?.message)
    expect(messages).toEqual(['a', 'a', 'b'])
    expect(alerts.stats()).toMatchObject({ received: 2, delivered: 2, retried: 1, attempts: 3, queued: 0, inFlight: 0 })
  })
})
