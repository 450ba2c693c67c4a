import PQueue from 'p-queue'
import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import { setTimer } from '../timers.js'
import { RateLimiter } from './rate-limiter.js'

/**
 * The worker pool's gate: how many deliveries run at once (p-queue bounds the concurrency), the rate
 * window, and the pause a sink asked for (`Retry-After`). Owns the set of jobs in flight and the
 * timers that wake the sender when a window opens or a pause ends.
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

  /** `wake`: called when a window opens or a pause ends. `stopped`: fires when no more work may start. */
  constructor(options: ResolvedDeliveryOptions['pool'], wake: () => void, stopped: AbortSignal) {
    this.#concurrency = options.concurrency
    // The pool bounds concurrency only: the rate limit is the engine's, so that retries count too.
    this.#pool = new PQueue({ concurrency: options.concurrency })
    this.#rate = new RateLimiter(options.rateLimit)
    this.#wake = wake
    this.#stopped = stopped
  }

  hasFreeSlot(): boolean {
    return this.#inflight() < this.#concurrency
  }

  /** Runs `run` for `job` in the pool; the job counts as in flight until {@link finished}. */
  launch(job: Job, run: () => Promise<void>): void {
    this.inflight.add(job)
    void this.#pool.add(run)
  }

  finished(job: Job): void {
    this.inflight.delete(job)
  }

  /** The sink asked the sender, not only one batch, to wait `ms`: no job starts before. */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms)
  }

  /** Whether a pause is running now. */
  paused(): boolean {
    return Date.now() < this.#pausedUntil
  }

  /** Whether a pause holds new jobs back; if so, the sender is woken when it ends. */
  holdsBack(): boolean {
    if (!this.paused()) return false
    // Not on close: close() drains through a pause too, until its deadline stops everything.
    if (this.#pauseTimer === undefined && !this.#stopped.aborted) {
      // A Retry-After can outlast a timer: the sender checks the clock and this is armed again until it has passed.
      this.#pauseTimer = setTimer(
        () => {
          this.#pauseTimer = undefined
          this.#wake()
        },
        Math.max(0, this.#pausedUntil - Date.now()),
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
