import type { ResolvedDeliveryOptions } from '../config/delivery-options.js'
import type { LogRecord } from '../input/record.js'
import type { GroupsStats } from '../stats/group-stats.js'
import type { Ledger, Moved } from '../stats/ledger.js'
import { setTimer } from '../timers.js'
import type { QueueGroup, QueueGroups } from './queue-groups.js'
import { levelBucket, RecordBuffer, TOP_BUCKET } from './record-buffer.js'
import type { RecordLog } from './record-log.js'

/**
 * The queue's door: records waiting for a worker ({@link RecordBuffer}), the bounds they must stay
 * within, and what happens to one more record when they are reached (the overflow policy: evict a
 * lower level, refuse, or keep it and pause the reader for at most `queue.maxBlockMs`).
 *
 * With `groupBy` the queue is made of groups ({@link QueueGroups}): each has the queue's bounds, and the
 * groups together have `group.maxTotalRecords` / `maxTotalBytes`. A record that finds its own group
 * full meets its group's overflow policy; one that finds the total reached takes room from the largest
 * group (its lowest level, oldest first), so that the key with the biggest backlog pays. Without
 * `groupBy` there is one group, and nothing else changes.
 */
export class Admission {
  readonly #options: ResolvedDeliveryOptions['queue']
  readonly #log: RecordLog
  readonly #ledger: Ledger
  /** The one queue of an ungrouped sender. */
  readonly #single: QueueGroup | undefined
  readonly #groups: QueueGroups | undefined
  readonly #maxTotalRecords: number
  readonly #maxTotalBytes: number
  /** Groups over their own bounds (block policy): the reader waits while there is one. */
  readonly #over = new Set<QueueGroup>()
  /** The group {@link select} chose and the index of its turn, until a batch is cut from it. */
  #selected: QueueGroup | undefined
  #readyWaiters: (() => void)[] = []
  /** When the queue last went over its bounds (block policy); undefined while within them. */
  #overSince: number | undefined
  /** Ends the `block` window of queue.maxBlockMs for a paused reader. */
  #blockTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: ResolvedDeliveryOptions['queue'], log: RecordLog, ledger: Ledger, grouping?: { groups: QueueGroups; group: ResolvedDeliveryOptions['group'] }) {
    this.#options = options
    this.#log = log
    this.#ledger = ledger
    this.#groups = grouping?.groups
    this.#single = grouping ? undefined : { buffer: new RecordBuffer(log), counters: undefined }
    this.#maxTotalRecords = grouping?.group.maxTotalRecords ?? options.maxRecords
    this.#maxTotalBytes = grouping?.group.maxTotalBytes ?? options.maxBytes
  }

  get maxRecordBytes(): number {
    return this.#options.maxRecordBytes
  }

  /** Records waiting, in every group. */
  get size(): number {
    return this.#single ? this.#single.buffer.size : (this.#groups as QueueGroups).totals.size
  }

  /** The group a record goes to (an ungrouped sender's one queue). */
  route(ref: number, record: LogRecord | undefined): QueueGroup {
    return this.#single ?? (this.#groups as QueueGroups).groupOf(ref, record)
  }

  /** Seq of the oldest waiting record (Infinity when empty). */
  oldestSeq(): number {
    const head = this.oldest()?.buffer.peekOldest() ?? -1
    return head < 0 ? Number.POSITIVE_INFINITY : this.#log.seq(head)
  }

  /** The group holding the oldest waiting record; undefined when nothing waits. */
  oldest(): QueueGroup | undefined {
    const single = this.#single
    if (single) return single.buffer.size > 0 ? single : undefined
    return (this.#groups as QueueGroups).oldest()
  }

  /** Whether one more record of `bytes` fits in `group`. */
  fits(bytes: number, group: QueueGroup): boolean {
    const { maxRecords, maxBytes } = this.#options
    const buffer = group.buffer
    if (buffer.size >= maxRecords || buffer.bytes + bytes > maxBytes) return false
    const totals = this.#groups?.totals
    return !totals || (totals.size < this.#maxTotalRecords && totals.bytes + bytes <= this.#maxTotalBytes)
  }

  withinBounds(): boolean {
    if (this.#single) return this.#within(this.#single)
    const totals = (this.#groups as QueueGroups).totals
    return this.#over.size === 0 && totals.size <= this.#maxTotalRecords && totals.bytes <= this.#maxTotalBytes
  }

  /** `group` (or every group together) at or over the bounds, or a reader waiting for room: it should go out at once. */
  atBounds(group: QueueGroup): boolean {
    const { maxRecords, maxBytes } = this.#options
    const totals = this.#groups?.totals
    return (
      group.buffer.size >= maxRecords ||
      group.buffer.bytes >= maxBytes ||
      (totals !== undefined && (totals.size >= this.#maxTotalRecords || totals.bytes >= this.#maxTotalBytes)) ||
      this.#readyWaiters.length > 0
    )
  }

  /** Whether the reader may go on: always, except under `block` while the queue is over its bounds. */
  acceptsMore(): boolean {
    return this.#options.overflow !== 'block' || this.withinBounds()
  }

  /** Whether the queue has been over its bounds for queue.maxBlockMs or longer. */
  blockExpired(): boolean {
    return this.#overSince !== undefined && Date.now() - this.#overSince >= this.#options.maxBlockMs
  }

  /** Queues the record in `group`: the sender holds it in the log until it leaves. */
  push(ref: number, level: number, bytes: number, group: QueueGroup): void {
    this.#log.hold(ref)
    group.buffer.push(ref, level, bytes)
    this.#groups?.queued(ref)
    this.#ledger.queued(bytes, group.counters)
    this.boundsChanged(group)
  }

  /**
   * Where room for a record of `bytes` that does not fit in `group` comes from when the queue moves
   * to the disk spool: the group itself when it is full, else (the groups' total is) the largest
   * group, as when records are dropped. Spilling every group instead would send a quiet key's records
   * to disk, behind a noisy key's backlog and within reach of the spool's eviction, because of the
   * noisy key's burst. Ungrouped: the one queue.
   */
  spillFrom(bytes: number, group: QueueGroup): QueueGroup {
    const { maxRecords, maxBytes } = this.#options
    const ownFull = group.buffer.size >= maxRecords || group.buffer.bytes + bytes > maxBytes
    return ownFull || !this.#groups ? group : (this.#groups.largest() ?? group)
  }

  /** Decides about a record that does not fit in `group`: true to enqueue it, false to drop it. */
  admit(level: number, bytes: number, group: QueueGroup): boolean {
    const { overflow } = this.#options
    if (overflow !== 'block') return this.#makeRoom(level, bytes, group, overflow === 'drop-oldest')
    // Block keeps the record and pauses the reader, but only for maxBlockMs: a paused reader never
    // sees pino's end of stream, so an exiting app with a dead sink would hang in pino's exit.
    return this.blockExpired() ? this.#makeRoom(level, bytes, group, false) : true
  }

  /**
   * Tracks when the queue went over its bounds, and wakes paused readers once it is back within. Told
   * which group changed; without one (after the spool took records from any), every group is looked at.
   */
  boundsChanged(group?: QueueGroup): void {
    if (this.#groups) {
      for (const changed of group ? [group] : this.#groups.all()) {
        if (this.#within(changed)) this.#over.delete(changed)
        else this.#over.add(changed)
      }
    }
    if (this.withinBounds()) {
      this.#overSince = undefined
      if (this.#readyWaiters.length > 0) this.wakeReady()
    } else {
      this.#overSince ??= Date.now()
    }
  }

  /**
   * The group whose turn it is to send, among those `due` accepts: groups take turns, so that no key
   * waits behind another's backlog. The turn passes on when a batch is cut from it ({@link takeSelected}).
   */
  select(due: (group: QueueGroup) => boolean): QueueGroup | undefined {
    const single = this.#single
    if (single) return single.buffer.size > 0 && due(single) ? single : undefined
    return (this.#selected = (this.#groups as QueueGroups).select(due))
  }

  /** The group to cut a batch from: the one selected, else the one holding the oldest record. */
  takeSelected(): QueueGroup | undefined {
    const selected = this.#selected
    this.#selected = undefined
    if (selected && selected.buffer.size > 0) {
      this.#groups?.passTurn(selected)
      return selected
    }
    return this.oldest()
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

  /**
   * Takes everything out (at the close deadline), oldest first within each group: the caller counts and
   * releases them.
   */
  drain(): Moved[] {
    const out: Moved[] = []
    for (const group of this.#single ? [this.#single] : (this.#groups as QueueGroups).all()) {
      const bytes = group.buffer.bytes
      const refs = group.buffer.drain()
      if (refs.length > 0) out.push({ refs, bytes, count: refs.length, group: group.counters })
    }
    this.boundsChanged()
    return out
  }

  /** The groups' stats, for a grouped sender. */
  groupsStats(): GroupsStats | undefined {
    return this.#groups?.stats()
  }

  #within(group: QueueGroup): boolean {
    return group.buffer.size <= this.#options.maxRecords && group.buffer.bytes <= this.#options.maxBytes
  }

  /**
   * Evicts records of a lower level (or, with `dropOldest`, of the same level, oldest first) until
   * a record of `level` and `bytes` fits in `group`. Levels compare by lane bucket (their decade, see
   * levelBucket): records sharing a lane count as one level. When the groups' total is what is full,
   * the room comes from the largest group, its own level included, oldest first.
   */
  #makeRoom(level: number, bytes: number, group: QueueGroup, dropOldest: boolean): boolean {
    const incoming = levelBucket(level)
    const { maxRecords, maxBytes } = this.#options
    let shrunk = false
    while (!this.fits(bytes, group)) {
      const ownFull = group.buffer.size >= maxRecords || group.buffer.bytes + bytes > maxBytes
      const largest = ownFull ? undefined : (this.#groups as QueueGroups).largest()
      // A tie goes against the incoming record's group: the one growing pays, and the groups even out.
      // When the largest holds nothing as low as the record, its own group gives up a lower level: an
      // error must not be dropped while its own group keeps debug records.
      const larger = largest && largest.buffer.bytes > group.buffer.bytes ? largest : undefined
      const from = larger && (larger.buffer.lowestBucket() ?? TOP_BUCKET + 1) <= incoming ? larger : group
      const other = from !== group
      const buffer = from.buffer
      const lowest = buffer.lowestBucket()
      if (lowest === undefined || lowest > incoming || (!dropOldest && !other && lowest === incoming)) {
        // Refused after its own group gave some records up: a group left marked over its bounds would
        // keep the reader told to pause, and the block window open, until the group's next batch.
        if (shrunk) this.boundsChanged(group)
        return false
      }
      const victim = dropOldest || other ? buffer.shiftLowest() : buffer.popLowest()
      if (victim < 0) return false
      this.#ledger.droppedFromQueue({ count: 1, bytes: this.#log.bytes(victim), refs: [victim], group: from.counters }, 'overflow')
      this.#log.release(victim)
      if (other) this.boundsChanged(from)
      else shrunk = true
    }
    return true
  }
}
