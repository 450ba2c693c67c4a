import type { ConcurrencyStats } from '../stats/delivery-stats.js'
import { AdaptiveLimit } from './adaptive-limit.js'
import type { AttemptOutcome } from './attempt.js'
import { attemptVerdict, bareTooManyRequests } from './overload.js'
import { OverloadPause } from './overload-pause.js'

/** Options of an {@link AdaptiveGate}. */
export interface AdaptiveGateOptions {
  /** `pool.maxConcurrency`: the highest limit. */
  readonly max: number
  /** Longest pause after a 429 without Retry-After (`retry.maxDelayMs`). */
  readonly maxPauseMs: number
  /**
   * Clock in milliseconds of round-trip times, the limit's too; injected so tests can drive it.
   * @default performance.now
   */
  readonly now?: () => number
}

/** What the gate needs of its dispatcher. */
export interface AdaptiveGateHost {
  /** Wakes the sender: a slot is free for a new job. */
  wake(): void
  /** Holds new jobs back for `ms` (pacing: not a Retry-After, which close and a recovery respect). */
  pauseFor(ms: number): void
}

/** One attempt in progress, from {@link AdaptiveGate.started}. */
export interface AttemptTicket {
  /** On the gate's clock. */
  readonly startedAt: number
}

/**
 * `pool.concurrency: 'adaptive'`: counts attempts in progress (not jobs: a batch waiting out a backoff
 * holds no slot) against an {@link AdaptiveLimit}, hands freed slots to retries waiting for one before
 * new jobs, and feeds the limit each attempt's round-trip time and outcome. A slot is held from the
 * moment a job is launched (its first attempt starts a tick later) or a retry is let in, until its
 * attempt ends.
 */
export class AdaptiveGate {
  readonly #limit: AdaptiveLimit
  readonly #pause: OverloadPause
  readonly #now: () => number
  readonly #host: AdaptiveGateHost
  readonly #max: number
  /** Slots held: attempts in progress and jobs launched whose first attempt has not begun yet. */
  #held = 0
  /** Retries waiting for a slot, oldest first. */
  readonly #waiters: ((goOn: boolean) => void)[] = []
  #peak: number

  constructor(options: AdaptiveGateOptions, host: AdaptiveGateHost) {
    this.#now = options.now ?? (() => performance.now())
    this.#max = options.max
    this.#limit = new AdaptiveLimit({ max: options.max, now: this.#now })
    this.#pause = new OverloadPause(options.maxPauseMs)
    this.#host = host
    this.#peak = this.#limit.limit
  }

  /** Whether a new job may start: a slot is free and no retry is waiting for one. */
  hasFreeSlot(): boolean {
    return this.#waiters.length === 0 && this.#held < this.#limit.limit
  }

  /** Takes a slot at once (a new job, let in by {@link hasFreeSlot}). */
  hold(): void {
    this.#held++
  }

  /** Waits for a slot and takes it: true, or false when `stopped` fires first (close/stop never hang here). */
  acquire(stopped: AbortSignal): Promise<boolean> {
    if (stopped.aborted) return Promise.resolve(false)
    if (this.hasFreeSlot()) {
      this.#held++
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter)
        if (at >= 0) this.#waiters.splice(at, 1)
        resolve(false)
      }
      const waiter = (goOn: boolean): void => {
        stopped.removeEventListener('abort', onAbort)
        resolve(goOn)
      }
      stopped.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /** Gives a slot back: to the oldest waiting retry, else the sender is woken for a new job. */
  release(): void {
    this.#held = Math.max(0, this.#held - 1)
    while (this.#waiters.length > 0 && this.#held < this.#limit.limit) {
      this.#held++
      ;(this.#waiters.shift() as (goOn: boolean) => void)(true)
    }
    if (this.#held < this.#limit.limit) this.#host.wake()
  }

  /** An attempt starts (in a slot already held). */
  started(): AttemptTicket {
    this.#limit.started()
    return { startedAt: this.#now() }
  }

  /** An attempt ended with `outcome`: the limit learns from it, and a bare 429 pauses the sender. */
  finished(ticket: AttemptTicket, outcome: AttemptOutcome): void {
    const now = this.#now()
    const verdict = attemptVerdict(outcome)
    this.#limit.finished({ rttMs: now - ticket.startedAt, outcome: verdict })
    if (this.#limit.limit > this.#peak) this.#peak = this.#limit.limit
    if (bareTooManyRequests(outcome)) {
      const ms = this.#pause.refused(ticket.startedAt, now, this.#limit.stats().baselineRttMs)
      if (ms > 0) this.#host.pauseFor(ms)
    } else if (verdict === 'ok') this.#pause.delivered()
  }

  stats(): ConcurrencyStats {
    const { limit, ceiling, baselineRttMs, increases, decreases } = this.#limit.stats()
    return {
      limit,
      max: this.#max,
      peak: this.#peak,
      active: this.#held,
      ...(ceiling === undefined ? {} : { ceiling }),
      ...(baselineRttMs === undefined ? {} : { baselineRttMs: Math.round(baselineRttMs * 10) / 10 }),
      increases,
      decreases,
      pauses: this.#pause.pauses,
    }
  }
}
