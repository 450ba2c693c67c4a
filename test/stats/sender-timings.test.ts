import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import { createRecord } from '../../src/input/record.js'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, DeliveryContext, Sink } from '../../src/senders/sender.js'
import type { Histogram } from '../../src/stats/timings.js'
import { useCleanups } from '../helpers/cleanups.js'
import { rec, spooledSender, SwitchSink } from '../helpers/switch-sink.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../../src/stats/timings.js'

/** What one attempt does: take `ms` (fake time), then succeed, or throw `error`. `hang`: never answers. */
type Step = { ms: number; error?: unknown } | 'hang'

/** A sink that plays `steps`, one per attempt (the last one again when they run out). */
class ScriptedSink implements Sink {
  readonly batches: number[] = []
  #n = 0
  constructor(readonly steps: Step[]) {}

  async deliver(batch: Batch, _context: DeliveryContext): Promise<void> {
    const step = this.steps[Math.min(this.#n++, this.steps.length - 1)] as Step
    this.batches.push(batch.records.length)
    if (step === 'hang') return new Promise<void>(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, step.ms))
    if (step.error !== undefined) throw step.error
  }
}

/** Index of the bucket `value` falls in. */
function bucketOf(bounds: readonly number[], value: number): number {
  const i = bounds.findIndex((bound) => value <= bound)
  return i < 0 ? bounds.length : i
}

/** A histogram holding exactly `values`. */
function holding(bounds: readonly number[], values: number[]): Histogram {
  const counts = new Array<number>(bounds.length + 1).fill(0)
  for (const v of values) counts[bucketOf(bounds, v)] = (counts[bucketOf(bounds, v)] as number) + 1
  return { bounds, counts, sum: values.reduce((a, b) => a + b, 0), count: values.length }
}

/**
 * `h` holds `values`, give or take `slack` ms each: the timeout's rejection waits a turn of the event
 * loop, which the fake clock counts as a millisecond. Same buckets, same count.
 */
function expectAbout(h: Histogram | undefined, values: number[], slack: number): void {
  const exact = holding(DURATION_BOUNDS_MS, values)
  expect(h).toMatchObject({ bounds: exact.bounds, counts: exact.counts, count: exact.count })
  expect(h?.sum).toBeGreaterThanOrEqual(exact.sum)
  expect(h?.sum).toBeLessThanOrEqual(exact.sum + slack * values.length)
}

function makeSender(options: CommonSenderOptions, sink: Sink): QueuedSender {
  // random 0.5: a backoff of half its ceiling, so the waits are known.
  return new QueuedSender({ name: 'timed', ...options }, sink, { random: () => 0.5 })
}

const send = (sender: QueuedSender, n: number): void => {
  for (let i = 0; i < n; i++) sender.send(createRecord(`{"level":30,"msg":"m","i":${i}}`))
}

const { tempDir, defer } = useCleanups()

const transient = (): DeliveryError => new DeliveryError('503 from the sink', { status: 503 })

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 28) })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('a queued sender\'s timings', () => {
  it('observes every attempt of a batch retried twice, and one delivery that includes the backoffs', async () => {
    // Attempts of 30 ms; backoffs of 0.5 * min(1000, 1000 * 2^(n-1)) = 500 ms each.
    const sink = new ScriptedSink([{ ms: 30, error: transient() }, { ms: 30, error: transient() }, { ms: 30 }])
    const sender = makeSender({ batch: { maxRecords: 100, maxWaitMs: 200 }, retry: { baseDelayMs: 1000, maxDelayMs: 1000 } }, sink)
    send(sender, 3)
    // Held by batch.maxWaitMs: nothing leaves before 200 ms.
    await vi.advanceTimersByTimeAsync(199)
    expect(sink.batches).toEqual([])
    await vi.advanceTimersByTimeAsync(1 + 30 + 500 + 30 + 500 + 30)
    const stats = sender.stats()
    expect(stats).toMatchObject({ delivered: 3, attempts: 3, retried: 6 })
    expect(stats.timings).toEqual({
      attemptMs: holding(DURATION_BOUNDS_MS, [30, 30, 30]),
      deliveryMs: holding(DURATION_BOUNDS_MS, [30 + 500 + 30 + 500 + 30]),
      batchRecords: holding(BATCH_RECORDS_BOUNDS, [3]),
      queueWaitMs: holding(DURATION_BOUNDS_MS, [200]),
    })
    await sender.close()
  })

  it('times an attempt that times out, and a batch that fails for good (dead-lettered or not) as a delivery', async () => {
    const sink = new ScriptedSink(['hang'])
    const sender = makeSender(
      { batch: { maxRecords: 2, maxWaitMs: 50 }, pool: { timeoutMs: 400 }, retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 } },
      sink,
    )
    send(sender, 2)
    // Due at once (2 records), attempts of 400 ms (timed out) with a 50 ms backoff between; the
    // timeout's rejection waits one turn of the loop (setImmediate, faked too).
    await vi.advanceTimersByTimeAsync(400 + 50 + 400 + 10)
    const { failed, attempts, timings } = sender.stats()
    expect({ failed, attempts }).toEqual({ failed: 2, attempts: 2 })
    expectAbout(timings?.attemptMs, [400, 400], 5)
    expectAbout(timings?.deliveryMs, [850], 10)
    // Cut at once by batch.maxRecords: no wait in the queue.
    expect(timings?.queueWaitMs).toEqual(holding(DURATION_BOUNDS_MS, [0]))
    expect(timings?.batchRecords).toEqual(holding(BATCH_RECORDS_BOUNDS, [2]))
    await sender.close({ timeoutMs: 10 })
  })

  it('observes a permanent failure after one attempt', async () => {
    const sink = new ScriptedSink([{ ms: 5, error: new DeliveryError('400 bad request', { status: 400, permanent: true }) }])
    const sender = makeSender({ batch: { maxRecords: 1, maxWaitMs: 50 } }, sink)
    send(sender, 2)
    await vi.advanceTimersByTimeAsync(20)
    const { failed, timings } = sender.stats()
    expect(failed).toBe(2)
    expect(timings?.attemptMs).toEqual(holding(DURATION_BOUNDS_MS, [5, 5]))
    expect(timings?.deliveryMs).toEqual(holding(DURATION_BOUNDS_MS, [5, 5]))
    expect(timings?.batchRecords).toEqual(holding(BATCH_RECORDS_BOUNDS, [1, 1]))
    await sender.close()
  })

  it('does not count a batch given up at the close deadline as a delivery', async () => {
    const sink = new ScriptedSink(['hang'])
    const sender = makeSender({ batch: { maxRecords: 1, maxWaitMs: 50 }, pool: { timeoutMs: 60_000 } }, sink)
    send(sender, 1)
    await vi.advanceTimersByTimeAsync(10)
    const closing = sender.close({ timeoutMs: 100 })
    await vi.advanceTimersByTimeAsync(200)
    const report = await closing
    expect(report.abandonedAtDeadline).toBe(1)
    const { timings } = sender.stats()
    expect(timings?.deliveryMs.count).toBe(0)
    expect(timings?.batchRecords.count).toBe(1)
    // The sink ignores its signal and never answers: an attempt given up on has no duration to observe.
    expect(timings?.attemptMs.count).toBe(0)
  })

  it('observes per batch: 1000 records in batches of 100 make 10 observations, not 1000', async () => {
    const sink = new ScriptedSink([{ ms: 1 }])
    const sender = makeSender({ batch: { maxRecords: 100, maxWaitMs: 50 }, pool: { concurrency: 4 } }, sink)
    send(sender, 1000)
    await vi.advanceTimersByTimeAsync(100)
    const { delivered, timings } = sender.stats()
    expect(delivered).toBe(1000)
    expect(timings?.batchRecords).toEqual(holding(BATCH_RECORDS_BOUNDS, new Array(10).fill(100)))
    expect(timings?.queueWaitMs.count).toBe(10)
    expect(timings?.deliveryMs.count).toBe(10)
    expect(timings?.attemptMs.count).toBe(10)
    await sender.close()
  })

  it('a batch taken in part and its rest retried is one delivery, ended when the rest is accepted', async () => {
    let n = 0
    const sink: Sink = {
      async deliver(batch) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        // The first attempt: record 0 accepted, record 1 refused for good, record 2 to be tried again.
        if (n++ === 0) return { rejected: [{ index: 1, error: 'mapping' }], retry: [{ index: 2, error: '429' }] }
        expect(batch.records).toHaveLength(1)
        return undefined
      },
    }
    const sender = makeSender({ batch: { maxRecords: 3, maxWaitMs: 50 }, retry: { baseDelayMs: 100, maxDelayMs: 100 } }, sink)
    send(sender, 3)
    await vi.advanceTimersByTimeAsync(10 + 50 + 10)
    const { delivered, failed, timings } = sender.stats()
    expect({ delivered, failed }).toEqual({ delivered: 2, failed: 1 })
    expect(timings?.attemptMs).toEqual(holding(DURATION_BOUNDS_MS, [10, 10]))
    expect(timings?.deliveryMs).toEqual(holding(DURATION_BOUNDS_MS, [70]))
    expect(timings?.batchRecords).toEqual(holding(BATCH_RECORDS_BOUNDS, [3]))
    await sender.close()
  })

  it('leaves batches kept in the spool out of the deliveries, and recovered ones out of the queue wait', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = spooledSender(defer, dir, sink)
    for (let i = 0; i < 25; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(150)
    const report = await first.close()
    expect(report).toMatchObject({ spooled: 25, undelivered: 0 })
    // Attempts were made and timed; no batch came to an end: they wait on disk for the next start.
    expect(report.stats.timings?.attemptMs.count).toBeGreaterThan(0)
    expect(report.stats.timings?.deliveryMs.count).toBe(0)

    // An hour of downtime: the recovered records' time in the queue would be that hour.
    vi.advanceTimersByTime(3_600_000)
    sink.mode = 'accept'
    const second = spooledSender(defer, dir, sink)
    second.send(rec(1000))
    await vi.advanceTimersByTimeAsync(0)
    await second.flush()
    const { delivered, recovered, timings } = second.stats()
    expect({ delivered, recovered }).toEqual({ delivered: 26, recovered: 25 })
    // Every batch counts its size and its delivery; only the one cut from the queue has a queue wait.
    const batches = timings?.batchRecords.count ?? 0
    expect(batches).toBeGreaterThanOrEqual(4)
    expect(timings?.batchRecords.sum).toBe(26)
    expect(timings?.deliveryMs.count).toBe(batches)
    expect(timings?.queueWaitMs.count).toBe(1)
    expect(timings?.queueWaitMs.sum).toBeLessThan(1000)
  })
})

describe('an attempt cut short by the close deadline', () => {
  it('is not observed, even when the sink honours its signal and rejects (as the built-in sinks do)', async () => {
    // Hangs until its signal fires, then rejects with the signal's reason: the http sink's behaviour.
    const sink: Sink = {
      deliver: (_batch, { signal }) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    }
    const sender = makeSender({ batch: { maxRecords: 1, maxWaitMs: 50 }, pool: { timeoutMs: 60_000 } }, sink)
    send(sender, 1)
    await vi.advanceTimersByTimeAsync(10)
    const closing = sender.close({ timeoutMs: 100 })
    await vi.advanceTimersByTimeAsync(200)
    const report = await closing
    expect(report.abandonedAtDeadline).toBe(1)
    const { timings } = sender.stats()
    expect(timings?.deliveryMs.count).toBe(0)
    // Its "duration" would be the close deadline's, not a request's.
    expect(timings?.attemptMs.count).toBe(0)
  })
})
