import type { ResolvedGroupOptions } from '../config/delivery-options.js'
import type { LogRecord } from '../input/record.js'
import { topLevelValue } from './top-level-value.js'
import { fieldPath, fieldValue, type FieldPath } from '../sinks/shared/field-path.js'
import { byAttention, GroupCounters, PrunedGroups, type GroupKind, type GroupsStats } from '../stats/group-stats.js'
import { RecordBuffer, type QueueTotals } from './record-buffer.js'
import type { RecordLog } from './record-log.js'

/**
 * Longest key kept, in UTF-16 units: longer values are cut, so a record cannot make a group key of a
 * megabyte (keys live as long as their group, and appear in every stats event).
 */
export const MAX_GROUP_KEY_LENGTH = 200
/** How often, at most, idle groups are looked for while records arrive (and at each stats read). */
const SWEEP_INTERVAL_MS = 1000

/** One queue group: its records waiting, and its counters (none for an ungrouped sender's one queue). */
export interface QueueGroup {
  readonly buffer: RecordBuffer
  readonly counters: GroupCounters | undefined
}

/**
 * The groups of a sender with `groupBy`, amboy's QueueGroup for log records: a queue per key, made when
 * its first record comes and removed once idle for `group.idleMs`. Keys past `group.maxGroups` share
 * one overflow group, records without the field one `missing` group: both are counted like any group.
 * Batches are taken from the groups in turn ({@link select}), so no key waits behind another's backlog.
 */
export class QueueGroups {
  readonly by: string
  /** Records and bytes queued in all groups together. */
  readonly totals: QueueTotals = { size: 0, bytes: 0 }
  readonly #field: FieldPath
  readonly #options: ResolvedGroupOptions
  readonly #log: RecordLog
  readonly #keyed = new Map<string, Group>()
  #missing: Group | undefined
  #overflow: Group | undefined
  /** Every live group, in the order they take turns. */
  #turns: Group[] = []
  /** Index in #turns of the group whose turn is next (modulo their number). */
  #cursor = 0
  #lastSweep = 0
  /**
   * The group {@link oldest} found and the seq of its head, while that holds: a waiting flush asks at
   * every record dropped or evicted, and finding it walks every group. Records leaving other groups
   * cannot make one of them older; a record queued can ({@link queued}), and one leaving this group
   * changes its head.
   */
  #oldest: Group | undefined
  #oldestSeq = Number.NaN
  readonly #pruned = new PrunedGroups()

  constructor(by: string, options: ResolvedGroupOptions, log: RecordLog) {
    this.by = by
    this.#field = fieldPath(by)
    this.#options = options
    this.#log = log
  }

  /** Groups alive now. */
  get size(): number {
    return this.#turns.length
  }

  /** Every live group, in turn order. */
  all(): readonly QueueGroup[] {
    return this.#turns
  }

  /** The group of a record (by `ref` in the log, or the `record` itself), made if it is the first of its key. */
  groupOf(ref: number, record: LogRecord | undefined): QueueGroup {
    const now = Date.now()
    // At most once per millisecond, also with group.idleMs 0: a second look in the same millisecond
    // finds the same groups idle, and looking per record walks every group per record.
    if (now - this.#lastSweep >= Math.max(1, Math.min(SWEEP_INTERVAL_MS, this.#options.idleMs))) this.prune(now)
    const key = this.#keyOf(record ? record.line : this.#log.line(ref))
    let group = key === undefined ? this.#missing : this.#keyed.get(key)
    if (group === undefined) {
      if (key === undefined) group = this.#missing = this.#make('(missing)', 'missing', now)
      // At maxGroups, idle groups are looked for once per millisecond, not for each record of a new key:
      // a stream of distinct keys would walk every group per record (1M keys: 6 s of CPU instead of 2.7).
      // A second look within the same millisecond would find the same groups idle.
      else if (this.#keyed.size < this.#options.maxGroups || (now !== this.#lastSweep && (this.prune(now), this.#keyed.size < this.#options.maxGroups))) {
        group = this.#make(key, 'key', now)
        this.#keyed.set(key, group)
      } else group = this.#overflow ??= this.#make('(overflow)', 'overflow', now)
    }
    group.counters.lastActive = now
    return group
  }

  /**
   * The first group, from the one whose turn it is, that `due` accepts (its head is due to leave);
   * undefined when none is. Its turn passes only when a batch is taken from it ({@link passTurn}): a
   * group chosen while the pool could not send keeps its turn.
   */
  select(due: (group: QueueGroup) => boolean): QueueGroup | undefined {
    const turns = this.#turns
    const n = turns.length
    for (let i = 0; i < n; i++) {
      const group = turns[(this.#cursor + i) % n] as Group
      if (group.buffer.size > 0 && due(group)) return group
    }
    return undefined
  }

  /** A batch was taken from `group`: the group after it has the next turn. */
  passTurn(group: QueueGroup): void {
    // Not modulo the number of groups: a group made meanwhile, at the end, comes before the first again.
    const at = this.#turns.indexOf(group as Group)
    if (at >= 0) this.#cursor = at + 1
  }

  /** The group whose head record is the oldest (lowest seq), or undefined when nothing waits. */
  oldest(): QueueGroup | undefined {
    if (this.totals.size === 0) return undefined
    const cached = this.#oldest
    if (cached) {
      const head = cached.buffer.peekOldest()
      if (head >= 0 && this.#log.seq(head) === this.#oldestSeq) return cached
    }
    let oldest: Group | undefined
    let oldestSeq = Number.POSITIVE_INFINITY
    for (const group of this.#turns) {
      const head = group.buffer.peekOldest()
      if (head < 0) continue
      const seq = this.#log.seq(head)
      if (seq < oldestSeq) {
        oldest = group
        oldestSeq = seq
      }
    }
    this.#oldest = oldest
    this.#oldestSeq = oldestSeq
    return oldest
  }

  /** A record was queued in a group: it is the oldest now if it is older than the oldest found. */
  queued(ref: number): void {
    if (this.#oldest && this.#log.seq(ref) < this.#oldestSeq) this.#oldest = undefined
  }

  /** The group holding the most bytes: where room is made when the groups' total bounds are reached. */
  largest(): QueueGroup | undefined {
    let largest: Group | undefined
    for (const group of this.#turns) if (group.buffer.bytes > (largest?.buffer.bytes ?? 0)) largest = group
    return largest
  }

  /**
   * Removes the groups with nothing queued or in flight for `group.idleMs`; their counts go to the
   * pruned totals. A group seen busy counts as active at that moment.
   */
  prune(now = Date.now()): void {
    this.#lastSweep = now
    const idleMs = this.#options.idleMs
    const turns = this.#turns
    const kept: Group[] = []
    const turn = this.#cursor % Math.max(1, turns.length)
    // The turn stays with the group that had it or, when that one goes, passes to the next one kept:
    // the number of groups kept before it. Starting again from the first group instead would give the
    // groups at the front extra turns at every prune, and those at the end (the newest keys) fewer.
    let cursor = 0
    for (let i = 0; i < turns.length; i++) {
      const group = turns[i] as Group
      const counters = group.counters
      if (!counters.empty || group.buffer.size > 0) counters.lastActive = now
      else if (now - counters.lastActive >= idleMs) {
        this.#remove(group)
        continue
      }
      kept.push(group)
      if (i < turn) cursor++
    }
    if (kept.length === turns.length) return
    this.#turns = kept
    this.#cursor = cursor
  }

  stats(): GroupsStats {
    this.prune()
    const list = this.#turns.map((group) => group.counters.snapshot()).sort(byAttention)
    return { by: this.by, live: list.length, maxGroups: this.#options.maxGroups, list, pruned: this.#pruned.snapshot() }
  }

  #make(key: string, kind: GroupKind, now: number): Group {
    const group = { buffer: new RecordBuffer(this.#log, this.totals), counters: new GroupCounters(key, kind, now) }
    this.#turns.push(group)
    return group
  }

  #remove(group: Group): void {
    const { counters } = group
    this.#pruned.add(counters)
    if (counters.kind === 'missing') this.#missing = undefined
    else if (counters.kind === 'overflow') this.#overflow = undefined
    else this.#keyed.delete(counters.key)
  }

  /** The key of a record's line: its field's value as text; undefined without one (absent, null, an object or array). */
  #keyOf(line: string): string | undefined {
    const field = this.#field
    let value: unknown
    try {
      // A top-level field is read off the text: 1M records of 150 bytes cost 0.8 s of CPU over an
      // ungrouped sender this way, 1.8 s with JSON.parse. A dotted path walks the parsed record.
      value = field.steps.length === 0 ? topLevelValue(line, field.path) : fieldValue(JSON.parse(line) as Record<string, unknown>, field)
    } catch {
      try {
        value = fieldValue(JSON.parse(line) as Record<string, unknown>, field)
      } catch {
        // Every record is one JSON object (a malformed line is wrapped as one): this is only a guard.
        return undefined
      }
    }
    let key: string
    if (typeof value === 'string') key = value
    else if (typeof value === 'number' || typeof value === 'boolean') key = String(value)
    else return undefined
    if (key.length <= MAX_GROUP_KEY_LENGTH) return key
    // Not between the two halves of a surrogate pair: a lone half is not text, and the key becomes a
    // Prometheus label and is in every stats event, where it would turn into U+FFFD.
    const last = key.charCodeAt(MAX_GROUP_KEY_LENGTH - 1)
    return key.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_GROUP_KEY_LENGTH - 1 : MAX_GROUP_KEY_LENGTH)
  }
}

interface Group extends QueueGroup {
  readonly counters: GroupCounters
}
