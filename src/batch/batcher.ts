import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { LogRecord } from '../input/record.js'
import type { Admission } from '../queue/admission.js'
import { setTimer } from '../timers.js'

/**
 * Decides when the head of the queue leaves as a batch (count, bytes, age, a flush-level record, a
 * flush() or close(), a full queue) and cuts it. Owns the "everything up to this seq leaves now" mark
 * and the age timer.
 */
export class Batcher {
  readonly #options: ResolvedDeliveryOptions['batch']
  readonly #flushLevel: number
  readonly #queue: Admission
  readonly #onDue: () => void
  /** Records up to this seq leave at once, whatever the batch triggers say (flushLevel, flush, close). */
  #forceUpTo = 0
  #lastSeq = 0
  #ageTimer: NodeJS.Timeout | undefined
  #closed = false

  /** `onDue`: called when the age timer finds the head due. */
  constructor(options: ResolvedDeliveryOptions['batch'], flushLevel: number, queue: Admission, onDue: () => void) {
    this.#options = options
    this.#flushLevel = flushLevel
    this.#queue = queue
    this.#onDue = onDue
  }

  /** Seq of the newest record accepted: flush() waits for it. */
  get lastSeq(): number {
    return this.#lastSeq
  }

  /** Notes a record that entered the queue; true when the queue should go out now. */
  accepted(record: LogRecord): boolean {
    // Max, not last: a caller may send records out of creation order, and flush() must still wait
    // for the newest one accepted.
    if (record.seq > this.#lastSeq) this.#lastSeq = record.seq
    // Max again: a flushLevel record created before an earlier flush() must not lower its target.
    if (record.level >= this.#flushLevel && record.seq > this.#forceUpTo) this.#forceUpTo = record.seq
    const buffer = this.#queue.buffer
    return (
      this.#forceUpTo >= record.seq ||
      buffer.size >= this.#options.maxRecords ||
      buffer.bytes >= this.#options.maxBytes ||
      this.#queue.atBounds()
    )
  }

  /** Records up to `seq` leave at once (flush). */
  forceUpTo(seq: number): void {
    if (seq > this.#forceUpTo) this.#forceUpTo = seq
  }

  /** Closing: everything leaves at once, and no age timer is armed again. */
  close(): void {
    this.#forceUpTo = Number.POSITIVE_INFINITY
    this.#closed = true
  }

  stop(): void {
    clearTimeout(this.#ageTimer)
    this.#ageTimer = undefined
  }

  /** Whether the oldest record in memory is due to leave (`full`: a record does not fit). */
  headDue(full: boolean): boolean {
    const buffer = this.#queue.buffer
    const head = buffer.peekOldest()
    if (!head) return false
    const options = this.#options
    return (
      full ||
      head.seq <= this.#forceUpTo ||
      buffer.size >= options.maxRecords ||
      buffer.bytes >= options.maxBytes ||
      this.#queue.atBounds() ||
      Date.now() - head.time >= options.maxWaitMs
    )
  }

  /** Takes the oldest records from the queue, at most `limit` and batch.maxBytes (one record at least). */
  cut(limit: number): { records: LogRecord[]; bytes: number; count: number } {
    const buffer = this.#queue.buffer
    const maxBytes = this.#options.maxBytes
    const records: LogRecord[] = []
    let bytes = 0
    while (records.length < limit) {
      const next = buffer.peekOldest()
      if (!next || (records.length > 0 && bytes + next.bytes > maxBytes)) break
      buffer.shiftOldest()
      records.push(next)
      bytes += next.bytes
    }
    return { records, bytes, count: records.length }
  }

  /** Wakes the sender when the head reaches batch.maxWaitMs. */
  armAgeTimer(): void {
    if (this.#ageTimer !== undefined || this.#closed) return
    const head = this.#queue.buffer.peekOldest()
    if (!head) return
    const delay = Math.max(0, head.time + this.#options.maxWaitMs - Date.now())
    this.#ageTimer = setTimer(() => {
      this.#ageTimer = undefined
      this.#onDue()
    }, delay)
  }
}
