/**
 * A courier's stats in the Prometheus text exposition format 0.0.4: one family per counter, gauge or
 * histogram, each series labelled by `sender`.
 */
import type { CourierStats } from '../input/courier.js'
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'
import type { Histogram, SenderTimings } from '../stats/timings.js'
import { renderGroupFamilies } from './prometheus-groups.js'

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

/** A histogram family, from one of a sender's {@link SenderTimings}. */
interface HistogramFamily {
  readonly name: string
  readonly help: string
  readonly timing: keyof SenderTimings
  /** What a bound or the sum is divided by: 1000 turns the stats' milliseconds into Prometheus' seconds. */
  readonly divisor: number
}

const HISTOGRAM_FAMILIES: readonly HistogramFamily[] = [
  {
    name: 'pino_courier_request_duration_seconds',
    help: 'Delivery attempts (requests), retries included: from the start of an attempt to its answer or timeout.',
    timing: 'attemptMs',
    divisor: 1000,
  },
  {
    name: 'pino_courier_delivery_duration_seconds',
    help: 'Batches delivered or failed for good: from the dispatch of a batch to its end, retries and their waits included.',
    timing: 'deliveryMs',
    divisor: 1000,
  },
  {
    name: 'pino_courier_queue_wait_seconds',
    help: 'Batches dispatched from the queue: how long the oldest record of a batch waited in the queue.',
    timing: 'queueWaitMs',
    divisor: 1000,
  },
  { name: 'pino_courier_batch_records', help: 'Batches dispatched: records per batch.', timing: 'batchRecords', divisor: 1 },
]

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
  {
    name: 'pino_courier_concurrency_limit',
    type: 'gauge',
    help: "Requests that may be in flight now, under pool.concurrency 'adaptive' (no series for a fixed concurrency).",
    value: (s) => s.concurrency?.limit,
  },
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
  senders.forEach((s, i) => {
    const label = rawLabels[i] as string
    // The stats carry it (built-in senders); the option, when given, says it for stats that do not.
    const capacity = Object.hasOwn(capacities, label) ? capacities[label] : s.queueCapacity
    if (typeof capacity === 'number' && Number.isFinite(capacity)) sample(`pino_courier_queue_capacity_records{sender="${labels[i]}"}`, capacity)
  })
  for (const family of HISTOGRAM_FAMILIES) {
    header(family.name, 'histogram', family.help)
    senders.forEach((s, i) => {
      const histogram = s.timings?.[family.timing]
      // A custom sender may have no timings, or odd ones: no series beats a scrape Prometheus refuses.
      if (isHistogram(histogram)) renderHistogram(out, family, `sender="${labels[i]}"`, histogram)
    })
  }
  renderGroupFamilies(out, senders, labels, escapeLabel, header)
  header('pino_courier_malformed_lines_total', 'counter', 'Input lines that were not a JSON object (delivered wrapped); not per sender.')
  sample('pino_courier_malformed_lines_total', stats.malformed)
  return out.join('\n') + '\n'

  function renderFamily(family: Family): void {
    header(family.name, family.type, family.help)
    senders.forEach((s, i) => sample(`${family.name}{sender="${labels[i]}"}`, family.value(s)))
  }
}

/** `_bucket` series with cumulative counts up to `le="+Inf"` (the count), then `_sum` and `_count`. */
function renderHistogram(out: string[], family: HistogramFamily, labels: string, histogram: Histogram): void {
  const { bounds, counts } = histogram
  let cumulative = 0
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i] as number
    out.push(`${family.name}_bucket{${labels},le="${formatValue((bounds[i] as number) / family.divisor)}"} ${cumulative}`)
  }
  cumulative += counts[bounds.length] as number
  // +Inf is the count of every bucket: equal to _count, as the format requires.
  out.push(`${family.name}_bucket{${labels},le="+Inf"} ${cumulative}`)
  out.push(`${family.name}_sum{${labels}} ${formatValue(histogram.sum / family.divisor)}`)
  out.push(`${family.name}_count{${labels}} ${cumulative}`)
}

/** Whether `value` is a histogram the renderer can trust: finite ascending bounds and a count per bucket. */
function isHistogram(value: unknown): value is Histogram {
  const h = value as Partial<Histogram> | undefined
  if (!h || !Array.isArray(h.bounds) || !Array.isArray(h.counts) || h.counts.length !== h.bounds.length + 1) return false
  if (typeof h.sum !== 'number' || !Number.isFinite(h.sum)) return false
  if (!h.counts.every((c) => Number.isInteger(c) && c >= 0)) return false
  return h.bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > (h.bounds?.[i - 1] as number)))
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
