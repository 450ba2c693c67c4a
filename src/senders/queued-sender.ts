import { EventEmitter, setMaxListeners } from 'node:events'
import { Batcher } from '../batch/batcher.js'
import { DeliveryBatch } from '../batch/delivery-batch.js'
import type { CommonSenderOptions, ResolvedDeliveryOptions } from '../config/delivery-options.js'
import { resolveSenderConfig, SenderConfig, validate } from '../config/resolve.js'
import { commonSenderSchema } from '../config/schema.js'
import type { LogRecord } from '../input/record.js'
import { Dispatcher } from '../pool/dispatcher.js'
import { RetryLoop } from '../pool/retry-loop.js'
import { RetryPolicy } from '../pool/retry-policy.js'
import { RetryWaits } from '../pool/retry-waits.js'
import { Admission } from '../queue/admission.js'
import { QueueGroups, type QueueGroup } from '../queue/queue-groups.js'
import { RecordLog } from '../queue/record-log.js'
import type { Sink } from '../sinks/sink.js'
import { Spill } from '../spool/spill.js'
import { senderCloseReport } from '../stats/close-report.js'
import type { SenderStats } from '../stats/delivery-stats.js'
import { FlushWaiters } from '../stats/flush-waiters.js'
import { Ledger } from '../stats/ledger.js'
import { CLOSE_SINK_GRACE_MS, closeDeadline, closeSink, pastDeadline } from './closing.js'
import type { CloseReport, Sender, SenderContext, SenderEvents } from './sender.js'
import { Settlement } from './settlement.js'

/** The courier's way in: a record already in the sender's log, by ref (see {@link QueuedSender}). */
export const ACCEPT: unique symbol = Symbol('pino-courier: accept a ref')
/** The record log a queued sender keeps its records in. */
export const RECORD_LOG: unique symbol = Symbol('pino-courier: record log')

/** After a spool file could not be read (EMFILE, EIO), how long sending pauses before trying again. */
const SPOOL_READ_RETRY_MS = 1000

/**
 * Where a sender is in its life: `open` takes records; `closing` delivers what it holds until the
 * deadline; `stopped` has given up on what is still in flight (deadline passed, or it stays in the
 * spool); `closed` has released its sink.
 */
export type SenderPhase = 'open' | 'closing' | 'stopped' | 'closed'

/**
 * The sender engine, wiring one sender's pipeline: records pass the queue's door ({@link Admission}),
 * leave it in batches ({@link Batcher}) for the worker pool ({@link Dispatcher}), which runs delivery
 * attempts on a {@link Sink} with timeouts and retries ({@link RetryPolicy}, {@link RetryWaits}); with
 * a disk spool, {@link Spill} decides what waits on disk. Every move of a record is counted by the
 * {@link Ledger}: each ends delivered, failed or dropped, and the counters say which.
 */
export class QueuedSender extends EventEmitter<SenderEvents> implements Sender {
  readonly name: string
  readonly level: number
  readonly #config: SenderConfig
  readonly #sink: Sink
  /** Where its queued and in-flight records are kept: the courier's, shared by its senders, or its own. */
  readonly #log: RecordLog
  readonly #ledger: Ledger
  readonly #queue: Admission
  readonly #batcher: Batcher
  readonly #pool: Dispatcher<DeliveryBatch>
  readonly #waits: RetryWaits<DeliveryBatch>
  readonly #retries: RetryLoop<DeliveryBatch>
  readonly #settlement: Settlement
  readonly #spill: Spill | undefined
  readonly #flushes = new FlushWaiters(() => this.#oldestUnsettled())
  /** Fires when the sender gives up on everything in flight: attempts and waits end at once. */
  readonly #stop = new AbortController()
  #phase: SenderPhase = 'open'
  #pumping = false
  #closing: Promise<CloseReport> | undefined

  /**
   * `options` are checked against the common sender schema (a subclass passes only the common ones);
   * a {@link SenderConfig} from the resolve step is taken as given.
   */
  constructor(options: CommonSenderOptions | SenderConfig, sink: Sink, context: SenderContext = {}) {
    super()
    const config =
      options instanceof SenderConfig ? options : resolveSenderConfig(validate(commonSenderSchema, options), context, undefined, 'sender')
    this.#config = config
    this.name = config.name
    this.level = config.level
    this.#sink = sink
    const { queue, batch, pool, retry, spool, deadLetter } = config.delivery
    const log = (this.#log = context.recordLog ?? new RecordLog())
    this.#ledger = new Ledger(this.name, this, { log, observer: context.observer, deadLetter, onSettled: () => this.#flushes.check() })
    const grouping = config.groupBy === undefined ? undefined : { groups: new QueueGroups(config.groupBy, config.delivery.group, log), group: config.delivery.group }
    this.#queue = new Admission(queue, log, this.#ledger, grouping)
    this.#batcher = new Batcher(batch, config.flushLevel, this.#queue, log, () => this.#pump())
    // Every attempt in flight and every retry waiting listens for the stop, and both are bounded
    // (pool.concurrency, the queue): Node's limit of 10 listeners would warn on the app's stderr.
    setMaxListeners(0, this.#stop.signal)
    this.#pool = new Dispatcher(pool, () => this.#pump(), this.#stop.signal, { maxPauseMs: retry.maxDelayMs })
    this.#waits = new RetryWaits(this.#stop.signal)
    if (spool) {
      this.#spill = new Spill(spool, this.name, {
        log,
        ledger: this.#ledger,
        queue: this.#queue,
        batcher: this.#batcher,
        // A spooled batch is sent whole: cut it to what the rate limit allows per window.
        maxRecords: Math.min(batch.maxRecords, this.#pool.maxRecordsPerWindow),
        stored: () => this.#flushes.check(),
      })
      // What an earlier run left goes out first, once the subclass (the sink) is set up.
      if (this.#spill.spool.unreadRecords > 0) setImmediate(() => this.#stop.signal.aborted || this.#pump())
    }
    this.#settlement = new Settlement({
      stopped: this.#stop.signal,
      sink,
      ledger: this.#ledger,
      pool: this.#pool,
      waits: this.#waits,
      spill: this.#spill,
      flushes: this.#flushes,
      phase: () => this.#phase,
      pump: () => this.#pump(),
    })
    const policy = new RetryPolicy(retry, context.random)
    this.#retries = new RetryLoop(this.#settlement, { ledger: this.#ledger, policy, pool: this.#pool, waits: this.#waits, timeoutMs: pool.timeoutMs })
  }

  /** The delivery options in force, defaults filled in. */
  get options(): Readonly<ResolvedDeliveryOptions> {
    return this.#config.delivery
  }

  get phase(): SenderPhase {
    return this.#phase
  }

  send(record: LogRecord): boolean {
    return record.level < this.level || this.#take(-1, record, record.level, record.bytes)
  }

  /**
   * The courier's path for a record already in this sender's log (the courier's): what send() does,
   * without making a record. Never throws.
   */
  [ACCEPT](ref: number): boolean {
    const level = this.#log.level(ref)
    return level < this.level || this.#take(ref, undefined, level, this.#log.bytes(ref))
  }

  /** The log this sender keeps its records in (the courier hands records over through it). */
  get [RECORD_LOG](): RecordLog {
    return this.#log
  }

  /** Queues a record (by `ref` in the log, or a `record` handed over) or drops it, counted. */
  #take(ref: number, record: LogRecord | undefined, level: number, bytes: number): boolean {
    const ledger = this.#ledger
    const open = this.#phase === 'open'
    const group = open ? this.#queue.route(ref, record) : undefined
    ledger.received(group?.counters)
    const refused = !group ? 'closed' : bytes > this.#queue.maxRecordBytes ? 'oversize' : this.#makeRoom(level, bytes, group) ? undefined : 'overflow'
    if (refused || !group) {
      // Literals, not a spread of a shared object: this is the drop path of every record of a burst,
      // and spreading made it four times slower (0.5 s to 2.4 s of CPU for a million dropped records).
      const counters = group?.counters
      const moved = record ? { count: 1, bytes, records: [record], group: counters } : { count: 1, bytes, refs: [ref], group: counters }
      return ledger.refused(moved, refused ?? 'closed')
    }
    const held = record ? this.#log.appendRecord(record) : ref
    this.#queue.push(held, level, bytes, group)
    if (this.#batcher.accepted(record ? record.seq : this.#log.seq(held), level, group)) this.#pump()
    else this.#batcher.armAgeTimer()
    // Within the block window this is false and the reader pauses; past it the queue kept within its
    // bounds by dropping, so the reader goes on.
    return this.#queue.acceptsMore()
  }

  /** Whether a record of `level` and `bytes` can be queued in `group`, after making room if the policy allows. */
  #makeRoom(level: number, bytes: number, group: QueueGroup): boolean {
    const queue = this.#queue
    if (queue.fits(bytes, group)) return true
    // A full queue hands its oldest records to an idle worker before it drops or blocks anything:
    // waiting for the batch to fill or age (batch.maxRecords may exceed queue.maxRecords) would
    // drop records while a worker sits idle, so capacity N with W workers would not hold N + W
    // batches. `full` covers a record that fits by count but not by bytes, which the queue's own
    // at-the-bounds rule does not see.
    this.#pump(group)
    // With a spool the whole queue (with groups: the group that needs room) moves to disk, oldest
    // first, behind what is spooled already: the order holds, and memory is freed for the next
    // queue-full of records.
    if (!queue.fits(bytes, group) && this.#spill?.writable()) this.#spill.spill(Number.POSITIVE_INFINITY, queue.spillFrom(bytes, group))
    return queue.fits(bytes, group) || queue.admit(level, bytes, group)
  }

  ready(): Promise<void> {
    const queue = this.#queue
    if (this.#phase !== 'open' || queue.withinBounds() || queue.blockExpired()) return Promise.resolve()
    const ready = queue.waitForRoom()
    // A waiting reader makes the queue due, in case nothing else would dispatch it.
    this.#pump()
    return ready
  }

  flush(): Promise<void> {
    const target = this.#batcher.lastSeq
    if (this.#oldestUnsettled() > target) return Promise.resolve()
    const done = this.#flushes.wait(target)
    this.#batcher.forceUpTo(target)
    this.#pump()
    return done
  }

  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    return (this.#closing ??= this.#close(closeDeadline(options.timeoutMs, this.#config.closeTimeoutMs)))
  }

  /** Alias of `close()` for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  stats(): SenderStats {
    const stats = this.#ledger.snapshot(this.#spill?.spool.stats(), this.options.queue.maxRecords, this.#queue.groupsStats())
    const concurrency = this.#pool.concurrencyStats()
    return concurrency === undefined ? stats : { ...stats, concurrency }
  }

  // ---- queue → batch → pool ------------------------------------------------------------------

  /**
   * Dispatches due batches to idle workers; `full` makes the first batch due (a record does not fit in
   * that group). A queue at its bounds is always due, so that a full queue leaves as soon as a worker
   * is free rather than after batch.maxWaitMs.
   */
  #pump(full: boolean | QueueGroup = false): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      const spill = this.#spill
      const pool = this.#pool
      // A failing sink with a spool: batches that are due go to disk rather than wait in memory, where
      // a crash would lose them. The workers then take them from the spool like any other.
      if (spill?.failing) {
        while (this.#batcher.headDue(full) && spill.writable()) {
          spill.spill(1)
          full = false
        }
      }
      // Closing with a failing sink sends nothing new: what is not on disk yet went there just above.
      const holding = this.#phase !== 'open' && spill?.failing === true
      while (!holding && pool.hasFreeSlot()) {
        // The spool first: everything in it is older than what waits in memory.
        const frame = spill?.peek()
        if (!frame && !this.#batcher.headDue(full)) break
        if (pool.holdsBack()) break
        const allowance = pool.allowance()
        // A spooled batch cannot be cut: it waits for a window with room for it (or a fresh one).
        if (allowance <= 0 || (frame && !pool.admits(frame.count))) {
          pool.waitForWindow()
          break
        }
        if (frame && spill) {
          const batch = spill.take(frame)
          if (batch === 'unreadable-now') {
            // Its file could not be read just now: sending pauses a moment, the frame still first in line.
            pool.pauseFor(SPOOL_READ_RETRY_MS)
            pool.holdsBack()
            break
          }
          if (batch !== 'damaged') this.#launch(batch)
        } else {
          const cut = this.#batcher.cut(Math.min(this.#config.delivery.batch.maxRecords, allowance))
          this.#ledger.dispatched(cut)
          const head = cut.refs[0] as number
          this.#launch(new DeliveryBatch(this.#log, cut.refs, cut.bytes, this.#log.seq(head), { group: cut.group }), this.#log.time(head))
        }
        full = false
      }
      if (this.#queue.size > 0 && (pool.hasFreeSlot() || spill?.failing) && !pool.waiting()) this.#batcher.armAgeTimer()
    } finally {
      this.#pumping = false
    }
  }

  /**
   * `queuedAt`: arrival of its oldest record, for a batch cut from the queue. One clock read per batch:
   * its queue wait and the start of its delivery time.
   */
  #launch(batch: DeliveryBatch, queuedAt?: number): void {
    const now = (batch.dispatchedAt = Date.now())
    // A batch from the spool has no queue wait: its records' time there includes the time on disk, an
    // earlier run's downtime even.
    this.#ledger.timings.dispatched(batch.count, queuedAt === undefined ? undefined : now - queuedAt)
    this.#pool.take(batch.count)
    this.#pool.launch(batch, () => this.#retries.run(batch))
  }

  // ---- flush and close -------------------------------------------------------------------------

  /**
   * The oldest record not yet settled. While the sink is failing, records safe in the spool count as
   * settled: flush() then means "delivered or on disk", instead of waiting for the sink to come back.
   */
  #oldestUnsettled(): number {
    const atRest = this.#spill?.failing === true
    let min = this.#queue.oldestSeq()
    // Closing waits for the one last try of every batch in flight (see #afterFailure): it may be delivered yet.
    for (const batch of this.#pool.inflight) {
      if (batch.firstSeq < min && !(atRest && batch.frame && this.#phase === 'open')) min = batch.firstSeq
    }
    if (!atRest) {
      const frame = this.#spill?.peek()
      if (frame && frame.firstSeq < min) min = frame.firstSeq
    }
    return min
  }

  async #close(timeoutMs: number): Promise<CloseReport> {
    const deadline = Date.now() + timeoutMs
    this.#phase = 'closing'
    this.#queue.close()
    this.#batcher.close()
    // Closing is the last chance: batches waiting out a backoff try again now, within the deadline.
    // With a spool that try is their only one: if it fails they wait on disk for the next start.
    this.#waits.wake('close', this.#pool.paused(), (b) => b.frame !== undefined)
    const timedOut = await pastDeadline(this.flush(), timeoutMs)
    this.#batcher.stop()
    this.#pool.stop()

    let abandoned = 0
    const spill = this.#spill
    const pool = this.#pool
    if (spill && (timedOut || pool.inflight.size > 0 || this.#queue.size > 0)) {
      // Past the deadline, or the sink is failing and everything is safe on disk already: what is
      // left goes to the spool for the next start.
      this.#stopAll(`${this.name}: closing; undelivered batches stay in the spool`)
      const before = this.#ledger.dropped.spoolError
      spill.keepAll([...pool.inflight], (batch) => this.#settlement.keepInSpool(batch))
      this.#flushes.check()
      abandoned += this.#ledger.dropped.spoolError - before
    } else if (timedOut) {
      this.#stopAll(`${this.name}: close deadline of ${timeoutMs} ms passed`)
      for (const left of this.#queue.drain()) {
        abandoned += left.count
        this.#ledger.droppedFromQueue(left, 'closed')
        for (const ref of left.refs ?? []) this.#log.release(ref)
      }
      for (const batch of [...pool.inflight]) {
        abandoned += batch.count
        this.#settlement.settle(batch, 'closed')
      }
      this.#flushes.check()
    }
    await closeSink(this.#sink, Math.max(deadline - Date.now(), CLOSE_SINK_GRACE_MS))
    spill?.close()
    this.#ledger.closeDeadLetter()
    this.#phase = 'closed'
    return senderCloseReport(this.stats(), { abandoned, timedOut })
  }

  /** Gives up on everything in flight: attempts abort, waits end, jobs not started are forgotten. */
  #stopAll(reason: string): void {
    this.#phase = 'stopped'
    this.#stop.abort(new Error(reason))
    this.#pool.clear()
  }
}
