/**
 * The dispatcher's gate under `pool.concurrency: 'adaptive'`: attempts in progress (not jobs) against
 * the AdaptiveLimit, retries waiting for a slot before new jobs, every attempt fed to the limit, and the
 * pause after a 429 without Retry-After. An injected clock for round trips, fake timers for pauses.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ResolvedPoolOptions } from '../../src/config/delivery-options.js'
import type { AttemptOutcome } from '../../src/pool/attempt.js'
import { DeliveryError, DeliveryTimeoutError } from '../../src/pool/delivery-error.js'
import { Dispatcher } from '../../src/pool/dispatcher.js'

interface Job {
  readonly id: number
}

const OK: AttemptOutcome = { ok: true, result: undefined }
const TOO_MANY: AttemptOutcome = { ok: false, error: new DeliveryError('HTTP 429', { status: 429 }) }

function adaptivePool(max = 8): ResolvedPoolOptions {
  return { concurrency: max, adaptive: true, maxConcurrency: max, timeoutMs: 10_000, rateLimit: undefined }
}

/** A dispatcher on a clock the test moves; `wakes` counts the sender's wake-ups. */
function setup(pool: ResolvedPoolOptions = adaptivePool(), maxPauseMs = 5000) {
  const clock = { now: 0 }
  const stop = new AbortController()
  const counts = { wakes: 0 }
  const dispatcher = new Dispatcher<Job>(pool, () => counts.wakes++, stop.signal, { maxPauseMs, now: () => clock.now })
  let next = 0
  const launch = (): Job => {
    const job = { id: next++ }
    dispatcher.launch(job, () => new Promise(() => {}))
    return job
  }
  /** One attempt of `job` taking `rttMs` on the clock, ending with `outcome`. */
  const attempt = (job: Job, rttMs: number, outcome: AttemptOutcome = OK): void => {
    const ticket = dispatcher.attemptStarted()
    clock.now += rttMs
    dispatcher.attemptEnded(job, ticket, outcome)
  }
  /** One round: as many jobs as the gate lets in, their first attempts in flight together for `rttMs`, all delivered. */
  const round = (rttMs: number): void => {
    const jobs: Job[] = []
    while (dispatcher.hasFreeSlot()) jobs.push(launch())
    const tickets = jobs.map(() => dispatcher.attemptStarted())
    clock.now += rttMs
    jobs.forEach((job, i) => dispatcher.attemptEnded(job, tickets[i], OK))
    for (const job of jobs) dispatcher.finished(job)
  }
  /** Rounds of 20 ms until the limit is `limit`. */
  const climbTo = (limit: number): void => {
    for (let n = 0; n < 50 && (dispatcher.concurrencyStats()?.limit ?? 0) < limit; n++) round(20)
    expect(dispatcher.concurrencyStats()?.limit).toBe(limit)
  }
  return { dispatcher, clock, stop, counts, launch, attempt, round, climbTo }
}

/** Lets promise chains run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('fixed concurrency', () => {
  it('has no gate: jobs count, not attempts, and the attempt hooks do nothing', async () => {
    const stop = new AbortController()
    const dispatcher = new Dispatcher<Job>({ concurrency: 2, timeoutMs: 1000, rateLimit: undefined }, () => {}, stop.signal)
    expect(dispatcher.adaptive).toBe(false)
    const a = { id: 1 }
    dispatcher.launch(a, () => new Promise(() => {}))
    dispatcher.launch({ id: 2 }, () => new Promise(() => {}))
    expect(dispatcher.attemptStarted()).toBeUndefined()
    dispatcher.attemptEnded(a, undefined, TOO_MANY)
    // A job waiting out a backoff still takes its place among the `concurrency` jobs.
    expect(dispatcher.hasFreeSlot()).toBe(false)
    await expect(dispatcher.acquire(a)).resolves.toBe(true)
    expect(dispatcher.paused()).toBe(false)
    expect(dispatcher.concurrencyStats()).toBeUndefined()
    dispatcher.finished(a)
    expect(dispatcher.hasFreeSlot()).toBe(true)
  })
})

describe('adaptive gate', () => {
  it('starts at one attempt; a slot is held from launch, freed when the attempt ends, not when the job settles', () => {
    const { dispatcher, launch, attempt, counts } = setup()
    expect(dispatcher.adaptive).toBe(true)
    expect(dispatcher.hasFreeSlot()).toBe(true)
    const job = launch()
    // Its first attempt has not started yet: the slot is taken already.
    expect(dispatcher.hasFreeSlot()).toBe(false)
    attempt(job, 20, TOO_MANY)
    // In backoff: still in flight, but it holds no slot, and the sender was woken for a new job.
    expect(dispatcher.inflight.has(job)).toBe(true)
    expect(dispatcher.hasFreeSlot()).toBe(true)
    expect(counts.wakes).toBeGreaterThan(0)
    expect(dispatcher.concurrencyStats()).toMatchObject({ limit: 1, max: 8, active: 0 })
  })

  it('a retry waits for a slot, gets it before new jobs when an attempt ends, and holds it until its attempt ends', async () => {
    const { dispatcher, launch, attempt } = setup()
    const first = launch()
    const retrying = { id: 99 }
    dispatcher.inflight.add(retrying)
    let admitted: boolean | undefined
    void dispatcher.acquire(retrying).then((ok) => (admitted = ok))
    await settle()
    expect(admitted).toBeUndefined()
    // A failure that says nothing about load: the limit stays at 1.
    attempt(first, 10, { ok: false, error: new DeliveryError('HTTP 400', { status: 400 }) })
    await settle()
    expect(admitted).toBe(true)
    // The freed slot went to the retry: no new job may start.
    expect(dispatcher.hasFreeSlot()).toBe(false)
    attempt(retrying, 10)
    expect(dispatcher.hasFreeSlot()).toBe(true)
  })

  it('no new job starts while a retry waits for a slot', async () => {
    const { dispatcher, launch } = setup()
    launch()
    const retrying = { id: 99 }
    void dispatcher.acquire(retrying)
    await Promise.resolve()
    expect(dispatcher.hasFreeSlot()).toBe(false)
  })

  it('a retry waiting for a slot is let go when the sender stops (close does not hang on it)', async () => {
    const { dispatcher, launch, stop } = setup()
    launch()
    const waiting = dispatcher.acquire({ id: 99 })
    stop.abort(new Error('close deadline'))
    await expect(waiting).resolves.toBe(false)
    await expect(dispatcher.acquire({ id: 100 })).resolves.toBe(false)
  })

  it('a job settled before its first attempt gives its slot back', () => {
    const { dispatcher, launch } = setup()
    const job = launch()
    expect(dispatcher.hasFreeSlot()).toBe(false)
    dispatcher.finished(job)
    expect(dispatcher.hasFreeSlot()).toBe(true)
    expect(dispatcher.concurrencyStats()?.active).toBe(0)
  })

  it('climbs one per clean saturated round trip up to maxConcurrency, never above', () => {
    const { dispatcher, round } = setup(adaptivePool(3))
    const seen: number[] = []
    for (let n = 0; n < 20; n++) {
      round(20)
      seen.push(dispatcher.concurrencyStats()?.limit as number)
    }
    expect(seen[0]).toBe(2)
    expect(seen.at(-1)).toBe(3)
    expect(seen.every((limit, i) => i === 0 || limit >= (seen[i - 1] as number))).toBe(true)
    expect(dispatcher.concurrencyStats()).toMatchObject({ limit: 3, max: 3, peak: 3, increases: 2, decreases: 0, baselineRttMs: 20 })
  })

  it.each([
    ['a 429', TOO_MANY],
    ['a 503', { ok: false, error: new DeliveryError('HTTP 503', { status: 503 }) }],
    ['a timed-out attempt', { ok: false, error: new Error('aborted'), timedOut: true }],
    ['a DeliveryTimeoutError', { ok: false, error: new DeliveryTimeoutError(100) }],
    ['records refused 429 in a partial result (Elasticsearch)', { ok: true, result: { retry: [{ index: 0, status: 429 }] } }],
  ] as [string, AttemptOutcome][])('cuts the limit on %s', (_name, outcome) => {
    const { dispatcher, launch, attempt, climbTo } = setup()
    climbTo(4)
    const job = launch()
    attempt(job, 5, outcome)
    expect(dispatcher.concurrencyStats()).toMatchObject({ limit: 3, decreases: 1, ceiling: 4 })
  })

  it('does not cut on other failures (a 400, a refused connection): they say nothing about load', () => {
    const { dispatcher, launch, attempt, climbTo } = setup()
    climbTo(4)
    attempt(launch(), 5, { ok: false, error: new DeliveryError('HTTP 400', { status: 400, permanent: true }) })
    attempt(launch(), 5, { ok: false, error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
    expect(dispatcher.concurrencyStats()).toMatchObject({ limit: 4, decreases: 0 })
  })

  it('an attempt cut short by close reports nothing to the limit, and frees its slot', () => {
    const { dispatcher, launch, attempt, stop, climbTo } = setup()
    climbTo(4)
    void attempt
    const job = launch()
    const ticket = dispatcher.attemptStarted()
    stop.abort(new Error('close deadline'))
    dispatcher.attemptEnded(job, ticket, { ok: false, error: new DeliveryTimeoutError(100), timedOut: true })
    expect(dispatcher.concurrencyStats()).toMatchObject({ limit: 4, decreases: 0, active: 0 })
  })
})

describe('a 429 without Retry-After', () => {
  it('pauses new jobs for about a round trip, doubling with each one in a row, reset by a success, at most maxPauseMs', () => {
    vi.useFakeTimers()
    const { dispatcher, launch, attempt, climbTo } = setup(adaptivePool(), 150)
    climbTo(2)
    const pauseAfter429 = (): number => {
      const start = Date.now()
      attempt(launch(), 0, TOO_MANY)
      // Our guess, not the sink's word: close and a recovery do not treat it as a Retry-After.
      expect(dispatcher.paused()).toBe(false)
      let ms = 0
      while (dispatcher.holdsBack()) {
        vi.advanceTimersByTime(1)
        ms++
      }
      expect(Date.now() - start).toBe(ms)
      return ms
    }
    // The baseline round trip is 20 ms (climbTo's).
    expect(pauseAfter429()).toBe(20)
    expect(pauseAfter429()).toBe(40)
    expect(pauseAfter429()).toBe(80)
    expect(pauseAfter429()).toBe(150)
    attempt(launch(), 20, OK)
    expect(pauseAfter429()).toBe(20)
    expect(dispatcher.concurrencyStats()?.pauses).toBe(5)
  })

  it('refusals of requests sent before the pause began do not grow it (one overload seen late)', () => {
    vi.useFakeTimers()
    const { dispatcher, launch, clock } = setup()
    const jobs = [launch()]
    const early = dispatcher.attemptStarted()
    const late = dispatcher.attemptStarted()
    clock.now += 1
    dispatcher.attemptEnded(jobs[0] as Job, early, TOO_MANY)
    dispatcher.attemptEnded({ id: 50 }, late, TOO_MANY)
    expect(dispatcher.concurrencyStats()?.pauses).toBe(1)
  })

  it('a 429 with Retry-After leaves the pause to the retry loop (the sink said how long)', () => {
    const { dispatcher, launch, attempt } = setup()
    attempt(launch(), 5, { ok: false, error: new DeliveryError('HTTP 429', { status: 429, retryAfterMs: 1000 }) })
    expect(dispatcher.holdsBack()).toBe(false)
    expect(dispatcher.concurrencyStats()).toMatchObject({ pauses: 0 })
  })
})
