import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import PQueue from 'p-queue'
import { z } from 'zod'
import { ConfigError } from '../config/config-error.js'
import { LevelMap, type LevelOption } from '../config/levels.js'
import { LogRecord } from '../input/record.js'
import { checkDeadLetterPath, DeadLetterFile } from '../spool/dead-letter-file.js'
import { DeliveryError, DeliveryTimeoutError } from '../pool/delivery-error.js'
import { StatsCounters, totalDropped, type DropReason, type FailureRecord, type SenderStats } from '../stats/delivery-stats.js'
import {
  deliveryOptionsShape,
  levelSchema,
  resolveDeliveryOptions,
  type DeliveryOptions,
  type ResolvedDeliveryOptions,
} from '../config/delivery-options.js'
import { levelBucket, RecordBuffer } from '../queue/record-buffer.js'
import { RateLimiter } from '../pool/rate-limiter.js'
import { RetryPolicy } from '../pool/retry-policy.js'
import { DiskSpool, SpoolReadError, type SpoolFrame, type SpoolLoss } from '../spool/disk-spool.js'
import type { FrameContent } from '../spool/spool-frame.js'
import { durationSchema, setTimer } from '../timers.js'
import type { Batch, CloseReport, Sender, SenderEvents, Sink } from './sender.js'

/** Default deadline of `close()`: well inside pino's 10 s exit limit. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000

/**
 * Time the sink always gets to close, even when draining used up the whole deadline: enough for a
 * sink to end a socket or a file handle it owns. close() can overrun its deadline by this much,
 * which the default deadline leaves well inside pino's 10 s exit limit.
 */
const CLOSE_SINK_GRACE_MS = 100

/** After the spool fails to write, how long overflow falls back to the queue's own policy. */
const SPOOL_RETRY_AFTER_ERROR_MS = 5000
/** After a spool file could not be read (EMFILE, EIO), how long sending pauses before trying again. */
const SPOOL_READ_RETRY_MS = 1000

/** Options every queued sender takes (the sink-specific ones come on top). */
export interface CommonSenderOptions extends DeliveryOptions {
  /** Name in stats and warnings; unique within a courier. @default the sender type */
  name?: string
  /** Records below this level are ignored. @default every level */
  level?: LevelOption
  /** Deadline of `close()` in ms. @default 5000 */
  closeTimeoutMs?: number
}

export const commonSenderShape = {
  name: z.string().min(1).optional(),
  level: levelSchema.optional(),
  closeTimeoutMs: durationSchema(1).optional(),
  ...deliveryOptionsShape,
}

/**
 * What a sender gets from its surroundings rather than from its (plain-data) options: the logger's
 * levels and the layers of delivery defaults under the sender's own options.
 */
export interface SenderContext {
  /** Level names, for `level` and `batch.flushLevel` given as names. @default pino's default levels */
  levels?: LevelMap
  /** Delivery defaults, lowest first, layered under the sender's own options. @default [] */
  defaults?: readonly (DeliveryOptions | undefined)[]
  /** Random source of the retry jitter, for tests. @default Math.random */
  random?: () => number
  /**
   * Told when records leave the queue for a worker and when they reach an end state, record by
   * record: for a sender built on top of a QueuedSender whose records stand for something else (the
   * webhook alert sender's posts carry many log records each). @default none
   */
  observer?: RecordObserver
  /** The logger's `messageKey`, for senders that read messages. @default 'msg' */
  messageKey?: string
  /** The transport's `levelKey`, for senders that read records' fields. @default 'level' */
  levelKey?: string
  /** The logger's `errorKey`, for senders that read errors. @default 'err' */
  errorKey?: string
}

/** Where a record went, as a {@link RecordObserver} hears it. */
export type RecordOutcome = 'delivered' | 'failed' | 'spooled' | DropReason

/**
 * Follows records through a {@link QueuedSender}. Calls are synchronous, made after the sender's own
 * counters have changed, and a throwing observer is ignored. Records written to a disk spool are
 * reported `spooled`; they come back from it as new objects, and losses inside the spool are only
 * counted in the stats.
 */
export interface RecordObserver {
  /** The records were handed to a worker in one batch (they count as in flight from now on). */
  dispatched?(records: readonly LogRecord[]): void
  /** The records reached an end state, or the spool; `failure` is the failure kept in the stats. */
  settled?(records: readonly LogRecord[], outcome: RecordOutcome, failure?: FailureRecord): void
}

interface InflightBatch extends Batch {
  readonly firstSeq: number
  /**
   * Records in the batch, fixed at dispatch. The counters use this rather than `records.length`:
   * a (JavaScript) sink that empties or splices the array it was given must not skew the stats.
   */
  readonly count: number
  settled: boolean
  /** The batch's copy in the disk spool, once it has one: it is marked done when the batch settles. */
  frame: SpoolFrame | undefined
}

interface FlushWaiter {
  readonly seq: number
  readonly resolve: () => void
}

/**
 * The sender engine: a bounded, level-aware local queue in front of a worker pool (p-queue) that
 * delivers batches to a {@link Sink} with per-attempt timeouts and retries. Every record ends as
 * delivered, failed or dropped, and the counters say which.
 */
export class QueuedSender extends EventEmitter<SenderEvents> implements Sender {
  readonly name: string
  readonly level: number
  readonly #options: ResolvedDeliveryOptions
  readonly #flushLevel: number
  /** The sender's own close deadline, if its options set one. */
  readonly #closeTimeoutMs: number | undefined
  readonly #sink: Sink
  readonly #retry: RetryPolicy
  readonly #pool: PQueue
  readonly #rate: RateLimiter
  readonly #buffer = new RecordBuffer()
  readonly #inflight = new Set<InflightBatch>()
  readonly #stats = new StatsCounters()
  readonly #abort = new AbortController()
  readonly #spool: DiskSpool | undefined
  readonly #deadLetter: DeadLetterFile | undefined
  readonly #observer: RecordObserver | undefined
  /** No spilling to the spool before this time (ms epoch): it failed to write just now. */
  #spoolBrokenUntil = 0
  /** A batch failed transiently and none has been delivered since: with a spool, records go to disk. */
  #failing = false
  #flushWaiters: FlushWaiter[] = []
  /** Batches waiting out a retry backoff: their wake, and whether a delivery elsewhere may wake them. */
  readonly #backoffs = new Map<(goOn: boolean) => void, { onRecovery: boolean; batch: InflightBatch }>()
  #readyWaiters: (() => void)[] = []
  /** Records up to this seq leave at once, whatever the batch triggers say (flushLevel, flush, close). */
  #forceUpTo = 0
  #lastSeq = 0
  #ageTimer: NodeJS.Timeout | undefined
  #rateTimer: NodeJS.Timeout | undefined
  /** Ends the `block` window of queue.maxBlockMs for a paused reader. */
  #blockTimer: NodeJS.Timeout | undefined
  /** Dispatches again once a sink's Retry-After has passed. */
  #pauseTimer: NodeJS.Timeout | undefined
  /** When the queue last went over its bounds (block policy); undefined while within them. */
  #overSince: number | undefined
  /** No new batch is dispatched before this time (ms epoch): the sink asked us to wait (Retry-After). */
  #pausedUntil = 0
  #pumping = false
  #closed = false
  #closing: Promise<CloseReport> | undefined

  constructor(options: CommonSenderOptions, sink: Sink, context: SenderContext = {}) {
    super()
    // Strict, like every sender's own schema: a misspelt top-level option (`qeue`) must not be
    // silently ignored. Subclasses validate their own keys and pass only the common ones here.
    const parsed = z.strictObject(commonSenderShape).safeParse(options)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error)
    const levels = context.levels ?? new LevelMap()
    this.name = options.name ?? 'sender'
    this.level = options.level === undefined ? Number.NEGATIVE_INFINITY : levels.resolve(options.level, 'level')
    this.#options = resolveDeliveryOptions(...(context.defaults ?? []), options)
    // A flushLevel nobody wrote is the default ('error'): a logger without that name must still start.
    this.#flushLevel = [...(context.defaults ?? []), options].some((layer) => layer?.batch?.flushLevel !== undefined)
      ? levels.resolve(this.#options.batch.flushLevel, 'batch.flushLevel')
      : levels.resolveDefault(this.#options.batch.flushLevel)
    this.#closeTimeoutMs = options.closeTimeoutMs
    const { queue } = this.#options
    if (queue.maxRecordBytes > queue.maxBytes) {
      throw new ConfigError(
        `pino-courier: invalid options: queue.maxRecordBytes: must not exceed queue.maxBytes (${queue.maxBytes})`,
        { paths: ['queue.maxRecordBytes'] },
      )
    }
    const spoolBytes = this.#options.spool?.maxBytes
    const largestBatch = 2 * Math.max(this.#options.batch.maxBytes, queue.maxRecordBytes)
    if (spoolBytes !== undefined && spoolBytes < largestBatch) {
      throw new ConfigError(
        `pino-courier: invalid options: spool.maxBytes: must be at least twice the largest batch (2 x max(batch.maxBytes, queue.maxRecordBytes) = ${largestBatch})`,
        { paths: ['spool.maxBytes'] },
      )
    }
    this.#sink = sink
    this.#observer = context.observer
    this.#retry = new RetryPolicy(this.#options.retry, context.random)
    const { concurrency, rateLimit } = this.#options.pool
    // The pool bounds concurrency only: the rate limit is the engine's, so that retries count too.
    this.#pool = new PQueue({ concurrency })
    this.#rate = new RateLimiter(rateLimit)
    const { spool, deadLetter } = this.#options
    // Refused at start-up rather than at the first failure: a link at the path, a directory others can write.
    if (deadLetter) checkDeadLetterPath(deadLetter)
    this.#deadLetter = deadLetter ? new DeadLetterFile(deadLetter) : undefined
    if (spool) {
      try {
        this.#spool = new DiskSpool(spool, this.name, (frame, reason) => this.#lost(frame, reason))
      } catch (error) {
        throw new ConfigError(
          `pino-courier: invalid options: spool.dir: cannot use "${spool.dir}" (${errorMessage(error)})`,
          { paths: ['spool.dir'], cause: error },
        )
      }
      const stats = this.#stats
      stats.recovered = stats.spooled = this.#spool.unreadRecords
      stats.spooledBytes = this.#spool.unreadBytes
      // What an earlier run left goes out first, once the subclass (the sink) is set up.
      if (stats.recovered > 0) setImmediate(() => this.#abort.signal.aborted || this.#pump())
    }
  }

  /** The options in force, defaults filled in. */
  get options(): Readonly<ResolvedDeliveryOptions> {
    return this.#options
  }

  send(record: LogRecord): boolean {
    if (record.level < this.level) return true
    const stats = this.#stats
    stats.received++
    if (this.#closed) return this.#dropOne(record, 'closed')
    const { queue, batch } = this.#options
    if (record.bytes > queue.maxRecordBytes) return this.#dropOne(record, 'oversize')
    if (!this.#fits(record)) {
      // A full queue hands its oldest records to an idle worker before it drops or blocks anything:
      // waiting for the batch to fill or age (batch.maxRecords may exceed queue.maxRecords) would
      // drop records while a worker sits idle, so capacity N with W workers would not hold N + W
      // batches. `full` covers a record that fits by count but not by bytes, which the queue's own
      // at-the-bounds rule in #pump does not see.
      this.#pump(true)
      // With a spool the whole queue moves to disk, oldest first, behind what is spooled already:
      // the order holds, and memory is freed for the next queue-full of records.
      if (!this.#fits(record) && this.#spool && Date.now() >= this.#spoolBrokenUntil) this.#spill(Number.POSITIVE_INFINITY)
      if (!this.#fits(record) && !this.#admit(record)) return this.#dropOne(record, 'overflow')
    }

    this.#buffer.push(record)
    stats.queued++
    stats.queuedBytes += record.bytes
    this.#boundsChanged()
    // Max, not last: a caller may send records out of creation order, and flush() must still wait
    // for the newest one accepted.
    if (record.seq > this.#lastSeq) this.#lastSeq = record.seq
    // Max again: a flushLevel record created before an earlier flush() must not lower its target.
    if (record.level >= this.#flushLevel && record.seq > this.#forceUpTo) this.#forceUpTo = record.seq
    if (
      this.#forceUpTo >= record.seq ||
      this.#buffer.size >= batch.maxRecords ||
      this.#buffer.bytes >= batch.maxBytes ||
      this.#atBounds()
    ) {
      this.#pump()
    } else if (this.#ageTimer === undefined) {
      this.#armAgeTimer()
    }
    // Within the block window this is false and the reader pauses; past it #admit kept the queue
    // within its bounds, so the reader goes on.
    return queue.overflow !== 'block' || this.#withinBounds()
  }

  ready(): Promise<void> {
    if (this.#closed || this.#withinBounds() || this.#blockExpired()) return Promise.resolve()
    const ready = new Promise<void>((resolve) => this.#readyWaiters.push(resolve))
    this.#armBlockTimer()
    // A waiting reader makes the queue due (#pump), in case nothing else would dispatch it.
    this.#pump()
    return ready
  }

  flush(): Promise<void> {
    const target = this.#lastSeq
    if (this.#minUnsettledSeq() > target) return Promise.resolve()
    if (target > this.#forceUpTo) this.#forceUpTo = target
    const done = new Promise<void>((resolve) => this.#flushWaiters.push({ seq: target, resolve }))
    this.#pump()
    return done
  }

  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    return (this.#closing ??= this.#close(closeDeadline(options.timeoutMs, this.#closeTimeoutMs)))
  }

  /** Alias of `close()` for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  stats(): SenderStats {
    return this.#stats.snapshot(this.name, this.#spool?.stats())
  }

  // ---- queue bounds ------------------------------------------------------------------------

  #fits(record: LogRecord): boolean {
    const { maxRecords, maxBytes } = this.#options.queue
    return this.#buffer.size < maxRecords && this.#buffer.bytes + record.bytes <= maxBytes
  }

  #withinBounds(): boolean {
    const { maxRecords, maxBytes } = this.#options.queue
    return this.#buffer.size <= maxRecords && this.#buffer.bytes <= maxBytes
  }

  /** At or over the bounds, or a reader waiting for room: the queue should go out at once. */
  #atBounds(): boolean {
    const { maxRecords, maxBytes } = this.#options.queue
    return this.#buffer.size >= maxRecords || this.#buffer.bytes >= maxBytes || this.#readyWaiters.length > 0
  }

  /** Whether the queue has been over its bounds for queue.maxBlockMs or longer. */
  #blockExpired(): boolean {
    return this.#overSince !== undefined && Date.now() - this.#overSince >= this.#options.queue.maxBlockMs
  }

  /** Tracks when the queue went over its bounds, and wakes paused readers once it is back within. */
  #boundsChanged(): void {
    if (this.#withinBounds()) {
      this.#overSince = undefined
      if (this.#readyWaiters.length > 0) this.#wakeReady()
    } else {
      this.#overSince ??= Date.now()
    }
  }

  /** Decides about a record that does not fit: true to enqueue it, false to drop it. */
  #admit(record: LogRecord): boolean {
    const { overflow } = this.#options.queue
    if (overflow !== 'block') return this.#makeRoom(record, overflow === 'drop-oldest')
    // Block keeps the record and pauses the reader, but only for maxBlockMs: a paused reader never
    // sees pino's end of stream, so an exiting app with a dead sink would hang in pino's exit.
    return this.#blockExpired() ? this.#makeRoom(record, false) : true
  }

  /**
   * Evicts records of a lower level (or, with `dropOldest`, of the same level, oldest first) until
   * `record` fits. Levels compare by lane bucket (their decade, see levelBucket): records sharing a
   * lane count as one level.
   */
  #makeRoom(record: LogRecord, dropOldest: boolean): boolean {
    const incoming = levelBucket(record.level)
    while (!this.#fits(record)) {
      const lowest = this.#buffer.lowestBucket()
      if (lowest === undefined || lowest > incoming || (!dropOldest && lowest === incoming)) return false
      const victim = dropOldest ? this.#buffer.shiftLowest() : this.#buffer.popLowest()
      if (!victim) return false
      this.#stats.queued--
      this.#stats.queuedBytes -= victim.bytes
      this.#dropOne(victim, 'overflow')
    }
    return true
  }

  #dropOne(record: LogRecord, reason: DropReason): boolean {
    this.#drop(1, reason)
    if (this.#observer) this.#observe([record], reason)
    return true
  }

  /** Tells the observer; its mistakes must not break the queue's own bookkeeping. */
  #observe(records: readonly LogRecord[], outcome: RecordOutcome | 'dispatched', failure?: FailureRecord): void {
    const observer = this.#observer
    try {
      if (outcome === 'dispatched') observer?.dispatched?.(records)
      else observer?.settled?.(records, outcome, failure)
    } catch {
      // An observer is told, not asked: what it does with the news is its own business.
    }
  }

  #drop(records: number, reason: DropReason): void {
    this.#stats.dropped[reason] += records
    if (this.listenerCount('drop') > 0) this.emit('drop', { sender: this.name, reason, records })
    if (this.#flushWaiters.length > 0) this.#settleWaiters()
  }

  // ---- dispatch ----------------------------------------------------------------------------

  /**
   * Dispatches due batches to idle workers; `full` makes the first batch due (a record does not fit).
   * A queue at its bounds is always due, so that a full queue leaves as soon as a worker is free
   * rather than after batch.maxWaitMs.
   */
  #pump(full = false): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      const { batch, pool } = this.#options
      // A failing sink with a spool: batches that are due go to disk rather than wait in memory, where
      // a crash would lose them. The workers then take them from the spool like any other.
      if (this.#spool && this.#failing) {
        while (this.#headDue(full) && Date.now() >= this.#spoolBrokenUntil) {
          this.#spill(1)
          full = false
        }
      }
      // Closing with a failing sink sends nothing new: what is not on disk yet went there just above.
      const holding = this.#closed && this.#failing && this.#spool !== undefined
      while (!holding && this.#inflight.size < pool.concurrency) {
        // The spool first: everything in it is older than what waits in memory.
        const frame = this.#spool?.peek()
        if (!frame && !this.#headDue(full)) break
        if (Date.now() < this.#pausedUntil) {
          this.#armPauseTimer()
          break
        }
        const allowance = this.#rate.allowance()
        // A spooled batch cannot be cut: it waits for a window with room for it (or a fresh one).
        if (allowance <= 0 || (frame && !this.#rate.admits(frame.count))) {
          this.#armRateTimer()
          break
        }
        if (frame) {
          if (!this.#dispatchFrame(frame)) break
        } else this.#dispatch(Math.min(batch.maxRecords, allowance))
        full = false
      }
      if (
        this.#buffer.size > 0 &&
        (this.#inflight.size < pool.concurrency || (this.#spool !== undefined && this.#failing)) &&
        this.#rateTimer === undefined &&
        this.#pauseTimer === undefined
      ) {
        this.#armAgeTimer()
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Whether the oldest record in memory is due to leave (`full`: a record does not fit). */
  #headDue(full: boolean): boolean {
    const head = this.#buffer.peekOldest()
    if (!head) return false
    const { batch } = this.#options
    return (
      full ||
      head.seq <= this.#forceUpTo ||
      this.#buffer.size >= batch.maxRecords ||
      this.#buffer.bytes >= batch.maxBytes ||
      this.#atBounds() ||
      Date.now() - head.time >= batch.maxWaitMs
    )
  }

  /** Takes the oldest records from memory, at most `limit` and batch.maxBytes (one record at least). */
  #cut(limit: number): { records: LogRecord[]; bytes: number } {
    const maxBytes = this.#options.batch.maxBytes
    const records: LogRecord[] = []
    let bytes = 0
    while (records.length < limit) {
      const next = this.#buffer.peekOldest()
      if (!next || (records.length > 0 && bytes + next.bytes > maxBytes)) break
      this.#buffer.shiftOldest()
      records.push(next)
      bytes += next.bytes
    }
    this.#stats.queued -= records.length
    this.#stats.queuedBytes -= bytes
    return { records, bytes }
  }

  #dispatch(limit: number): void {
    const { records, bytes } = this.#cut(limit)
    this.#stats.inFlight += records.length
    this.#rate.take(records.length)
    if (this.#observer) this.#observe(records, 'dispatched')
    this.#launch({
      id: randomUUID(),
      records,
      bytes,
      firstSeq: (records[0] as LogRecord).seq,
      count: records.length,
      settled: false,
      frame: undefined,
    })
    this.#boundsChanged()
  }

  /**
   * Sends a batch from the spool, with the id it was spooled with. False when its file could not be
   * read just now: sending pauses a moment (the frame is still first in line, and order holds).
   */
  #dispatchFrame(frame: SpoolFrame): boolean {
    const spool = this.#spool as DiskSpool
    const stats = this.#stats
    let content
    try {
      content = spool.take(frame)
    } catch (error) {
      if (error instanceof SpoolReadError && error.transient) {
        this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + SPOOL_READ_RETRY_MS)
        this.#armPauseTimer()
        return false
      }
      // Damaged on disk: counted, and the next frame goes on.
      stats.spooled -= frame.count
      stats.spooledBytes -= frame.bytes
      this.#drop(frame.count, 'spoolError')
      return true
    }
    stats.spooled -= frame.count
    stats.spooledBytes -= frame.bytes
    const { lines, levels } = content
    const records = lines.map((line, i) => new LogRecord(line, levels[i] as number))
    stats.inFlight += frame.count
    if (this.#observer) this.#observe(records, 'dispatched')
    this.#rate.take(frame.count)
    this.#launch({ id: frame.id, records, bytes: frame.bytes, firstSeq: frame.firstSeq, count: frame.count, settled: false, frame })
    return true
  }

  #launch(batch: InflightBatch): void {
    this.#inflight.add(batch)
    void this.#pool.add(() => this.#run(batch))
  }

  /**
   * Moves up to `frames` batches from memory to the end of the spool, oldest first. A batch the spool
   * cannot take is dropped (`spoolFull` without room, `spoolError` on a write error); after a write
   * error spilling pauses for a while: the queue's own overflow policy then applies, rather than a
   * broken disk swallowing every queue-full.
   */
  #spill(frames: number): void {
    const spool = this.#spool as DiskSpool
    // A spooled batch is sent whole: cut it to what the rate limit allows per window.
    const limit = Math.min(this.#options.batch.maxRecords, this.#options.pool.rateLimit?.maxRecords ?? Number.POSITIVE_INFINITY)
    for (let n = 0; n < frames && this.#buffer.size > 0; n++) {
      const { records, bytes } = this.#cut(limit)
      const result = spool.append(frameOf(randomUUID(), records), (records[0] as LogRecord).seq, 'tail')
      if ('error' in result) {
        this.#spoolFailed(result, records.length)
        if (this.#observer) this.#observe(records, result.full ? 'spoolFull' : 'spoolError')
        break
      }
      this.#stats.spooled += records.length
      this.#stats.spooledBytes += bytes
      if (this.#observer) this.#observe(records, 'spooled')
    }
    this.#boundsChanged()
    // While the sink fails, records on disk count as settled for flush(): a waiter may be done now.
    if (this.#failing && this.#flushWaiters.length > 0) this.#settleWaiters()
  }

  /** Stores a batch that is being sent in the spool, so that a crash during its retries loses nothing. */
  #persist(batch: InflightBatch): void {
    const result = (this.#spool as DiskSpool).append(frameOf(batch.id, batch.records), batch.firstSeq, 'front')
    // Not stored: it goes on as a batch in memory, with the usual retry limits.
    if ('error' in result) {
      this.#spoolFailed(result, 0)
      return
    }
    batch.frame = result
    // While the sink fails, a batch on disk counts as settled for flush(): every batch that reaches
    // the disk may be the last one a waiter was waiting for (with several in flight, the first failure
    // finds the others not stored yet).
    if (this.#failing && this.#flushWaiters.length > 0) this.#settleWaiters()
  }

  #spoolFailed(failure: { error: unknown; full: boolean }, records: number): void {
    if (records > 0) this.#drop(records, failure.full ? 'spoolFull' : 'spoolError')
    this.#spool?.noteError(errorMessage(failure.error))
    if (!failure.full) this.#spoolBrokenUntil = Date.now() + SPOOL_RETRY_AFTER_ERROR_MS
  }

  /** An unread frame is gone: evicted from a full spool, or its file was removed. */
  #lost(frame: SpoolFrame, reason: SpoolLoss): void {
    this.#stats.spooled -= frame.count
    this.#stats.spooledBytes -= frame.bytes
    this.#drop(frame.count, reason)
  }

  #armAgeTimer(): void {
    if (this.#ageTimer !== undefined || this.#closed) return
    const head = this.#buffer.peekOldest()
    if (!head) return
    const delay = Math.max(0, head.time + this.#options.batch.maxWaitMs - Date.now())
    this.#ageTimer = setTimer(() => {
      this.#ageTimer = undefined
      this.#pump()
    }, delay)
  }

  #armRateTimer(): void {
    if (this.#rateTimer !== undefined || !this.#rate.limited) return
    this.#rateTimer = setTimer(() => {
      this.#rateTimer = undefined
      this.#pump()
    }, this.#rate.msToNextWindow())
  }

  #armPauseTimer(): void {
    // Not #closed: close() drains through a pause too, until its deadline aborts.
    if (this.#pauseTimer !== undefined || this.#abort.signal.aborted) return
    // A Retry-After can outlast a timer: #pump checks the clock and arms this again until it has passed.
    this.#pauseTimer = setTimer(
      () => {
        this.#pauseTimer = undefined
        this.#pump()
      },
      Math.max(0, this.#pausedUntil - Date.now()),
    )
  }

  #armBlockTimer(): void {
    if (this.#blockTimer !== undefined || this.#overSince === undefined || this.#closed) return
    const delay = Math.max(0, this.#overSince + this.#options.queue.maxBlockMs - Date.now())
    this.#blockTimer = setTimer(() => {
      this.#blockTimer = undefined
      this.#wakeReady()
    }, delay)
  }

  // ---- delivery ----------------------------------------------------------------------------

  async #run(batch: InflightBatch): Promise<void> {
    // p-queue starts a job inside add(), that is inside the send() that completed the batch (in the
    // in-process stream, the app's logger call): the sink must not build its request there.
    await Promise.resolve()
    if (batch.settled || this.#abort.signal.aborted) return
    const started = Date.now()
    const { timeoutMs } = this.#options.pool
    for (let attempt = 1; !batch.settled; attempt++) {
      const attemptAbort = new AbortController()
      const timer = setTimer(() => attemptAbort.abort(new DeliveryTimeoutError(timeoutMs)), timeoutMs)
      const onClose = (): void => {
        // A hung sink never reaches the finally below: without this the attempt's timer would
        // outlive close() and hold the process (or worker) open for up to pool.timeoutMs.
        clearTimeout(timer)
        attemptAbort.abort(this.#abort.signal.reason)
      }
      this.#abort.signal.addEventListener('abort', onClose, { once: true })
      let error: unknown
      this.#stats.attempts++
      try {
        // Race the sink against the attempt's signal: a sink that ignores its signal must not hold
        // a worker slot past pool.timeoutMs (the attempt then counts as timed out and is retried).
        await Promise.race([
          this.#sink.deliver(batch, { signal: attemptAbort.signal, attempt }),
          rejectOnAbort(attemptAbort.signal, this.#abort.signal),
        ])
        this.#settle(batch, 'delivered')
        return
      } catch (caught) {
        // A sink may throw anything, synchronously or not; the pool must survive it.
        error = caught
      } finally {
        clearTimeout(timer)
        this.#abort.signal.removeEventListener('abort', onClose)
      }
      if (batch.settled || this.#abort.signal.aborted) return
      this.#stats.lastError = { at: Date.now(), message: errorMessage(error) }
      const retryAfterMs = this.#retry.retryAfterMs(error)
      if (retryAfterMs !== undefined) {
        // The sink asked the sender, not only this batch, to wait: other batches hold off too.
        this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + retryAfterMs)
      }
      if (!(error instanceof DeliveryError && error.permanent)) {
        if (this.#spool && !batch.frame && Date.now() >= this.#spoolBrokenUntil) this.#persist(batch)
        this.#markFailing()
        // Closing gives a batch one last try, no backoff: on disk, it waits for the next start.
        if (this.#closed && batch.frame) {
          this.#leaveInSpool(batch)
          return
        }
      }
      // A batch safe in the spool is not given up after retry.maxAttempts / maxRetryTimeMs: it waits
      // for the sink (or for close, which leaves it in the spool for the next start).
      const decision = this.#retry.decide(error, attempt, Date.now() - started, batch.frame !== undefined)
      if (!decision.retry) {
        this.#settle(batch, 'failed', { error, attempts: attempt, reason: decision.reason })
        return
      }
      this.#stats.retried += batch.count
      if (this.listenerCount('retry') > 0) {
        let waitingRecords = batch.count
        for (const { batch: other } of this.#backoffs.values()) waitingRecords += other.count
        this.emit('retry', {
          sender: this.name,
          records: batch.count,
          attempt,
          delayMs: decision.delayMs,
          error: errorMessage(error),
          waitingRecords,
          waitingBatches: this.#backoffs.size + 1,
        })
      }
      if (
        !(await this.#backoff(decision.delayMs, isUnreachable(error), batch)) ||
        !(await this.#rateGate(batch))
      ) {
        // close() gave up on it during a Retry-After pause: it stays in the spool for the next start.
        if (this.#closed && batch.frame && !batch.settled && !this.#abort.signal.aborted) this.#leaveInSpool(batch)
        return
      }
    }
  }

  /**
   * Waits until the rate limit lets a retry of `batch` start, and counts it there: every request the
   * sender makes is within `pool.rateLimit`, retries included. False when close() gives up on the
   * batch meanwhile.
   */
  async #rateGate(batch: InflightBatch): Promise<boolean> {
    while (!this.#rate.admits(batch.count)) {
      if (!(await this.#backoff(this.#rate.msToNextWindow(), false, batch)) || batch.settled) return false
    }
    this.#rate.take(batch.count)
    return true
  }

  /**
   * Waits out a retry backoff: resolves true when it is over or cut short (#wakeBackoffs), false when
   * close() gives up on the batch (its deadline, or a spooled batch in a Retry-After pause). `onRecovery`:
   * a delivery elsewhere may cut it short.
   */
  #backoff(ms: number, onRecovery: boolean, batch: InflightBatch): Promise<boolean> {
    const signal = this.#abort.signal
    if (signal.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (goOn: boolean): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#backoffs.delete(wake)
        resolve(goOn)
      }
      const onAbort = (): void => done(false)
      const wake = (goOn: boolean): void => done(goOn)
      const timer = setTimer(wake, ms, true)
      signal.addEventListener('abort', onAbort, { once: true })
      this.#backoffs.set(wake, { onRecovery, batch })
    })
  }

  /**
   * Ends retry backoffs now, unless the sink asked us to wait (Retry-After). On a delivery
   * (`'recovery'`) only batches that could not reach the sink at all wake: the sink is back, and
   * seconds of backoff would only delay the backlog. A batch the sink answered with an error status
   * (429, 503) keeps its backoff: the sink is up but shedding load, and waking every such batch on each
   * success would hammer it. At close every batch gets one last try; during a Retry-After pause a batch
   * that is safe in the spool is left there instead of holding close up.
   */
  #wakeBackoffs(why: 'recovery' | 'close'): void {
    if (this.#backoffs.size === 0) return
    const paused = Date.now() < this.#pausedUntil
    for (const [wake, { onRecovery, batch }] of [...this.#backoffs]) {
      if (!paused && (why === 'close' || onRecovery)) wake(true)
      else if (paused && why === 'close' && batch.frame) wake(false)
    }
  }

  /** A batch failed transiently: with a spool, records now go to disk, and flush() counts them as settled. */
  #markFailing(): void {
    if (this.#failing) return
    this.#failing = true
    if (this.#spool) {
      // Due records go to disk first (#pump), then flush waiters see them settled.
      this.#pump()
      this.#settleWaiters()
    }
  }

  #settle(
    batch: InflightBatch,
    outcome: 'delivered' | 'failed' | 'spooled' | 'closed' | 'spoolError',
    failure?: { error: unknown; attempts: number; reason: 'permanent' | 'exhausted' },
  ): void {
    if (batch.settled) return
    batch.settled = true
    this.#inflight.delete(batch)
    const stats = this.#stats
    const count = batch.count
    stats.inFlight -= count
    // Left in the spool at close: its frame stays on disk for the next start.
    if (batch.frame && outcome !== 'spooled') this.#spool?.done(batch.frame)
    if (outcome === 'delivered') {
      stats.delivered += count
      stats.deliveredBytes += batch.bytes
      if (this.#observer) this.#observe(batch.records, 'delivered')
      this.#failing = false
      this.#wakeBackoffs('recovery')
    } else if (outcome === 'failed') {
      failure ??= { error: new Error('failed'), attempts: 0, reason: 'permanent' }
      stats.failed += count
      const status = (failure.error as { status?: unknown } | null)?.status
      let error = errorMessage(failure.error)
      if (this.#deadLetter) {
        try {
          this.#deadLetter.write(batch.records)
          stats.deadLettered += count
        } catch (dlqError) {
          error += `; not written to the dead-letter file either: ${errorMessage(dlqError)}`
        }
      }
      const record = {
        at: Date.now(),
        records: count,
        attempts: failure.attempts,
        reason: failure.reason,
        error,
        ...(typeof status === 'number' ? { status } : {}),
      }
      stats.addFailure(record)
      if (this.#observer) this.#observe(batch.records, 'failed', record)
      if (this.listenerCount('failure') > 0) this.emit('failure', { ...record, sender: this.name })
    } else if (outcome === 'spooled') {
      stats.spooled += count
      stats.spooledBytes += batch.bytes
      if (this.#observer) this.#observe(batch.records, 'spooled')
    } else {
      stats.dropped[outcome] += count
      if (this.#observer) this.#observe(batch.records, outcome)
      if (this.listenerCount('drop') > 0) this.emit('drop', { sender: this.name, reason: outcome, records: count })
    }
    this.#settleWaiters()
    if (!this.#abort.signal.aborted) this.#pump()
  }

  // ---- flush and close ---------------------------------------------------------------------

  /**
   * The oldest record not yet settled. While the sink is failing, records safe in the spool count as
   * settled: flush() then means "delivered or on disk", instead of waiting for the sink to come back.
   */
  #minUnsettledSeq(): number {
    const atRest = this.#spool !== undefined && this.#failing
    let min = this.#buffer.peekOldest()?.seq ?? Number.POSITIVE_INFINITY
    // Closing waits for the one last try of every batch in flight (see #run): it may be delivered yet.
    for (const batch of this.#inflight) {
      if (batch.firstSeq < min && !(atRest && batch.frame && !this.#closed)) min = batch.firstSeq
    }
    if (!atRest) {
      const frame = this.#spool?.peek()
      if (frame && frame.firstSeq < min) min = frame.firstSeq
    }
    return min
  }

  #settleWaiters(): void {
    if (this.#flushWaiters.length === 0) return
    const min = this.#minUnsettledSeq()
    const still: FlushWaiter[] = []
    for (const waiter of this.#flushWaiters) {
      if (waiter.seq < min) waiter.resolve()
      else still.push(waiter)
    }
    this.#flushWaiters = still
  }

  #wakeReady(): void {
    clearTimeout(this.#blockTimer)
    this.#blockTimer = undefined
    const waiters = this.#readyWaiters
    this.#readyWaiters = []
    for (const wake of waiters) wake()
  }

  async #close(timeoutMs: number): Promise<CloseReport> {
    const deadline = Date.now() + timeoutMs
    this.#closed = true
    this.#wakeReady()
    this.#forceUpTo = Number.POSITIVE_INFINITY
    // Closing is the last chance: batches waiting out a backoff try again now, within the deadline.
    // With a spool that try is their only one: if it fails they wait on disk for the next start.
    this.#wakeBackoffs('close')
    const drained = this.flush()
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimer(resolve, timeoutMs, true))),
    ])
    clearTimeout(timer)
    clearTimeout(this.#ageTimer)
    clearTimeout(this.#rateTimer)
    clearTimeout(this.#pauseTimer)
    clearTimeout(this.#blockTimer)
    this.#ageTimer = this.#rateTimer = this.#pauseTimer = this.#blockTimer = undefined

    let abandoned = 0
    if (this.#spool && (timedOut || this.#inflight.size > 0 || this.#buffer.size > 0)) {
      // Past the deadline, or the sink is failing and everything is safe on disk already: what is
      // left goes to the spool for the next start.
      this.#abort.abort(new Error(`${this.name}: closing; undelivered batches stay in the spool`))
      this.#pool.clear()
      const before = this.#stats.dropped.spoolError
      this.#spoolLeftovers()
      abandoned += this.#stats.dropped.spoolError - before
    } else if (timedOut) {
      this.#abort.abort(new Error(`${this.name}: close deadline of ${timeoutMs} ms passed`))
      this.#pool.clear()
      const left = this.#buffer.drain()
      if (left.length > 0) {
        let bytes = 0
        for (const record of left) bytes += record.bytes
        abandoned += left.length
        this.#stats.queued -= left.length
        this.#stats.queuedBytes -= bytes
        this.#stats.dropped.closed += left.length
        if (this.#observer) this.#observe(left, 'closed')
        if (this.listenerCount('drop') > 0) this.emit('drop', { sender: this.name, reason: 'closed', records: left.length })
      }
      for (const batch of [...this.#inflight]) {
        abandoned += batch.count
        this.#settle(batch, 'closed')
      }
      this.#settleWaiters()
    }
    await this.#closeSink(Math.max(deadline - Date.now(), CLOSE_SINK_GRACE_MS))
    this.#spool?.close()
    this.#deadLetter?.close()
    const stats = this.stats()
    return {
      name: this.name,
      undelivered: stats.failed + totalDropped(stats),
      abandonedAtDeadline: abandoned,
      spooled: stats.spooled,
      timedOut,
      stats,
    }
  }

  /** At close: a batch in flight stays in the spool for the next start (stored now if it is not yet). */
  #leaveInSpool(batch: InflightBatch): void {
    // Its copy went with a removed spool directory: store it again.
    if (batch.frame && !this.#spool?.isOnDisk(batch.frame)) batch.frame = undefined
    if (!batch.frame) this.#persist(batch)
    this.#settle(batch, batch.frame ? 'spooled' : 'spoolError')
  }

  /**
   * At close: batches in flight (older) go in front of the spool, then what waits in memory behind
   * it. Batches from the spool are there already. What the spool cannot take is dropped, counted.
   */
  #spoolLeftovers(): void {
    // A write error (disk full) must not stop the rest from being tried.
    this.#spoolBrokenUntil = 0
    // Each goes in front of the one before: newest first, so that they come back oldest first.
    const inflight = [...this.#inflight].sort((a, b) => b.firstSeq - a.firstSeq)
    for (const batch of inflight) this.#leaveInSpool(batch)
    this.#spoolBrokenUntil = 0
    while (this.#buffer.size > 0) {
      this.#spill(Number.POSITIVE_INFINITY)
      this.#spoolBrokenUntil = 0
    }
    this.#settleWaiters()
  }

  async #closeSink(timeoutMs: number): Promise<void> {
    if (!this.#sink.close) return
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        Promise.resolve().then(() => this.#sink.close?.()),
        new Promise<void>((resolve) => (timer = setTimer(resolve, timeoutMs))),
      ])
    } catch {
      // Closing a broken sink must not turn close() into a rejection: its records are accounted for.
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Rejects with the signal's reason one event-loop turn after it aborts, unless `closed` has
 * aborted (never settles otherwise).
 * The turn lets a sink that honours the signal reject first, with its own, more telling error.
 */
function rejectOnAbort(signal: AbortSignal, closed: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    // Past the close deadline the batch is already settled as dropped: nothing waits for this.
    const later = (): void => void (closed.aborted || setImmediate(() => reject(signal.reason)))
    if (signal.aborted) later()
    else signal.addEventListener('abort', later, { once: true })
  })
}

/**
 * The deadline a sender's close() uses: a courier passes its own (`given`); a sender configured with a
 * shorter one (`own`) keeps it.
 */
export function closeDeadline(given: number | undefined, own: number | undefined): number {
  return given === undefined ? (own ?? DEFAULT_CLOSE_TIMEOUT_MS) : Math.min(given, own ?? given)
}

/** A spool frame's content: the batch's id, and each record's level and line. */
function frameOf(id: string, records: readonly LogRecord[]): FrameContent {
  return { id, levels: records.map((r) => r.level), lines: records.map((r) => r.line) }
}

/**
 * Whether a failure says the sink could not be reached (network error, timeout, a custom sink's plain
 * error) rather than that it answered with an error status.
 */
function isUnreachable(error: unknown): boolean {
  return !(error instanceof DeliveryError && error.status !== undefined)
}

/** A one-line message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // The parts are what a reader needs ("disk gone"), not only how many there were.
    return `${error.name}: ${error.message}: ${error.errors.map(errorMessage).join('; ')}`
  }
  if (error instanceof Error) {
    // The cause only when it adds something: a message that quotes it already needs it no second time.
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : ''
    return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}${cause}`
  }
  return String(error)
}
