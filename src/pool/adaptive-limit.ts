/** Options of an {@link AdaptiveLimit}. */
export interface AdaptiveLimitOptions {
  /** Highest limit (`pool.maxConcurrency`); an integer >= `min`. */
  readonly max: number
  /**
   * Lowest limit: cuts never go below it.
   * @default 1
   */
  readonly min?: number
  /**
   * Limit to start at, clamped to [min, max]. Starting low and climbing costs a few round trips;
   * starting high against a small sink costs a burst of 429s.
   * @default min
   */
  readonly initial?: number
  /**
   * Factor of a cut (always at least one less). 0.9 as Vector's ARC, not TCP's 0.5: a failed probe should
   * land just below the sink's capacity (5 -> 4), not halve throughput for several windows; and each
   * overload of a request started under the current limit cuts again, so an overshoot still comes down fast.
   * @default 0.9
   */
  readonly decreaseRatio?: number
  /**
   * How far a window's mean round-trip time may exceed the baseline, as a fraction of it, and still count
   * as near it; beyond, the sink is slowing down and the limit is cut. Relative, not in deviations (as
   * Vector): a steady sink's deviation is near 0, which would turn any jitter into a cut.
   * @default 0.25
   */
  readonly rttDeviationThreshold?: number
  /**
   * Whether to remember the limit at which the last overload came (the ceiling) and probe at or above
   * it only after a number of clean windows that doubles with each failed probe. Without it, plain AIMD
   * against a hard limit probes past it every other window (about one 429 in ten requests).
   * @default true
   */
  readonly rememberCeiling?: boolean
  /**
   * Clock in milliseconds; injected so tests can drive it.
   * @default performance.now
   */
  readonly now?: () => number
}

/** How a request ended: 'overloaded' is back-pressure (429, 503, a timeout), 'failed' any other error. */
export interface AdaptiveResult {
  /** On the clock of `now`: the request is taken to have started `rttMs` before `finished` is called. */
  readonly rttMs: number
  readonly outcome: 'ok' | 'overloaded' | 'failed'
}

/** A snapshot for stats and metrics: windows closed, and raises and cuts of the limit so far. */
export interface AdaptiveLimitStats {
  readonly limit: number
  readonly ceiling: number | undefined
  readonly baselineRttMs: number | undefined
  readonly windows: number
  readonly increases: number
  readonly decreases: number
}

/** Clean windows below the ceiling before the first probe at it. */
export const FIRST_PROBE_WINDOWS = 4
/**
 * Most clean windows between probes: how long a sink that gained room may go unnoticed (64 round
 * trips), while against a hard limit of 4 failed probes cost one 429 in about 4 * 64 requests.
 */
export const MAX_PROBE_WINDOWS = 64
/** Weight of a new window in the baseline's moving average. */
const BASELINE_WEIGHT = 0.2

/**
 * An AIMD concurrency limit, like Vector's adaptive request concurrency: once per window of about one
 * baseline round trip it adds one if the window was saturated, clean and not slower than the baseline,
 * and cuts multiplicatively on an overload or a window well slower than the baseline. Pure: the caller
 * reports each request's start and end; no timers.
 *
 * @example
 * const limit = new AdaptiveLimit({ max: 64 })
 * if (inFlight < limit.limit) { limit.started(); ... limit.finished({ rttMs, outcome: 'ok' }) }
 */
export class AdaptiveLimit {
  readonly #min: number
  readonly #max: number
  readonly #decreaseRatio: number
  readonly #threshold: number
  readonly #rememberCeiling: boolean
  readonly #now: () => number
  #limit: number
  #inFlight = 0
  #baseline: number | undefined
  #ceiling: number | undefined
  #ceilingBaseline: number | undefined
  #probeWindows = FIRST_PROBE_WINDOWS
  #cleanWindows = 0
  #windowStart: number
  #changedAt = Number.NEGATIVE_INFINITY
  #rttSum = 0
  #rttCount = 0
  #saturated = false
  readonly #counts = { windows: 0, increases: 0, decreases: 0 }

  constructor(options: AdaptiveLimitOptions) {
    const { max, min = 1, decreaseRatio = 0.9, rttDeviationThreshold = 0.25 } = options
    if (!Number.isInteger(min) || min < 1) throw new RangeError('adaptive limit: min must be an integer >= 1')
    if (!Number.isInteger(max) || max < min) throw new RangeError('adaptive limit: max must be an integer >= min')
    if (!(decreaseRatio > 0 && decreaseRatio < 1)) throw new RangeError('adaptive limit: decreaseRatio must be in (0, 1)')
    if (!(rttDeviationThreshold > 0)) throw new RangeError('adaptive limit: rttDeviationThreshold must be > 0')
    this.#min = min
    this.#max = max
    this.#decreaseRatio = decreaseRatio
    this.#threshold = rttDeviationThreshold
    this.#rememberCeiling = options.rememberCeiling ?? true
    this.#now = options.now ?? (() => performance.now())
    this.#limit = Math.min(max, Math.max(min, Math.floor(options.initial ?? min)))
    this.#windowStart = this.#now()
  }

  /** Requests that may be in flight now: an integer in [min, max]. */
  get limit(): number {
    return this.#limit
  }

  /** The limit at which the last overload came, while probing at it is being held back. */
  get ceiling(): number | undefined {
    return this.#ceiling
  }

  /** A snapshot for stats and metrics: the limit, the ceiling, the baseline and the adjustments so far. */
  stats(): AdaptiveLimitStats {
    return { limit: this.#limit, ceiling: this.#ceiling, baselineRttMs: this.#baseline, ...this.#counts }
  }

  /** Call when a request starts. */
  started(): void {
    this.#inFlight++
    // An increase is earned only by a window that used the limit: an idle sender learns nothing about it.
    if (this.#inFlight >= this.#limit) this.#saturated = true
  }

  /** Call when a request ends, with its round-trip time and outcome. */
  finished(result: AdaptiveResult): void {
    const before = this.#inFlight
    this.#inFlight = Math.max(0, before - 1)
    // Any other error says nothing about the sink's capacity.
    if (result.outcome === 'failed') return
    const now = this.#now()
    if (result.outcome === 'overloaded') {
      // Cut at once, not at the window's end: a slot freed by a quick 429 would be refilled and refused
      // again. A request beyond the current limit started before the last cut, which accounts for it: a
      // burst of refusals cuts about once per tenth of the limit drained and lands near the capacity.
      if (before <= this.#limit) this.#decrease(now)
      return
    }
    // A request started before the limit last changed (or at that instant) measures the old limit:
    // counting it would judge a raised limit by answers that never saw it (and raise again before the
    // slowdown shows), or cut again after a cut for a slowdown the cut already answered.
    if (now - result.rttMs <= this.#changedAt) return
    this.#rttSum += result.rttMs
    this.#rttCount++
    // The first window ends at the first response, when there is no baseline yet.
    if (now - this.#windowStart >= (this.#baseline ?? 0)) this.#closeWindow(now)
  }

  #closeWindow(now: number): void {
    this.#counts.windows++
    const mean = this.#rttSum / this.#rttCount
    const baseline = this.#baseline
    const slow = baseline !== undefined && mean > baseline * (1 + this.#threshold)
    if (slow && this.#limit > this.#min) {
      // Slow windows stay out of the baseline, or queueing would raise it step by step past the knee.
      this.#decrease(now)
      return
    }
    // At min a slow window cannot be helped by cutting: the sink itself got slower, so it is the new normal.
    this.#baseline = baseline === undefined ? mean : baseline + BASELINE_WEIGHT * (mean - baseline)
    this.#forgetStaleCeiling()
    if (!slow && this.#saturated) this.#increase(now)
    this.#resetWindow(now)
  }

  #increase(now: number): void {
    if (this.#limit >= this.#max) return
    const ceiling = this.#ceiling
    if (ceiling !== undefined) {
      if (this.#limit >= ceiling) {
        // A probe at the ceiling came through clean: the sink has more room now.
        this.#forgetCeiling()
      } else if (this.#limit + 1 >= ceiling) {
        this.#cleanWindows++
        if (this.#cleanWindows < this.#probeWindows) return
        this.#cleanWindows = 0
      }
    }
    this.#limit++
    this.#counts.increases++
    this.#changedAt = now
  }

  #decrease(now: number): void {
    const at = this.#limit
    if (this.#rememberCeiling) {
      if (this.#ceiling !== undefined && at >= this.#ceiling) {
        this.#probeWindows = Math.min(MAX_PROBE_WINDOWS, this.#probeWindows * 2)
      } else {
        // First overload, or one below the known ceiling (the sink lost capacity): a new ceiling.
        this.#ceiling = at
        this.#ceilingBaseline = this.#baseline
        this.#probeWindows = FIRST_PROBE_WINDOWS
      }
    }
    this.#cleanWindows = 0
    const next = Math.max(this.#min, Math.min(at - 1, Math.floor(at * this.#decreaseRatio)))
    if (next < at) {
      this.#limit = next
      this.#counts.decreases++
      this.#changedAt = now
    }
    this.#resetWindow(now)
  }

  /** A ceiling learnt against another round-trip time (another sink, another path) no longer holds. */
  #forgetStaleCeiling(): void {
    const was = this.#ceilingBaseline
    const now = this.#baseline as number
    if (this.#ceiling === undefined) return
    // A ceiling met before the first response is measured against the first baseline.
    if (was === undefined) this.#ceilingBaseline = now
    else if (Math.abs(now - was) > was * this.#threshold) this.#forgetCeiling()
  }

  #forgetCeiling(): void {
    this.#ceiling = undefined
    this.#ceilingBaseline = undefined
    this.#probeWindows = FIRST_PROBE_WINDOWS
    this.#cleanWindows = 0
  }

  #resetWindow(now: number): void {
    this.#windowStart = now
    this.#rttSum = 0
    this.#rttCount = 0
    this.#saturated = this.#inFlight >= this.#limit
  }
}
