import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { Admission } from '../queue/admission.js'
import type { RecordLog } from '../queue/record-log.js'
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
  readonly #log: RecordLog
  readonly #onDue: () => void
  /** Records up to this seq leave at once, whatever the batch triggers say (flushLevel, flush, close). */
  #forceUpTo = 0
  #lastSeq = 0
  #ageTimer: NodeJS.Timeout | undefined
  #closed = false

  /** `onDue`: called when the age timer finds the head due. */
  constructor(options: ResolvedDeliveryOptions['batch'], flushLevel: number, queue: Admission, log: RecordLog, onDue: () => void) {
    this.#options = options
    this.#flushLevel = flushLevel
    this.#queue = queue
    this.#log = log
    this.#onDue = onDue
  }

  /** Seq of the newest record accepted: flush() waits for it. */
  get lastSeq(): number {
    return this.#lastSeq
  }

  /** Notes a record that entered the queue; true when the queue should go out now. */
  accepted(seq: number, level: number): boolean {
    // Max, not last: a caller may send records out of creation order, and flush() must still wait
    // for the newest one accepted.
    if (seq > this.#lastSeq) this.#lastSeq = seq
    // Max again: a flushLevel record created before an earlier flush() must not lower its target.
    if (level >= this.#flushLevel && seq > this.#forceUpTo) this.#forceUpTo = seq
    const buffer = this.#queue.buffer
    return (
      this.#forceUpTo >= seq ||
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
    if (head < 0) return false
    const options = this.#options
    return (
      full ||
      buffer.size >= options.maxRecords ||
      buffer.bytes >= options.maxBytes ||
      this.#queue.atBounds() ||
      this.#log.seq(head) <= this.#forceUpTo ||
      Date.now() - this.#log.time(head) >= options.maxWaitMs
    )
  }

  /** Takes the oldest records from the queue, at most `limit` and batch.maxBytes (one record at least). */
  cut(limit: number): { refs: number[]; bytes: number; count: number } {
    const buffer = this.#queue.buffer
    const log = this.#log
    const maxBytes = this.#options.maxBytes
    const refs: number[] = []
    let bytes = 0
    while (refs.length < limit) {
      const next = buffer.peekOldest()
      if (next < 0) break
      const size = log.bytes(next)
      if (refs.length > 0 && bytes + size > maxBytes) break
      buffer.shiftOldest()
      refs.push(next)
      bytes += size
    }
    return { refs, bytes, count: refs.length }
  }

  /** Wakes the sender when the head reaches batch.maxWaitMs. */
  armAgeTimer(): void {
    if (this.#ageTimer !== undefined || this.#closed) return
    const head = this.#queue.buffer.peekOldest()
    if (head < 0) return
    const delay = Math.max(0, this.#log.time(head) + this.#options.maxWaitMs - Date.now())
    this.#ageTimer = setTimer(() => {
      this.#ageTimer = undefined
      this.#onDue()
    }, delay)
  }
}
