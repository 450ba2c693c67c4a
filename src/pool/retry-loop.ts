import type { DeliveryContext, DeliveryResult } from '../sinks/sink.js'
import type { Failure, Ledger } from '../stats/ledger.js'
import { attempt } from './attempt.js'
import { DeliveryError } from './delivery-error.js'
import type { Dispatcher } from './dispatcher.js'
import { isPartial } from './partial-outcome.js'
import type { RetryPolicy } from './retry-policy.js'
import type { RetryWaits } from './retry-waits.js'

/** What the loop needs of a job: how many records it carries, and whether it has settled. */
export interface RetryJob {
  readonly count: number
  readonly settled: boolean
}

/** What the retry loop asks of its sender: the delivery itself, and what to do with each outcome. */
export interface RetryHost<Job extends RetryJob> {
  /** Fires when the sender gives up on everything in flight. */
  readonly stopped: AbortSignal
  deliver(job: Job, context: DeliveryContext): Promise<void | DeliveryResult>
  /** The sink accepted all of it. */
  delivered(job: Job): void
  /** The sink took part of it: the error standing for the records to retry, or undefined when the job settled. */
  deliveredInPart(job: Job, result: DeliveryResult, attempt: number): DeliveryError | undefined
  /**
   * A transient failure: false when the job was left to the spool instead. `partly`: the sink took
   * part of the job and asked for the rest again (it is up, not failing).
   */
  failedTransiently(job: Job, partly: boolean): boolean
  failed(job: Job, failure: Failure): void
  /** A wait ended without going on (close gave up on it): a job on disk stays there. */
  gaveUp(job: Job): void
  /** Whether the job is safe on disk: it then waits for the sink rather than giving up. */
  onDisk(job: Job): boolean
}

/**
 * Delivers one job with retries: attempts within `pool.timeoutMs`, the retry policy's backoff (and a
 * sink's `Retry-After`, which holds the whole sender off), waits that a recovery or close can cut
 * short, and the rate limit, which every retry passes like a first attempt.
 */
export class RetryLoop<Job extends RetryJob> {
  readonly #host: RetryHost<Job>
  readonly #ledger: Ledger
  readonly #policy: RetryPolicy
  readonly #pool: Dispatcher<Job>
  readonly #waits: RetryWaits<Job>
  readonly #timeoutMs: number

  constructor(
    host: RetryHost<Job>,
    parts: { ledger: Ledger; policy: RetryPolicy; pool: Dispatcher<Job>; waits: RetryWaits<Job>; timeoutMs: number },
  ) {
    this.#host = host
    this.#ledger = parts.ledger
    this.#policy = parts.policy
    this.#pool = parts.pool
    this.#waits = parts.waits
    this.#timeoutMs = parts.timeoutMs
  }

  async run(job: Job): Promise<void> {
    // p-queue starts a job inside add(), that is inside the send() that completed the batch (in the
    // in-process stream, the app's logger call): the sink must not build its request there.
    await Promise.resolve()
    const host = this.#host
    const pool = this.#pool
    if (job.settled || host.stopped.aborted) return pool.release(job)
    const started = Date.now()
    for (let n = 1; !job.settled; n++) {
      this.#ledger.attempted()
      const attemptStart = n === 1 ? started : Date.now()
      const ticket = pool.attemptStarted()
      const outcome = await attempt((context) => host.deliver(job, context), n, this.#timeoutMs, host.stopped)
      // Adaptive concurrency: the limit learns from every attempt, retries included, and the slot is
      // freed before the outcome is handled (a backoff holds no slot). A Retry-After holds the sender
      // off first: the freed slot wakes the sender, which would otherwise start a new batch at once.
      if (ticket !== undefined && !outcome.ok) this.#pauseForRetryAfter(outcome.error)
      pool.attemptEnded(job, ticket, outcome)
      // An attempt cut short by the close deadline has no answer: its time is the deadline's, not a request's.
      if (!host.stopped.aborted) this.#ledger.timings.attempt(Date.now() - attemptStart)
      let error: unknown
      if (outcome.ok) {
        const truncated = (outcome.result as DeliveryResult | undefined)?.truncatedCount
        if (typeof truncated === 'number' && truncated > 0) this.#ledger.truncated(Math.min(job.count, Math.floor(truncated)))
        if (!isPartial(outcome.result)) return host.delivered(job)
        error = host.deliveredInPart(job, outcome.result, n)
        if (error === undefined) return
      } else error = outcome.error
      if (job.settled || host.stopped.aborted) return
      if (!(await this.#afterFailure(job, error, n, started, outcome.ok))) return
    }
  }

  /** The sink asked the sender, not only this job, to wait: other jobs hold off too. */
  #pauseForRetryAfter(error: unknown): void {
    const retryAfterMs = this.#policy.retryAfterMs(error)
    if (retryAfterMs !== undefined) this.#pool.pauseFor(retryAfterMs)
  }

  /** A failed attempt: true to try again (after the backoff), false when the job is settled or left to the spool. */
  async #afterFailure(job: Job, error: unknown, n: number, started: number, partly: boolean): Promise<boolean> {
    const host = this.#host
    this.#ledger.attemptFailed(error)
    this.#pauseForRetryAfter(error)
    if (!(error instanceof DeliveryError && error.permanent) && !host.failedTransiently(job, partly)) return false
    // A job safe in the spool is not given up after retry.maxAttempts / maxRetryTimeMs: it waits for
    // the sink (or for close, which leaves it in the spool for the next start).
    const decision = this.#policy.decide(error, n, Date.now() - started, host.onDisk(job))
    if (!decision.retry) {
      host.failed(job, { error, attempts: n, reason: decision.reason })
      return false
    }
    this.#ledger.retrying(job.count, n, decision.delayMs, error, () => {
      let records = job.count
      for (const other of this.#waits.jobs()) records += other.count
      return { records, batches: this.#waits.size + 1 }
    })
    // A failure that says the sink could not be reached at all may be cut short by a delivery elsewhere.
    const unreachable = !(error instanceof DeliveryError && error.status !== undefined)
    if (!(await this.#waits.wait(decision.delayMs, unreachable, job)) || !(await this.#gate(job))) {
      if (!job.settled && !host.stopped.aborted) host.gaveUp(job)
      return false
    }
    return true
  }

  /** Waits until a retry of `job` may start: the rate limit, and with adaptive concurrency a slot. */
  #gate(job: Job): Promise<boolean> {
    return this.#pool.adaptive ? this.#adaptiveGate(job) : this.#rateGate(job)
  }

  /**
   * The rate window and a slot of the adaptive limit, both at the attempt's start: a slot is not held
   * while waiting for a window (it would keep other attempts out for nothing), and a window's room is
   * taken only once the slot is there (waiting for a slot may outlast the window).
   */
  async #adaptiveGate(job: Job): Promise<boolean> {
    const pool = this.#pool
    for (;;) {
      while (!pool.admits(job.count)) {
        if (!(await this.#waits.wait(pool.msToNextWindow(), false, job)) || job.settled) return false
      }
      if (!(await pool.acquire(job))) return false
      if (job.settled) {
        pool.release(job)
        return false
      }
      if (pool.admits(job.count)) {
        pool.take(job.count)
        return true
      }
      pool.release(job)
    }
  }

  /**
   * Waits until the rate limit lets a retry of `job` start, and counts it there: every request the
   * sender makes is within `pool.rateLimit`, retries included. False when close() gives up on the job
   * meanwhile.
   */
  async #rateGate(job: Job): Promise<boolean> {
    while (!this.#pool.admits(job.count)) {
      if (!(await this.#waits.wait(this.#pool.msToNextWindow(), false, job)) || job.settled) return false
    }
    this.#pool.take(job.count)
    return true
  }
}
