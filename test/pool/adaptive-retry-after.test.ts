/**
 * Adaptive concurrency and a sink's Retry-After: the slot an attempt answered 429 with Retry-After frees
 * must not go to a new batch before the pause it asked for has passed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, Sink } from '../../src/senders/sender.js'
import { rec } from '../helpers/switch-sink.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('adaptive concurrency and Retry-After', () => {
  it('no request starts during the pause a 429 with Retry-After asked for, new batches included', async () => {
    const attempts: { at: number; ids: number[] }[] = []
    const started = Date.now()
    let refused = false
    const sink: Sink = {
      deliver(batch: Batch) {
        attempts.push({ at: Date.now() - started, ids: batch.records.map((r) => r.value().i as number) })
        if (!refused) {
          refused = true
          return Promise.reject(new DeliveryError('HTTP 429', { status: 429, retryAfterMs: 1000 }))
        }
        return Promise.resolve()
      },
    }
    const sender = new QueuedSender(
      { pool: { concurrency: 'adaptive', maxConcurrency: 8 }, batch: { maxRecords: 1, maxWaitMs: 0 }, retry: { baseDelayMs: 10, maxDelayMs: 10 } },
      sink,
      { random: () => 0 },
    )
    for (let i = 0; i < 3; i++) sender.send(rec(i))
    const flushed = sender.flush()
    await vi.advanceTimersByTimeAsync(3000)
    await flushed
    expect(sender.stats().delivered).toBe(3)
    // The first attempt was refused at 0 ms; every other one waits out the second the sink asked for.
    expect(attempts[0]).toEqual({ at: 0, ids: [0] })
    for (const attempt of attempts.slice(1)) expect(attempt.at, JSON.stringify(attempts)).toBeGreaterThanOrEqual(1000)
    await sender.close()
  })
})
