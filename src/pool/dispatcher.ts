import PQueue from 'p-queue'
import { DEFAULT_RETRY } from '../config/defaults.js'
import type { ResolvedPoolOptions } from '../config/delivery-options.js'
import type { ConcurrencyStats } from '../stats/delivery-stats.js'
import { setTimer } from '../timers.js'
import { AdaptiveGate, type AttemptTicket } from './adaptive-gate.js'
import type { AttemptOutcome } from './attempt.js'
import { RateLimiter } from './rate-limiter.js'

/** What a dispatcher takes besides the pool options, for `concurrency: 'adaptive'` only. */
export interface AdaptiveSettings {
  /** Longest pause of the sender after a 429 without Retry-After. @default retry.maxDelayMs's default, 5000 */
  readonly maxPauseMs?: number
  /** Clock of round-trip times. @default performance.now */
  readonly now?: () => number
}

/**
 * The worker pool's gate: how many deliveries run at once (p-queue bounds the concurrency), the rate
 * window, and the pause a sink asked for (`Retry-After`). Owns the set of jobs in flight and the
 * timers that wake the sender when a window opens or a pause ends. With `concurrency: 'adaptive'` an
 * {@link AdaptiveGate} also bounds the attempts in progress, p-queue only `maxConcurrency`; with a
 * fixed concurrency there is no gate and the attempt hooks do nothing.
 */
export class Dispatcher<Job> {
  /** Jobs handed to the pool and not settled yet, retries included. */
  readonly inflight = new Set<Job>()
  readonly #concurrency: number
  readonly #pool: PQueue
  readonly #rate: RateLimiter
  readonly #wake: () => void
  readonly #stopped: AbortSignal
  #rateTimer: NodeJS.Timeout | undefined
  /** Dispatches again once a sink's Retry-After has passed. */
  #pauseTimer: NodeJS.Timeout | undefined
  /** No new job starts before this time (ms epoch): the sink asked us to wait (Retry-After). */
  #pausedUntil = 0
  /**
   * Adaptive only: no new job starts before this time (ms epoch) either, after a 429 without Retry-After.
   * Apart from #pausedUntil because it is our guess, not the sink's word: close and a recovery do not
   * treat it as a Retry-After (see {@link paused}).
   */
  #pacedUntil = 0
  readonly #gate: AdaptiveGate | undefined
  /** Jobs holding a slot of the gate: launched and not yet through their first attempt, or in a retry's. */
  readonly #holding = new Set<Job>()

  /**
   * `wake`: called when a window opens, a pause ends or (adaptive) a slot frees. `stopped`: fires when
   * no more work may start.
   */
  constructor(options: ResolvedPoolOptions, wake: () => void, stopped: AbortSignal, adaptive: AdaptiveSettings = {}) {
    this.#concurrency = options.concurrency
    // The pool bounds concurrency only: the rate limit is the engine's, so that retries count too.
    this.#pool = new PQueue({ concurrency: options.concurrency })
    this.#rate = new RateLimiter(options.rateLimit)
    this.#wake = wake
    this.#stopped = stopped
    this.#gate = options.adaptive
      ? new AdaptiveGate(
          { max: options.concurrency, maxPauseMs: adaptive.maxPauseMs ?? DEFAULT_RETRY.maxDelayMs, now: adaptive.now },
          {
            // Not once stopped: the close deadline frees slots as it settles or spools what is in flight,
            // and a pump then would launch spooled batches that nothing settles any more.
            wake: () => void (stopped.aborted || wake()),
            pauseFor: (ms) => (this.#pacedUntil = Math.max(this.#pacedUntil, Date.now() + ms)),
          },
        )
      : undefined
  }

  /** Whether the concurrency adapts (`'adaptive'`): retries then pass {@link acquire} before each attempt. */
  get adaptive(): boolean {
    return this.#gate !== undefined
  }

  hasFreeSlot(): boolean {
    return this.#inflight() < this.#concurrency && (this.#gate === undefined || this.#gate.hasFreeSlot())
  }

  /** Runs `run` for `job` in the pool; the job counts as in flight until {@link finished}. */
  launch(job: Job, run: () => Promise<void>): void {
    this.inflight.add(job)
    if (this.#gate) {
      // Its first attempt starts a tick later (RetryLoop.run): the slot is taken now, or the sender's
      // pump would launch more jobs than the limit in the same loop.
      this.#gate.hold()
      this.#holding.add(job)
    }
    void this.#pool.add(run)
  }

  finished(job: Job): void {
    this.inflight.delete(job)
    // A job settled without ending an attempt (settled or stopped before its first one) frees its slot.
    this.release(job)
  }

  /**
   * Adaptive only (true at once otherwise): waits until `job` may start a retry attempt and takes a
   * slot for it. False when the sender stops meanwhile.
   */
  async acquire(job: Job): Promise<boolean> {
    const gate = this.#gate
    if (gate === undefined || this.#holding.has(job)) return true
    if (!(await gate.acquire(this.#stopped))) return false
    this.#holding.add(job)
    return true
  }

  /** Gives back the slot `job` holds, if any (adaptive only). */
  release(job: Job): void {
    if (this.#holding.delete(job)) this.#gate?.release()
  }

  /** An attempt of `job` starts: a ticket to hand to {@link attemptEnded} (undefined without a gate). */
  attemptStarted(): AttemptTicket | undefined {
    return this.#gate?.started()
  }

  /**
   * An attempt of `job` ended: the limit learns its round-trip time and outcome, unless close cut it
   * short (its time is the deadline's, its error the stop's), and the slot is freed.
   */
  attemptEnded(job: Job, ticket: AttemptTicket | undefined, outcome: AttemptOutcome): void {
    const gate = this.#gate
    if (gate === undefined || ticket === undefined) return
    if (!this.#stopped.aborted) gate.finished(ticket, outcome)
    this.release(job)
  }

  /** The adaptive concurrency's state, for stats (undefined with a fixed concurrency). */
  concurrencyStats(): ConcurrencyStats | undefined {
    return this.#gate?.stats()
  }

  /** The sink asked the sender, not only one batch, to wait `ms`: no job starts before. */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms)
  }

  /** Whether a pause the sink asked for (Retry-After) is running now. */
  paused(): boolean {
    return Date.now() < this.#pausedUntil
  }

  /** Whether a pause (the sink's, or adaptive pacing) holds new jobs back; if so, the sender is woken when it ends. */
  holdsBack(): boolean {
    const until = Math.max(this.#pausedUntil, this.#pacedUntil)
    if (!(Date.now() < until)) return false
    // Not on close: close() drains through a pause too, until its deadline stops everything.
    if (this.#pauseTimer === undefined && !this.#stopped.aborted) {
      // A Retry-After can outlast a timer: the sender checks the clock and this is armed again until it has passed.
      this.#pauseTimer = setTimer(
        () => {
          this.#pauseTimer = undefined
          this.#wake()
        },
        Math.max(0, until - Date.now()),
      )
    }
    return true
  }

  /** Records the rate window still allows (Infinity without a limit; 0 when no job may start now). */
  allowance(): number {
    return this.#rate.allowance()
  }

  /** Whether a job of `records` records may start in this window. */
  admits(records: number): boolean {
    return this.#rate.admits(records)
  }

  /** The rate window is used up: the sender is woken when the next one opens. */
  waitForWindow(): void {
    if (this.#rateTimer !== undefined || !this.#rate.limited) return
    this.#rateTimer = setTimer(() => {
      this.#rateTimer = undefined
      this.#wake()
    }, this.#rate.msToNextWindow())
  }

  /** Counts a job of `records` records against the rate window. */
  take(records: number): void {
    this.#rate.take(records)
  }

  msToNextWindow(): number {
    return this.#rate.msToNextWindow()
  }

  /** Most records one job may hold under the rate limit (a spooled batch is sent whole). */
  get maxRecordsPerWindow(): number {
    return this.#rate.maxRecords ?? Number.POSITIVE_INFINITY
  }

  /** Whether a rate window or a pause will wake the sender anyway. */
  waiting(): boolean {
    return this.#rateTimer !== undefined || this.#pauseTimer !== undefined
  }

  /** Stops the timers and forgets jobs that have not started (close). */
  stop(): void {
    clearTimeout(this.#rateTimer)
    clearTimeout(this.#pauseTimer)
    this.#rateTimer = this.#pauseTimer = undefined
  }

  clear(): void {
    this.#pool.clear()
  }

  #inflight(): number {
    return this.inflight.size
  }
}
