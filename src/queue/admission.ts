import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { Ledger } from '../stats/ledger.js'
import { setTimer } from '../timers.js'
import { levelBucket, RecordBuffer } from './record-buffer.js'
import type { RecordLog } from './record-log.js'

/**
 * The queue's door: records waiting for a worker ({@link RecordBuffer}), the bounds they must stay
 * within, and what happens to one more record when they are reached (the overflow policy: evict a
 * lower level, refuse, or keep it and pause the reader for at most `queue.maxBlockMs`).
 */
export class Admission {
  readonly buffer: RecordBuffer
  readonly #options: ResolvedDeliveryOptions['queue']
  readonly #log: RecordLog
  readonly #ledger: Ledger
  #readyWaiters: (() => void)[] = []
  /** When the queue last went over its bounds (block policy); undefined while within them. */
  #overSince: number | undefined
  /** Ends the `block` window of queue.maxBlockMs for a paused reader. */
  #blockTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: ResolvedDeliveryOptions['queue'], log: RecordLog, ledger: Ledger) {
    this.#options = options
    this.#log = log
    this.#ledger = ledger
    this.buffer = new RecordBuffer(log)
  }

  get maxRecordBytes(): number {
    return this.#options.maxRecordBytes
  }

  get size(): number {
    return this.buffer.size
  }

  /** Seq of the oldest waiting record (Infinity when empty). */
  oldestSeq(): number {
    const head = this.buffer.peekOldest()
    return head < 0 ? Number.POSITIVE_INFINITY : this.#log.seq(head)
  }

  /** Whether one more record of `bytes` fits. */
  fits(bytes: number): boolean {
    const { maxRecords, maxBytes } = this.#options
    return this.buffer.size < maxRecords && this.buffer.bytes + bytes <= maxBytes
  }

  withinBounds(): boolean {
    const { maxRecords, maxBytes } = this.#options
    return this.buffer.size <= maxRecords && this.buffer.bytes <= maxBytes
  }

  /** At or over the bounds, or a reader waiting for room: the queue should go out at once. */
  atBounds(): boolean {
    const { maxRecords, maxBytes } = this.#options
    return this.buffer.size >= maxRecords || this.buffer.bytes >= maxBytes || this.#readyWaiters.length > 0
  }

  /** Whether the reader may go on: always, except under `block` while the queue is over its bounds. */
  acceptsMore(): boolean {
    return this.#options.overflow !== 'block' || this.withinBounds()
  }

  /** Whether the queue has been over its bounds for queue.maxBlockMs or longer. */
  blockExpired(): boolean {
    return this.#overSince !== undefined && Date.now() - this.#overSince >= this.#options.maxBlockMs
  }

  /** Queues the record: the sender holds it in the log until it leaves. */
  push(ref: number, level: number, bytes: number): void {
    this.#log.hold(ref)
    this.buffer.push(ref, level, bytes)
    this.#ledger.queued(bytes)
    this.boundsChanged()
  }

  /** Decides about a record that does not fit: true to enqueue it, false to drop it. */
  admit(level: number, bytes: number): boolean {
    const { overflow } = this.#options
    if (overflow !== 'block') return this.#makeRoom(level, bytes, overflow === 'drop-oldest')
    // Block keeps the record and pauses the reader, but only for maxBlockMs: a paused reader never
    // sees pino's end of stream, so an exiting app with a dead sink would hang in pino's exit.
    return this.blockExpired() ? this.#makeRoom(level, bytes, false) : true
  }

  /** Tracks when the queue went over its bounds, and wakes paused readers once it is back within. */
  boundsChanged(): void {
    if (this.withinBounds()) {
      this.#overSince = undefined
      if (this.#readyWaiters.length > 0) this.wakeReady()
    } else {
      this.#overSince ??= Date.now()
    }
  }

  /** A paused reader waits here until the queue is back within its bounds or its block window ends. */
  waitForRoom(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.#readyWaiters.push(resolve))
    if (this.#blockTimer === undefined && this.#overSince !== undefined && !this.#closed) {
      const delay = Math.max(0, this.#overSince + this.#options.maxBlockMs - Date.now())
      this.#blockTimer = setTimer(() => {
        this.#blockTimer = undefined
        this.wakeReady()
      }, delay)
    }
    return ready
  }

  wakeReady(): void {
    clearTimeout(this.#blockTimer)
    this.#blockTimer = undefined
    const waiters = this.#readyWaiters
    this.#readyWaiters = []
    for (const wake of waiters) wake()
  }

  /** Closing: paused readers go on, and no block window starts again. */
  close(): void {
    this.#closed = true
    this.wakeReady()
  }

  /** Takes everything out (at the close deadline), oldest first: the caller counts and releases them. */
  drain(): { refs: number[]; bytes: number; count: number } {
    const bytes = this.buffer.bytes
    const refs = this.buffer.drain()
    return { refs, bytes, count: refs.length }
  }

  /**
   * Evicts records of a lower level (or, with `dropOldest`, of the same level, oldest first) until
   * a record of `level` and `bytes` fits. Levels compare by lane bucket (their decade, see levelBucket): records sharing a
   * lane count as one level.
   */
  #makeRoom(level: number, bytes: number, dropOldest: boolean): boolean {
    const incoming = levelBucket(level)
    while (!this.fits(bytes)) {
      const lowest = this.buffer.lowestBucket()
      if (lowest === undefined || lowest > incoming || (!dropOldest && lowest === incoming)) return false
      const victim = dropOldest ? this.buffer.shiftLowest() : this.buffer.popLowest()
      if (victim < 0) return false
      this.#ledger.droppedFromQueue({ count: 1, bytes: this.#log.bytes(victim), refs: [victim] }, 'overflow')
      this.#log.release(victim)
    }
    return true
  }
}
