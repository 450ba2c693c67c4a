import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { Admission } from '../queue/admission.js'
import type { QueueGroup } from '../queue/queue-groups.js'
import type { GroupCounters } from '../stats/group-stats.js'
import type { RecordLog } from '../queue/record-log.js'
import { setTimer } from '../timers.js'

/** Records cut from the queue as one batch: all of one group. */
export interface Cut {
  readonly refs: number[]
  readonly bytes: number
  readonly count: number
  /** The group's counters (a grouped sender's). */
  readonly group: GroupCounters | undefined
}

/**
 * Decides when the head of the queue leaves as a batch (count, bytes, age, a flush-level record, a
 * flush() or close(), a full queue) and cuts it. Owns the "everything up to this seq leaves now" mark
 * and the age timer. With queue groups, each group's head is judged on its own, a batch holds one
 * group's records, and the groups whose head is due take turns ({@link Admission.select}).
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

  /** Notes a record that entered the queue (in `group`); true when the queue should go out now. */
  accepted(seq: number, level: number, group: QueueGroup): boolean {
    // Max, not last: a caller may send records out of creation order, and flush() must still wait
    // for the newest one accepted.
    if (seq > this.#lastSeq) this.#lastSeq = seq
    // Max again: a flushLevel record created before an earlier flush() must not lower its target.
    if (level >= this.#flushLevel && seq > this.#forceUpTo) this.#forceUpTo = seq
    const buffer = group.buffer
    return (
      this.#forceUpTo >= seq ||
      buffer.size >= this.#options.maxRecords ||
      buffer.bytes >= this.#options.maxBytes ||
      this.#queue.atBounds(group)
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

  /**
   * Whether a group's head (the oldest record's, ungrouped) is due to leave; the group whose turn it is
   * is then the one {@link cut} takes from. `full`: a record does not fit, in that group when one is
   * named. Its own records then go first, whoever's turn it is: cutting another group's would leave
   * the record dropped while a worker was free. Only when its group is empty (the groups' total is
   * what is full) may any group's records go.
   */
  headDue(full: boolean | QueueGroup): boolean {
    if (typeof full === 'object' && full.buffer.size > 0) return this.#queue.select((group) => group === full) !== undefined
    const any = full !== false
    return this.#queue.select((group) => this.#due(group, any)) !== undefined
  }

  /**
   * Takes the oldest records of one group (`from`, else the one {@link headDue} chose, else the group
   * holding the oldest record), at most `limit` and batch.maxBytes (one record at least).
   */
  cut(limit: number, from?: QueueGroup): Cut {
    const queue = this.#queue
    const group = from ?? queue.takeSelected()
    const refs: number[] = []
    let bytes = 0
    if (group) {
      const buffer = group.buffer
      const log = this.#log
      const maxBytes = this.#options.maxBytes
      while (refs.length < limit) {
        const next = buffer.peekOldest()
        if (next < 0) break
        const size = log.bytes(next)
        if (refs.length > 0 && bytes + size > maxBytes) break
        buffer.shiftOldest()
        refs.push(next)
        bytes += size
      }
      queue.boundsChanged(group)
    }
    return { refs, bytes, count: refs.length, group: group?.counters }
  }

  #due(group: QueueGroup, full: boolean): boolean {
    const buffer = group.buffer
    const head = buffer.peekOldest()
    if (head < 0) return false
    const options = this.#options
    return (
      full ||
      buffer.size >= options.maxRecords ||
      buffer.bytes >= options.maxBytes ||
      this.#queue.atBounds(group) ||
      this.#log.seq(head) <= this.#forceUpTo ||
      Date.now() - this.#log.time(head) >= options.maxWaitMs
    )
  }

  /** Wakes the sender when the head reaches batch.maxWaitMs. */
  armAgeTimer(): void {
    if (this.#ageTimer !== undefined || this.#closed) return
    const head = this.#queue.oldest()?.buffer.peekOldest() ?? -1
    if (head < 0) return
    const delay = Math.max(0, this.#log.time(head) + this.#options.maxWaitMs - Date.now())
    this.#ageTimer = setTimer(() => {
      this.#ageTimer = undefined
      this.#onDue()
    }, delay)
  }
}
