import { randomUUID } from 'node:crypto'
import { MAX_POST_BYTES, PostBacklog, type AlertPost } from './post-backlog.js'
import type { WebhookPoster } from './webhook-poster.js'
import type { ResolvedDeliveryOptions } from '../../config/delivery-options.js'
import { attempt } from '../../pool/attempt.js'
import { Dispatcher } from '../../pool/dispatcher.js'
import { RetryPolicy } from '../../pool/retry-policy.js'
import { RetryWaits } from '../../pool/retry-waits.js'
import type { DropReason } from '../../stats/delivery-stats.js'
import { FlushWaiters } from '../../stats/flush-waiters.js'
import type { Failure, Ledger } from '../../stats/ledger.js'
import { setTimer } from '../../timers.js'

/** What the posting loop takes from the sender's options, layered and with defaults filled in. */
export interface PostingOptions {
  readonly name: string
  /** `timeoutMs` and `rateLimit`; the concurrency is always 1. */
  readonly pool: ResolvedDeliveryOptions['pool']
  readonly retry: ResolvedDeliveryOptions['retry']
  /** Random source of the retry jitter, for tests. */
  readonly random?: (() => number) | undefined
}

/** Posts by how they ended. */
export interface PostCounts {
  delivered: number
  failed: number
  dropped: number
}

/**
 * Sends a webhook sender's posts, one at a time and in order, from a bounded backlog
 * ({@link PostBacklog}): each post gets attempts with a time limit ({@link attempt}), retries with
 * backoff ({@link RetryPolicy}, {@link RetryWaits}), and the sink's `Retry-After` and the rate limit
 * hold the next request back ({@link Dispatcher}). The records a post carries move through the
 * sender's {@link Ledger}: queued until the post is handed to the worker, then in flight until it is
 * delivered, failed or dropped.
 */
export class PostingLoop {
  /** Posts by outcome, for the alert counters. */
  readonly posts: PostCounts = { delivered: 0, failed: 0, dropped: 0 }
  readonly #name: string
  readonly #poster: WebhookPoster
  readonly #ledger: Ledger
  readonly #timeoutMs: number
  readonly #backlog = new PostBacklog()
  readonly #pool: Dispatcher<AlertPost>
  readonly #retry: RetryPolicy
  readonly #waits: RetryWaits<AlertPost>
  readonly #flushes = new FlushWaiters(() => this.#oldestUnsettled())
  /** Fires at the close deadline: attempts and waits end at once. */
  readonly #stop = new AbortController()
  #lastSeq = 0
  #pumping = false

  constructor(options: PostingOptions, poster: WebhookPoster, ledger: Ledger) {
    this.#name = options.name
    this.#poster = poster
    this.#ledger = ledger
    this.#timeoutMs = options.pool.timeoutMs
    // One post at a time: alerts reach the channel in the order they were made.
    this.#pool = new Dispatcher({ ...options.pool, concurrency: 1 }, () => this.#pump(), this.#stop.signal)
    this.#retry = new RetryPolicy(options.retry, options.random)
    this.#waits = new RetryWaits(this.#stop.signal)
  }

  /**
   * Queues a post carrying `records` log records (`recordBytes` bytes of lines), which the ledger
   * counts as queued already, and sends it as soon as the worker is free.
   */
  post(body: string, level: number, records: number, recordBytes: number): void {
    const post: AlertPost = {
      seq: ++this.#lastSeq,
      id: randomUUID(),
      body: Buffer.from(body, 'utf8'),
      level,
      records,
      recordBytes,
      settled: false,
    }
    if (post.body.length >= MAX_POST_BYTES) return this.#dropWaiting(post, 'oversize')
    const backlog = this.#backlog
    if (!backlog.fits(post)) {
      // A free worker takes the oldest post first; only then does anything give way.
      this.#pump()
      if (!backlog.fits(post) && !backlog.makeRoom(post, (victim) => this.#dropWaiting(victim, 'overflow'))) {
        return this.#dropWaiting(post, 'overflow')
      }
    }
    backlog.push(post)
    this.#pump()
  }

  /** Resolves when every post made so far has been delivered, failed or dropped. */
  flush(): Promise<void> {
    const done = this.#flushes.wait(this.#lastSeq)
    this.#pump()
    return done
  }

  /** Records reached an end state (the ledger says so): flush() callers may be done. */
  settled(): void {
    this.#flushes.check()
  }

  /**
   * Sends what is left until `timeoutMs` has passed: a post waiting out a backoff tries again at once.
   * Past the deadline every post still waiting or in flight is dropped as `closed`. Releases the
   * connection. Returns the records dropped at the deadline.
   */
  async close(timeoutMs: number): Promise<{ abandoned: number; timedOut: boolean }> {
    this.#waits.wake('close', this.#pool.paused(), () => false)
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimer(resolve, timeoutMs, true))),
    ])
    clearTimeout(timer)
    this.#pool.stop()
    let abandoned = 0
    if (timedOut) {
      this.#stop.abort(new Error(`${this.#name}: close deadline of ${timeoutMs} ms passed`))
      this.#pool.clear()
      for (const post of this.#backlog.drain()) {
        abandoned += post.records
        this.#dropWaiting(post, 'closed')
      }
      for (const post of [...this.#pool.inflight]) {
        abandoned += post.records
        this.#settle(post, 'closed')
      }
    }
    await this.#poster.close()
    return { abandoned, timedOut }
  }

  // ---- backlog → worker ----------------------------------------------------------------------

  /** Hands the oldest post to the worker when it is free, the rate window has room and no pause holds it back. */
  #pump(): void {
    if (this.#pumping || this.#stopped()) return
    this.#pumping = true
    try {
      const pool = this.#pool
      while (pool.hasFreeSlot() && this.#backlog.size > 0) {
        if (pool.holdsBack()) break
        if (pool.allowance() <= 0) {
          pool.waitForWindow()
          break
        }
        const post = this.#backlog.shift() as AlertPost
        this.#ledger.dispatched({ count: post.records, bytes: post.recordBytes })
        // A digest's records waited for their window, not in a queue: no queue wait is observed.
        this.#ledger.timings.dispatched(post.records, undefined)
        // Every request counts against pool.rateLimit as one, whatever the records it carries.
        pool.take(1)
        pool.launch(post, () => this.#run(post))
      }
    } finally {
      this.#pumping = false
    }
  }

  async #run(post: AlertPost): Promise<void> {
    // The pool starts a job inside launch(), that is inside the send() that made the post (in the
    // in-process stream, the app's logger call): the request must not be built there.
    await Promise.resolve()
    if (post.settled || this.#stopped()) return
    const started = Date.now()
    for (let n = 1; !post.settled; n++) {
      this.#ledger.attempted()
      const attemptStart = Date.now()
      const outcome = await attempt(({ signal }) => this.#poster.post(post, signal), n, this.#timeoutMs, this.#stop.signal)
      // An attempt cut short by the close deadline has no answer: its time is the deadline's, not a request's.
      if (!this.#stopped()) this.#ledger.timings.attempt(Date.now() - attemptStart)
      if (outcome.ok) return this.#settle(post, 'delivered', started)
      if (post.settled || this.#stopped()) return
      if (!(await this.#afterFailure(post, outcome.error, n, started))) return
    }
  }

  /** A failed attempt: true to try again (after the backoff), false when the post is settled or given up. */
  async #afterFailure(post: AlertPost, error: unknown, n: number, started: number): Promise<boolean> {
    this.#ledger.attemptFailed(error)
    const retryAfterMs = this.#retry.retryAfterMs(error)
    // The webhook asked the sender, not only this post, to wait: the next post holds off too.
    if (retryAfterMs !== undefined) this.#pool.pauseFor(retryAfterMs)
    const decision = this.#retry.decide(error, n, Date.now() - started)
    if (!decision.retry) {
      this.#settle(post, { error, attempts: n, reason: decision.reason }, started)
      return false
    }
    this.#ledger.retrying(post.records, n, decision.delayMs, error, () => {
      let records = post.records
      for (const other of this.#waits.jobs()) records += other.records
      return { records, batches: this.#waits.size + 1 }
    })
    // Posts go one at a time: no delivery elsewhere can cut this backoff short (`onRecovery` false); close can.
    return (await this.#waits.wait(decision.delayMs, false, post)) && (await this.#rateGate(post))
  }

  /** Waits until the rate limit lets a retry start, and counts it there. False when close gives up on the post. */
  async #rateGate(post: AlertPost): Promise<boolean> {
    while (!this.#pool.admits(1)) {
      if (!(await this.#waits.wait(this.#pool.msToNextWindow(), false, post)) || post.settled) return false
    }
    this.#pool.take(1)
    return true
  }

  // ---- outcomes ------------------------------------------------------------------------------

  /**
   * The post in flight reached an end state: delivered, dropped at the close deadline, or failed (how).
   * `started`: its first attempt, for the delivery time (a post dropped at close has none).
   */
  #settle(post: AlertPost, outcome: 'delivered' | 'closed' | Failure, started?: number): void {
    if (post.settled) return
    post.settled = true
    this.#pool.finished(post)
    const ledger = this.#ledger
    if (started !== undefined) ledger.timings.delivery(Date.now() - started)
    if (outcome === 'delivered') {
      this.posts.delivered++
      // Bytes delivered are the bytes sent: the post's body.
      ledger.delivered({ count: post.records, bytes: post.body.length })
    } else if (outcome === 'closed') {
      this.posts.dropped++
      ledger.inFlightDropped({ count: post.records, bytes: post.recordBytes }, 'closed')
    } else {
      this.posts.failed++
      ledger.failed({ count: post.records, bytes: post.recordBytes }, outcome)
    }
    this.#pump()
  }

  /** A post that never reached the worker is dropped, and the records it carries with it. */
  #dropWaiting(post: AlertPost, reason: DropReason): void {
    post.settled = true
    this.posts.dropped++
    this.#ledger.droppedFromQueue({ count: post.records, bytes: post.recordBytes }, reason)
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted
  }

  /** Seq of the oldest post not yet settled (Infinity when none). */
  #oldestUnsettled(): number {
    let oldest = this.#backlog.oldestSeq()
    for (const post of this.#pool.inflight) if (post.seq < oldest) oldest = post.seq
    return oldest
  }
}
