/**
 * `pool.rateLimit` holds for every request a sender makes. It counted first attempts only (p-queue's
 * interval cap counts jobs, and a batch's retries ran inside its job): a sink answering 503 with
 * `rateLimit: { intervalMs: 1000, maxRequests: 2 }` got 14 requests within one second.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { RateLimitOptions } from '../../src/config/delivery-options.js'
import { RateLimiter } from '../../src/pool/rate-limiter.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import { rec, SwitchSink } from '../helpers/switch-sink.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

/** Attempts per fixed window of `intervalMs`, counted from time 0. */
function perWindow(times: readonly number[], intervalMs: number): number[] {
  const counts: number[] = []
  for (const t of times) {
    const window = Math.floor(t / intervalMs)
    counts[window] = (counts[window] ?? 0) + 1
  }
  return Array.from(counts, (n) => n ?? 0)
}

/** A sink failing with 503 that notes when each attempt started and how many records it carried. */
class TimedSink extends SwitchSink {
  readonly starts: { at: number; records: number }[] = []
  readonly t0 = Date.now()
  override deliver(...args: Parameters<SwitchSink['deliver']>): ReturnType<SwitchSink['deliver']> {
    this.starts.push({ at: Date.now() - this.t0, records: args[0].records.length })
    return super.deliver(...args)
  }
}

/** A sender whose sink answers 503 until told otherwise, with short backoffs and no retry limit. */
function failingSender(maxRecords: number, rateLimit: RateLimitOptions, concurrency = 4): { sink: TimedSink; sender: QueuedSender } {
  const sink = new TimedSink()
  sink.mode = 'fail'
  const sender = new QueuedSender(
    {
      name: 'r',
      batch: { maxRecords, maxWaitMs: 0 },
      pool: { concurrency, rateLimit },
      retry: { baseDelayMs: 10, maxDelayMs: 20, maxAttempts: 1000, maxRetryTimeMs: 600_000 },
    },
    sink,
    { random: () => 0.5 },
  )
  return { sink, sender }
}

describe('rate limit', () => {
  it('counts retries: at most maxRequests attempts per window while the sink answers 503', async () => {
    const { sink, sender } = failingSender(1, { intervalMs: 1000, maxRequests: 2 })
    for (let i = 0; i < 4; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(9999)
    const counts = perWindow(
      sink.starts.map((s) => s.at),
      1000,
    )
    // Ten windows, two requests in each: retries wait for the next window like first attempts.
    expect(counts).toEqual(Array(10).fill(2))
    sink.mode = 'accept'
    await vi.advanceTimersByTimeAsync(3000)
    expect(sender.stats()).toMatchObject({ received: 4, delivered: 4, failed: 0 })
    await sender.close({ timeoutMs: 100 })
  })

  it('counts retries against maxRecords too', async () => {
    const { sink, sender } = failingSender(5, { intervalMs: 1000, maxRecords: 10 })
    for (let i = 0; i < 20; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(4999)
    const perSecond: number[] = []
    for (const { at, records } of sink.starts) perSecond[Math.floor(at / 1000)] = (perSecond[Math.floor(at / 1000)] ?? 0) + records
    expect(Array.from(perSecond, (n) => n ?? 0)).toEqual(Array(5).fill(10))
    const closing = sender.close({ timeoutMs: 100 })
    await vi.advanceTimersByTimeAsync(200)
    expect((await closing).stats).toMatchObject({ received: 20, delivered: 0, inFlight: 0, dropped: { closed: 20 } })
  })

  it('a retry waiting for its slot is given up at close, counted', async () => {
    const { sink, sender } = failingSender(1, { intervalMs: 60_000, maxRequests: 1 }, 2)
    sender.send(rec(1))
    await vi.advanceTimersByTimeAsync(1000)
    expect(sink.starts).toHaveLength(1)
    const closing = sender.close({ timeoutMs: 500 })
    await vi.advanceTimersByTimeAsync(500)
    const report = await closing
    expect(report.stats).toMatchObject({ received: 1, delivered: 0, inFlight: 0, dropped: { closed: 1 } })
    expect(sink.starts).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('RateLimiter', () => {
  it('opens a fresh window after intervalMs; a batch larger than the record limit goes alone', () => {
    const limiter = new RateLimiter({ intervalMs: 1000, maxRequests: 3, maxRecords: 10 })
    expect(limiter.allowance()).toBe(10)
    limiter.take(4)
    expect(limiter.admits(6)).toBe(true)
    expect(limiter.admits(7)).toBe(false)
    limiter.take(6)
    expect(limiter.allowance()).toBe(0)
    vi.advanceTimersByTime(1000)
    expect(limiter.admits(25)).toBe(true)
    limiter.take(25)
    expect(limiter.allowance()).toBeLessThan(0)
    vi.advanceTimersByTime(999)
    expect(limiter.msToNextWindow()).toBe(1)
    expect(new RateLimiter(undefined).allowance()).toBe(Infinity)
  })
})
