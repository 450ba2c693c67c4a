/**
 * The webhook alert sender is not a queued sender: its posts go through a posting loop of their own,
 * which observes the same timings. Against a real HTTP server on 127.0.0.1, on real time (counts only).
 */
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../src/input/record.js'
import { createWebhookAlertSender } from '../../src/sinks/webhook/webhook-alert-sender.js'
import { useCleanups } from '../helpers/cleanups.js'

const { defer, sink } = useCleanups()

describe('the webhook alert sender\'s timings', () => {
  it('observe every post attempt, one delivery per post and its records, and no queue wait', async () => {
    // The first post gets a 503, its retry a 200.
    const server = await sink((_request, index) => (index === 0 ? { status: 503 } : {}))
    const alerts = createWebhookAlertSender({ url: server.url, format: 'json', retry: { baseDelayMs: 5, maxDelayMs: 20 } })
    defer(() => alerts.close({ timeoutMs: 1000 }))
    alerts.send(createRecord(JSON.stringify({ level: 50, time: Date.now(), msg: 'charge failed' })))
    await alerts.flush()
    const { delivered, attempts, timings } = alerts.stats()
    expect({ delivered, attempts }).toEqual({ delivered: 1, attempts: 2 })
    expect(timings?.attemptMs.count).toBe(2)
    expect(timings?.deliveryMs.count).toBe(1)
    expect(timings?.batchRecords).toMatchObject({ count: 1, sum: 1 })
    expect(timings?.queueWaitMs.count).toBe(0)
  })
})

describe('the webhook alert sender at the close deadline', () => {
  it('does not observe the post it gives up on (its time is the deadline\'s, not a request\'s)', async () => {
    const server = await sink(() => ({ hang: true }))
    const alerts = createWebhookAlertSender({ url: server.url, format: 'json', pool: { timeoutMs: 60_000 } })
    alerts.send(createRecord(JSON.stringify({ level: 50, time: Date.now(), msg: 'charge failed' })))
    await server.waitFor(() => server.requests.length === 1, 5000)
    const report = await alerts.close({ timeoutMs: 100 })
    expect(report.abandonedAtDeadline).toBe(1)
    // The aborted request's rejection may come a little after close() returns.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const { timings } = alerts.stats()
    expect(timings?.batchRecords.count).toBe(1)
    expect(timings?.deliveryMs.count).toBe(0)
    expect(timings?.attemptMs.count).toBe(0)
  })
})
