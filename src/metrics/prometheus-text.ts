/**
 * A courier's stats in the Prometheus text exposition format 0.0.4: one family per counter or gauge,
 * each series labelled by `sender`.
 */
import type { CourierStats } from '../input/courier.js'
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'

/** The content type of {@link renderPrometheusText}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** What the renderer needs besides the stats. */
export interface PrometheusTextOptions {
  /**
   * Each sender's queue capacity in records (`queue.maxRecords`), by its `sender` label (its name, see
   * {@link senderLabels}); absent senders get no series.
   */
  readonly queueCapacities?: Readonly<Record<string, number>>
}

interface Family {
  readonly name: string
  readonly type: 'counter' | 'gauge'
  readonly help: string
  readonly value: (stats: SenderStats) => number | undefined
}

const SENDER_FAMILIES: readonly Family[] = [
  { name: 'pino_courier_received_records_total', type: 'counter', help: 'Records given to the sender at or above its level.', value: (s) => s.received },
  { name: 'pino_courier_delivered_records_total', type: 'counter', help: 'Records the sink accepted.', value: (s) => s.delivered },
  { name: 'pino_courier_failed_records_total', type: 'counter', help: 'Records whose batch failed for good (permanent error or retries exhausted).', value: (s) => s.failed },
  { name: 'pino_courier_retries_total', type: 'counter', help: 'Record re-sends after transient failures.', value: (s) => s.retried },
  { name: 'pino_courier_sent_bytes_total', type: 'counter', help: 'Bytes the sink accepted.', value: (s) => s.deliveredBytes },
  { name: 'pino_courier_dead_lettered_records_total', type: 'counter', help: 'Failed records written to the dead-letter file.', value: (s) => s.deadLettered },
  { name: 'pino_courier_truncated_records_total', type: 'counter', help: 'Delivered records the sink cut to fit its size limit.', value: (s) => s.truncated ?? 0 },
  { name: 'pino_courier_queued_records', type: 'gauge', help: 'Records waiting in the queue.', value: (s) => s.queued },
  { name: 'pino_courier_queued_bytes', type: 'gauge', help: 'Bytes waiting in the queue.', value: (s) => s.queuedBytes },
  { name: 'pino_courier_in_flight_records', type: 'gauge', help: 'Records in batches being delivered, including ones waiting for a retry.', value: (s) => s.inFlight },
  { name: 'pino_courier_spooled_records', type: 'gauge', help: 'Records waiting in the disk spool.', value: (s) => s.spooled },
]

/**
 * Renders a stats snapshot (`stats()` or a `courier:stats` event) as Prometheus text.
 * @example
 * response.setHeader('content-type', PROMETHEUS_CONTENT_TYPE)
 * response.end(renderPrometheusText(stream.stats()))
 */
export function renderPrometheusText(stats: CourierStats, options: PrometheusTextOptions = {}): string {
  const out: string[] = []
  const header = (name: string, type: string, help: string): void => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
  }
  const senders = stats.senders
  const labels = senderLabels(senders).map(escapeLabel)
  const sample = (series: string, value: unknown): void => {
    // A custom sender's stats() may leave a field out: no sample beats a line that fails the whole scrape.
    if (typeof value === 'number') out.push(`${series} ${formatValue(value)}`)
  }
  for (const family of SENDER_FAMILIES.slice(0, 3)) renderFamily(family)
  header('pino_courier_dropped_records_total', 'counter', 'Records dropped, by reason.')
  senders.forEach((s, i) => {
    const dropped = (s.dropped ?? {}) as Partial<Record<string, number>>
    for (const reason of DROP_REASONS) {
      sample(`pino_courier_dropped_records_total{sender="${labels[i]}",reason="${reason}"}`, dropped[reason] ?? 0)
    }
  })
  for (const family of SENDER_FAMILIES.slice(3)) renderFamily(family)
  const capacities = options.queueCapacities ?? {}
  const rawLabels = senderLabels(senders)
  header('pino_courier_queue_capacity_records', 'gauge', 'Most records the queue holds (queue.maxRecords).')
  senders.forEach((_s, i) => {
    const label = rawLabels[i] as string
    if (Object.hasOwn(capacities, label)) sample(`pino_courier_queue_capacity_records{sender="${labels[i]}"}`, capacities[label])
  })
  header('pino_courier_malformed_lines_total', 'counter', 'Input lines that were not a JSON object (delivered wrapped); not per sender.')
  sample('pino_courier_malformed_lines_total', stats.malformed)
  return out.join('\n') + '\n'

  function renderFamily(family: Family): void {
    header(family.name, family.type, family.help)
    senders.forEach((s, i) => sample(`${family.name}{sender="${labels[i]}"}`, family.value(s)))
  }
}

/**
 * Each sender's `sender` label, in order: its name, unique. Two senders may share a name in process
 * (Sender instances, or two specs of one type without `name`); Prometheus rejects a whole scrape
 * with a duplicate series, so a name seen before gets `-<index>` (the transport's own naming).
 */
export function senderLabels(senders: readonly { readonly name: string }[]): string[] {
  const names = senders.map((s) => String(s.name))
  const taken = new Set(names)
  const seen = new Set<string>()
  return names.map((name, index) => {
    if (!seen.has(name)) {
      seen.add(name)
      return name
    }
    let label = `${name}-${index}`
    while (taken.has(label)) label += '_'
    taken.add(label)
    return label
  })
}

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(value: string): string {
  return value.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
