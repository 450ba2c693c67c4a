/**
 * AdaptiveLimit in a discrete-event simulation: a client that always has work starts requests up to the
 * limit against a sink taking `capacity` at a time and refusing the rest at once. Simulated time only.
 */
import { describe, expect, it } from 'vitest'
import { AdaptiveLimit, MAX_PROBE_WINDOWS, type AdaptiveLimitOptions } from '../../src/pool/adaptive-limit.js'

interface Backend {
  /** Requests the sink takes at a time; the rest get 'overloaded' at once. */
  capacity: number
  /** Round-trip time of a request taken while `busy` requests (itself included) are at the sink. */
  rtt: (busy: number) => number
}

const hardLimit = (capacity: number): Backend => ({ capacity, rtt: () => 20 })

class Simulation {
  readonly limiter: AdaptiveLimit
  now = 0
  requests = 0
  overloaded = 0
  minLimit = Number.POSITIVE_INFINITY
  maxLimit = 0
  #busy = 0
  #inFlight = 0
  #pending: { at: number; rtt: number }[] = []
  #since = 0
  #limitTime = 0
  #inFlightTime = 0

  constructor(
    readonly backend: Backend,
    options: Omit<AdaptiveLimitOptions, 'now'>,
  ) {
    this.limiter = new AdaptiveLimit({ ...options, now: () => this.now })
    this.#observe()
  }

  /** Runs until `count` more requests have started (their answers may still be pending). */
  run(count: number): this {
    const stop = this.requests + count
    for (;;) {
      while (this.#inFlight < this.limiter.limit && this.requests < stop) this.#start()
      if (this.requests >= stop) return this
      const next = this.#pending.shift()
      if (!next) throw new Error('nothing in flight and no request may start')
      this.#advance(next.at)
      this.#busy--
      this.#inFlight--
      this.limiter.finished({ rttMs: next.rtt, outcome: 'ok' })
      this.#observe()
    }
  }

  /** Starts the counts of requests, refusals and means afresh. */
  resetMeters(): void {
    this.requests = this.overloaded = this.#limitTime = this.#inFlightTime = 0
    this.#since = this.now
    this.minLimit = this.maxLimit = this.limiter.limit
  }

  get overloadShare(): number {
    return this.overloaded / this.requests
  }
  /** Time-weighted means since the last reset. */
  get meanLimit(): number {
    return this.#limitTime / (this.now - this.#since)
  }
  get meanInFlight(): number {
    return this.#inFlightTime / (this.now - this.#since)
  }

  #start(): void {
    this.requests++
    this.#inFlight++
    this.limiter.started()
    if (this.#busy >= this.backend.capacity) {
      this.overloaded++
      this.#inFlight--
      this.limiter.finished({ rttMs: 0, outcome: 'overloaded' })
    } else {
      this.#busy++
      const rtt = this.backend.rtt(this.#busy)
      const at = this.now + rtt
      const i = this.#pending.findIndex((p) => p.at > at)
      this.#pending.splice(i < 0 ? this.#pending.length : i, 0, { at, rtt })
    }
    this.#observe()
  }

  #advance(to: number): void {
    this.#limitTime += this.limiter.limit * (to - this.now)
    this.#inFlightTime += this.#inFlight * (to - this.now)
    this.now = to
  }

  #observe(): void {
    this.minLimit = Math.min(this.minLimit, this.limiter.limit)
    this.maxLimit = Math.max(this.maxLimit, this.limiter.limit)
  }
}

describe('AdaptiveLimit against a sink taking 4 requests at a time', () => {
  it('answers fewer than 5% of 100,000 requests with 429 and holds about 4 in flight', () => {
    const sim = new Simulation(hardLimit(4), { max: 64 }).run(100_000)
    expect(sim.overloadShare).toBeLessThan(0.05)
    expect(sim.meanInFlight).toBeGreaterThan(3.7)
    expect(sim.meanInFlight).toBeLessThanOrEqual(4)
    expect(Math.abs(sim.meanLimit - 4)).toBeLessThan(0.3)
    expect(sim.limiter.ceiling).toBe(5)
  })

  it('gets several times more 429s without the ceiling memory (plain AIMD probes every few round trips)', () => {
    const withMemory = new Simulation(hardLimit(4), { max: 64 }).run(100_000)
    const plain = new Simulation(hardLimit(4), { max: 64, rememberCeiling: false }).run(100_000)
    expect(plain.limiter.ceiling).toBeUndefined()
    expect(plain.overloadShare).toBeGreaterThan(0.05)
    // About 11% against 0.4% here: one refused probe every other window, against one every 64.
    expect(plain.overloadShare).toBeGreaterThan(10 * withMemory.overloadShare)
  })

  it('probes at the ceiling less and less often while the probes fail', () => {
    const sim = new Simulation(hardLimit(4), { max: 64 })
    const refusedAt: number[] = []
    for (let i = 0; i < 40_000; i++) {
      const before = sim.overloaded
      sim.run(1)
      if (sim.overloaded > before) refusedAt.push(sim.requests)
    }
    const gaps = refusedAt.slice(1).map((at, i) => at - (refusedAt[i] as number))
    // Once the wait has doubled up to its cap, a probe comes every MAX_PROBE_WINDOWS windows of 4.
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(4 * MAX_PROBE_WINDOWS)
    expect(gaps.at(-1)).toBeGreaterThan(4 * (gaps[0] as number))
  })
})

describe('bounds', () => {
  it.each([
    { capacity: 4, min: 1, max: 64 },
    { capacity: 100, min: 2, max: 6 },
    { capacity: 1, min: 3, max: 8 },
    { capacity: 7, min: 5, max: 5 },
  ])('never leaves [min, max] (capacity $capacity, min $min, max $max)', ({ capacity, min, max }) => {
    const sim = new Simulation(hardLimit(capacity), { min, max, initial: max }).run(20_000)
    expect(sim.minLimit).toBeGreaterThanOrEqual(min)
    expect(sim.maxLimit).toBeLessThanOrEqual(max)
    expect(Number.isInteger(sim.limiter.limit)).toBe(true)
  })

  it('climbs to max and stays there when the sink has room for more', () => {
    const sim = new Simulation(hardLimit(100), { min: 2, max: 6 }).run(5_000)
    expect(sim.limiter.limit).toBe(6)
    expect(sim.overloaded).toBe(0)
  })

  it('repeated overloads take the limit down to min, never below', () => {
    let now = 0
    const limiter = new AdaptiveLimit({ min: 2, max: 32, initial: 32, now: () => now })
    const seen: number[] = []
    for (let i = 0; i < 200; i++) {
      now += 5
      limiter.started()
      limiter.finished({ rttMs: 5, outcome: 'overloaded' })
      seen.push(limiter.limit)
    }
    expect(limiter.limit).toBe(2)
    expect(Math.min(...seen)).toBe(2)
    // Each cut takes 10% (at least one): 32 -> 28 -> 25 -> ... -> 2 in about a dozen steps, not one.
    expect(seen.indexOf(2)).toBeGreaterThan(10)
    expect(limiter.stats().decreases).toBe(seen.indexOf(2) + 1)
  })

  it('a burst of refusals to requests sent under a higher limit lands near the capacity, not at min', () => {
    let now = 0
    const limiter = new AdaptiveLimit({ max: 32, initial: 32, now: () => now })
    for (let i = 0; i < 32; i++) limiter.started()
    now += 5
    // A sink taking 4: the other 28 come back refused together.
    for (let i = 0; i < 28; i++) limiter.finished({ rttMs: 5, outcome: 'overloaded' })
    expect([4, 5, 6]).toContain(limiter.limit)
  })
})

describe('round-trip times', () => {
  it('settles near the knee when the round trip rises with concurrency (no 429s)', () => {
    const knee: Backend = { capacity: Number.POSITIVE_INFINITY, rtt: (busy) => 20 + 10 * Math.max(0, busy - 4) }
    const sim = new Simulation(knee, { max: 64 }).run(5_000)
    sim.resetMeters()
    sim.run(50_000)
    expect(sim.overloaded).toBe(0)
    expect(sim.maxLimit).toBeLessThanOrEqual(5)
    expect(sim.meanLimit).toBeGreaterThan(3.7)
    expect(sim.meanLimit).toBeLessThan(4.5)
    expect(sim.limiter.stats().baselineRttMs).toBeCloseTo(20, 0)
  })

  it('forgets the ceiling when the sink’s baseline round trip changes, instead of waiting to probe it', () => {
    const backend: Backend = { capacity: 4, rtt: () => 200 }
    const sim = new Simulation(backend, { max: 64 }).run(50_000)
    expect(sim.limiter.ceiling).toBe(5)
    // Faster and roomier (another path, a scaled-up sink): the old ceiling says nothing about it.
    backend.rtt = () => 20
    backend.capacity = 12
    const from = sim.limiter.stats().windows
    for (let i = 0; sim.limiter.limit <= 5 && i < 100_000; i++) sim.run(1)
    expect(sim.limiter.stats().windows - from).toBeLessThan(MAX_PROBE_WINDOWS / 4)
    expect(sim.limiter.stats().baselineRttMs).toBeLessThan(150)
  })
})

describe('a sink that gains capacity', () => {
  it('is found again: the limit passes the old ceiling within a bounded number of windows', () => {
    const backend = hardLimit(4)
    const sim = new Simulation(backend, { max: 64 }).run(50_000)
    expect(sim.limiter.ceiling).toBe(5)
    backend.capacity = 12
    const from = sim.limiter.stats().windows
    for (let i = 0; sim.limiter.limit <= 5 && i < 100_000; i++) sim.run(1)
    const windows = sim.limiter.stats().windows - from
    expect(windows).toBeLessThanOrEqual(MAX_PROBE_WINDOWS + 2)
    sim.run(5_000)
    sim.resetMeters()
    sim.run(50_000)
    expect(sim.limiter.ceiling).toBe(13)
    expect(sim.meanLimit).toBeGreaterThan(11.5)
    expect(sim.overloadShare).toBeLessThan(0.02)
  })
})

describe('failed', () => {
  it('changes neither the limit nor the windows', () => {
    let now = 0
    const limiter = new AdaptiveLimit({ max: 16, initial: 6, now: () => now })
    limiter.started()
    now += 20
    limiter.finished({ rttMs: 20, outcome: 'ok' })
    const window = (outcome: 'ok' | 'failed', rttMs: number): void => {
      for (let j = 0; j < 6; j++) limiter.started()
      now += 20
      for (let j = 0; j < 6; j++) limiter.finished({ rttMs, outcome })
    }
    const before = limiter.stats()
    for (let i = 0; i < 100; i++) window('failed', 20 + i)
    expect(limiter.stats()).toEqual(before)
    // A saturated window of ok answers does raise it: the loop above could have shown a change.
    window('ok', 20)
    expect(limiter.limit).toBe(before.limit + 1)
  })
})
