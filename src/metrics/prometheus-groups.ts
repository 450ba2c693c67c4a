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
  const grouped = senders.flatMap((s, i) => {
    if (!isGroups(s.groups)) return []
    // A custom sender's list may hold anything: an entry that is not an object would fail the scrape.
    const list = s.groups.list.filter((g): g is GroupStats => typeof g === 'object' && g !== null)
    return [{ groups: s.groups, list, keys: groupLabels(list), sender: labels[i] as string }]
  })
  header('pino_courier_groups', 'gauge', 'Queue groups alive, for a sender with groupBy.')
  const sample = (series: string, value: unknown): void => {
    // Stats from a custom sender may hold anything: no sample beats a line that fails the whole scrape.
    if (typeof value === 'number' && Number.isFinite(value)) out.push(`${series} ${value}`)
  }
  for (const { groups, sender } of grouped) sample(`pino_courier_groups{sender="${sender}"}`, groups.live)
  // The kind tells a key from the shared groups: a tenant named "(missing)" must not share their series.
  const series = (sender: string, key: string, g: GroupStats): string => `sender="${sender}",group="${escape(key)}",kind="${escape(String(g.kind))}"`
  for (const family of GROUP_FAMILIES) {
    header(family.name, family.type, family.help)
    for (const { list, keys, sender } of grouped) list.forEach((g, i) => sample(`${family.name}{${series(sender, keys[i] as string, g)}}`, family.value(g)))
  }
  header('pino_courier_group_dropped_records_total', 'counter', 'Records of a live queue group dropped, by reason.')
  for (const { list, keys, sender } of grouped) {
    list.forEach((g, i) => {
      for (const reason of DROP_REASONS) sample(`pino_courier_group_dropped_records_total{${series(sender, keys[i] as string, g)},reason="${reason}"}`, g.dropped?.[reason] ?? 0)
    })
  }
}

/** Half of a surrogate pair without the other half: not text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

/**
 * The `group` label of each group, in order, unique per kind. A key is any JS string (JSON.parse reads
 * `"\ud800"` as half a surrogate pair), and the scrape is UTF-8, where every lone half becomes U+FFFD:
 * two such keys would be one series twice, which fails the scrape. A lone half is written as its escape
 * instead (`\ud800`, the same at every scrape). A key that is text keeps its own label; a key whose
 * label another group already has (that escape, or a custom sender's key listed twice) gets `_` added
 * until it is unique.
 */
function groupLabels(list: readonly GroupStats[]): string[] {
  const raw = list.map((g) => String(g.key))
  const id = (i: number, label: string): string => `${String(list[i]?.kind)}\0${label}`
  const taken = new Set<string>()
  const own = raw.map((key, i) => !LONE_SURROGATE.test(key) && !taken.has(id(i, key)) && taken.add(id(i, key)) !== undefined)
  return raw.map((key, i) => {
    if (own[i]) return key
    let label = key.replace(LONE_SURROGATES, (half) => `\\u${half.charCodeAt(0).toString(16)}`)
    while (taken.has(id(i, label))) label += '_'
    taken.add(id(i, label))
    return label
  })
}

/** Whether a sender's `groups` can be trusted (a custom sender's stats may carry anything). */
function isGroups(value: unknown): value is NonNullable<SenderStats['groups']> {
  const g = value as SenderStats['groups']
  return typeof g === 'object' && g !== null && typeof g.live === 'number' && Array.isArray(g.list)
}
