import { DROP_REASONS, type DropReason } from './delivery-stats.js'

/**
 * What a group stands for: `key`, the records whose `groupBy` field has that value; `missing`, the
 * records without it; `overflow`, the records of keys that came while `group.maxGroups` groups existed.
 */
export type GroupKind = 'key' | 'missing' | 'overflow'

/**
 * One queue group's counters. While the group lives,
 * `received = queued + inFlight + delivered + failed + spooled + dropped` (dropped summed over every
 * reason). Records that go to the disk spool leave their group there (`spooled`): the spool is one
 * queue, and what comes back from it is counted by the sender only.
 */
export interface GroupStats {
  /** The field's value as text; `(missing)` / `(overflow)` for the shared groups (see `kind`). */
  readonly key: string
  readonly kind: GroupKind
  readonly received: number
  readonly queued: number
  readonly queuedBytes: number
  readonly inFlight: number
  readonly delivered: number
  readonly failed: number
  readonly spooled: number
  readonly dropped: Readonly<Record<DropReason, number>>
}

/** Totals of the groups pruned so far (their records count in the sender's totals as well). */
export interface PrunedGroupsStats {
  readonly groups: number
  readonly received: number
  readonly delivered: number
  readonly failed: number
  readonly spooled: number
  readonly dropped: Readonly<Record<DropReason, number>>
}

/** A grouped sender's groups, in {@link SenderStats.groups}. */
export interface GroupsStats {
  /** The `groupBy` field. */
  readonly by: string
  /** Groups alive now (`list.length`). */
  readonly live: number
  /** `group.maxGroups`. */
  readonly maxGroups: number
  /** Every live group: the most-dropping first, then the busiest (queued + in flight), then by records received. */
  readonly list: readonly GroupStats[]
  readonly pruned: PrunedGroupsStats
}

const noDrops = (): Record<DropReason, number> => ({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })

/** The mutable counters of one group, moved by the sender's Ledger alongside its own. */
export class GroupCounters {
  readonly key: string
  readonly kind: GroupKind
  received = 0
  queued = 0
  queuedBytes = 0
  inFlight = 0
  delivered = 0
  failed = 0
  spooled = 0
  readonly dropped = noDrops()
  /**
   * Records received and not yet queued or refused: the group must live until they are. Making room
   * for one can run a listener (a drop event) that reads the stats, which prunes idle groups; a group
   * pruned then would take the record into a queue no batch is cut from, or its counts out of the totals.
   */
  admitting = 0
  /** Last time a record of the group moved (ms epoch): a group idle for `group.idleMs` is pruned. */
  lastActive: number

  constructor(key: string, kind: GroupKind, now: number) {
    this.key = key
    this.kind = kind
    this.lastActive = now
  }

  /** Nothing of the group is queued, in flight or being admitted: it may be pruned once idle. */
  get empty(): boolean {
    return this.queued === 0 && this.inFlight === 0 && this.admitting === 0
  }

  get droppedTotal(): number {
    let total = 0
    for (const reason of DROP_REASONS) total += this.dropped[reason]
    return total
  }

  snapshot(): GroupStats {
    return {
      key: this.key,
      kind: this.kind,
      received: this.received,
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      inFlight: this.inFlight,
      delivered: this.delivered,
      failed: this.failed,
      spooled: this.spooled,
      dropped: { ...this.dropped },
    }
  }
}

/** The totals of pruned groups: a group's counts are added here when it goes. */
export class PrunedGroups {
  groups = 0
  received = 0
  delivered = 0
  failed = 0
  spooled = 0
  readonly dropped = noDrops()

  add(group: GroupCounters): void {
    this.groups++
    this.received += group.received
    this.delivered += group.delivered
    this.failed += group.failed
    this.spooled += group.spooled
    for (const reason of DROP_REASONS) this.dropped[reason] += group.dropped[reason]
  }

  snapshot(): PrunedGroupsStats {
    const { groups, received, delivered, failed, spooled } = this
    return { groups, received, delivered, failed, spooled, dropped: { ...this.dropped } }
  }
}

/** Orders groups for the stats: the most-dropping first, then the busiest, then by records received. */
export function byAttention(a: GroupStats, b: GroupStats): number {
  return (
    total(b.dropped) - total(a.dropped) ||
    b.queued + b.inFlight - (a.queued + a.inFlight) ||
    b.received - a.received ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  )
}

function total(dropped: Readonly<Record<DropReason, number>>): number {
  let sum = 0
  for (const reason of DROP_REASONS) sum += dropped[reason]
  return sum
}
