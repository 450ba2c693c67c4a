/**
 * The queue groups of senders with `groupBy`, in the Prometheus text: how many groups live, and per
 * live group what it received, delivered, holds and dropped. A series per group (labels `sender`,
 * `group`, `kind`), so their number is bounded by `group.maxGroups` (+2 for the shared groups); a
 * pruned group's series go away, and its counts stay in the sender's own series.
 */
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'
import type { GroupStats } from '../stats/group-stats.js'

/** One per-group family. */
interface GroupFamily {
  readonly name: string
  readonly type: 'counter' | 'gauge'
  readonly help: string
  readonly value: (group: GroupStats) => number
}

const GROUP_FAMILIES: readonly GroupFamily[] = [
  { name: 'pino_courier_group_received_records_total', type: 'counter', help: 'Records of a live queue group (groupBy) received.', value: (g) => g.received },
  { name: 'pino_courier_group_delivered_records_total', type: 'counter', help: 'Records of a live queue group the sink accepted.', value: (g) => g.delivered },
  { name: 'pino_courier_group_queued_records', type: 'gauge', help: 'Records of a live queue group waiting in its queue.', value: (g) => g.queued },
]

/**
 * Appends the group families. `labels[i]`: sender i's `sender` label, escaped; `escape` escapes a label
 * value; `header` writes a family's HELP and TYPE lines.
 */
export function renderGroupFamilies(
  out: string[],
  senders: readonly SenderStats[],
  labels: readonly string[],
  escape: (value: string) => string,
  header: (name: string, type: string, help: string) => void,
): void {
  const grouped = senders.flatMap((s, i) => (isGroups(s.groups) ? [{ groups: s.groups, sender: labels[i] as string }] : []))
  header('pino_courier_groups', 'gauge', 'Queue groups alive, for a sender with groupBy.')
  const sample = (series: string, value: unknown): void => {
    // Stats from a custom sender may hold anything: no sample beats a line that fails the whole scrape.
    if (typeof value === 'number' && Number.isFinite(value)) out.push(`${series} ${value}`)
  }
  for (const { groups, sender } of grouped) sample(`pino_courier_groups{sender="${sender}"}`, groups.live)
  // The kind tells a key from the shared groups: a tenant named "(missing)" must not share their series.
  const series = (sender: string, g: GroupStats): string => `sender="${sender}",group="${escape(String(g.key))}",kind="${escape(String(g.kind))}"`
  for (const family of GROUP_FAMILIES) {
    header(family.name, family.type, family.help)
    for (const { groups, sender } of grouped) for (const g of groups.list) sample(`${family.name}{${series(sender, g)}}`, family.value(g))
  }
  header('pino_courier_group_dropped_records_total', 'counter', 'Records of a live queue group dropped, by reason.')
  for (const { groups, sender } of grouped) {
    for (const g of groups.list) {
      for (const reason of DROP_REASONS) sample(`pino_courier_group_dropped_records_total{${series(sender, g)},reason="${reason}"}`, g.dropped?.[reason] ?? 0)
    }
  }
}

/** Whether a sender's `groups` can be trusted (a custom sender's stats may carry anything). */
function isGroups(value: unknown): value is NonNullable<SenderStats['groups']> {
  const g = value as SenderStats['groups']
  return typeof g === 'object' && g !== null && typeof g.live === 'number' && Array.isArray(g.list)
}
