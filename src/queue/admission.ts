import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { LogRecord } from '../input/record.js'
import type { Ledger } from '../stats/ledger.js'
import { setTimer } from '../timers.js'
import { levelBucket, RecordBuffer } from './record-buffer.js'

/**
 * The queue's door: records waiting for a worker ({@link RecordBuffer}), the bounds they must stay
 * within, and what happens to one more record when they are reached (the overflow policy: evict a
 * lower level, refuse, or keep it and pause the reader for at most `queue.maxBlockMs`).
 */
export class Admission {
  readonly buffer = new RecordBuffer()
  readonly #options: ResolvedDeliveryOptions['queue']
  readonly #ledger: Ledger
  #readyWaiters: (() => void)[] = []
  /** When the queue last went over its bounds (block policy); undefined while within them. */
  #overSince: number | undefined
  /** Ends the `block` window of queue.maxBlockMs for a paused reader. */
  #blockTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: ResolvedDeliveryOptions['queue'], ledger: Ledger) {
    this.#options = options
    this.#ledger = ledger
  }

  get maxRecordBytes(): number {
    return this.#options.maxRecordBytes
  }

  get size(): number {
    return this.buffer.size
  }

  /** Seq of the oldest waiting record (Infinity when empty). */
  oldestSeq(): number {
    return this.buffer.peekOldest()?.seq ?? Number.POSITIVE_INFINITY
  }

  fits(record: LogRecord): boolean {
    const { maxRecords, maxBytes } = this.#options
    return this.buffer.size < maxRecords && this.buffer.bytes + record.bytes <= maxBytes
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

  push(record: LogRecord): void {
    this.buffer.push(record)
    this.#ledger.queued(record)
    this.boundsChanged()
  }

  /** Decides about a record that does not fit: true to enqueue it, false to drop it. */
  admit(record: LogRecord): boolean {
    const { overflow } = this.#options
    if (overflow !== 'block') return this.#makeRoom(record, overflow === 'drop-oldest')
    // Block keeps the record and pauses the reader, but only for maxBlockMs: a paused reader never
    // sees pino's end of stream, so an exiting app with a dead sink would hang in pino's exit.
    return this.blockExpired() ? this.#makeRoom(record, false) : true
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

  /** Takes everything out (at the close deadline), oldest first. */
  drain(): { records: LogRecord[]; bytes: number; count: number } {
    const records = this.buffer.drain()
    let bytes = 0
    for (const record of records) bytes += record.bytes
    return { records, bytes, count: records.length }
  }

  /**
   * Evicts records of a lower level (or, with `dropOldest`, of the same level, oldest first) until
   * `record` fits. Levels compare by lane bucket (their decade, see levelBucket): records sharing a
   * lane count as one level.
   */
  #makeRoom(record: LogRecord, dropOldest: boolean): boolean {
    const incoming = levelBucket(record.level)
    while (!this.fits(record)) {
      const lowest = this.buffer.lowestBucket()
      if (lowest === undefined || lowest > incoming || (!dropOldest && lowest === incoming)) return false
      const victim = dropOldest ? this.buffer.shiftLowest() : this.buffer.popLowest()
      if (!victim) return false
      this.#ledger.droppedFromQueue({ count: 1, bytes: victim.bytes, records: [victim] }, 'overflow')
    }
    return true
  }
}
