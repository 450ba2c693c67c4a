/**
 * The instruments of the OpenTelemetry bridge: the Prometheus endpoint's families
 * (src/metrics/prometheus-text.ts) under OpenTelemetry's naming rules: dot-separated namespaces, no
 * `_total` (the instrument type says it is a sum), units in the unit field (UCUM: `By`, `s`, and
 * `{record}` annotations for counts), durations in seconds.
 */
import type { SenderStats } from '../stats/delivery-stats.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../stats/timings.js'

/** The namespace every name starts with, unless the bridge's `prefix` option replaces it. */
export const DEFAULT_OTEL_PREFIX = 'pino_courier'

/** A per-sender instrument read from one stats field. */
export interface StatInstrument {
  /** The name after the prefix and a dot. */
  readonly suffix: string
  readonly unit: string
  readonly description: string
  readonly value: (stats: SenderStats) => unknown
}

/** Observable counters: cumulative, never going down (see MonotoneTotals). */
export const COUNTERS: readonly StatInstrument[] = [
  { suffix: 'records.received', unit: '{record}', description: 'Records given to the sender at or above its level.', value: (s) => s.received },
  { suffix: 'records.delivered', unit: '{record}', description: 'Records the sink accepted.', value: (s) => s.delivered },
  {
    suffix: 'records.failed',
    unit: '{record}',
    description: 'Records whose batch failed for good (permanent error or retries exhausted).',
    value: (s) => s.failed,
  },
  { suffix: 'records.retried', unit: '{record}', description: 'Record re-sends after transient failures.', value: (s) => s.retried },
  { suffix: 'records.dead_lettered', unit: '{record}', description: 'Failed records written to the dead-letter file.', value: (s) => s.deadLettered },
  { suffix: 'records.truncated', unit: '{record}', description: 'Delivered records the sink cut to fit its size limit.', value: (s) => s.truncated ?? 0 },
  { suffix: 'bytes.sent', unit: 'By', description: 'Bytes the sink accepted.', value: (s) => s.deliveredBytes },
]

/** The dropped counter, one series per sender and `reason` (every DropReason). */
export const DROPPED: Omit<StatInstrument, 'value'> = {
  suffix: 'records.dropped',
  unit: '{record}',
  description: 'Records dropped, by reason (attribute reason: overflow, closed, oversize, spoolFull, spoolError).',
}

/** The malformed-lines counter: the courier's, not per sender. */
export const MALFORMED: Omit<StatInstrument, 'value'> = {
  suffix: 'lines.malformed',
  unit: '{line}',
  description: 'Input lines that were not a JSON object (delivered wrapped); not per sender.',
}

/** Observable up-down counters: amounts that go up and down (and add up across senders). */
export const LEVELS: readonly StatInstrument[] = [
  { suffix: 'queue.size', unit: '{record}', description: 'Records waiting in the queue.', value: (s) => s.queued },
  { suffix: 'queue.usage', unit: 'By', description: 'Bytes waiting in the queue.', value: (s) => s.queuedBytes },
  {
    suffix: 'records.in_flight',
    unit: '{record}',
    description: 'Records in batches being delivered, including ones waiting for a retry.',
    value: (s) => s.inFlight,
  },
  { suffix: 'spool.size', unit: '{record}', description: 'Records waiting in the disk spool.', value: (s) => s.spooled },
  { suffix: 'spool.usage', unit: 'By', description: 'Bytes of the records waiting in the disk spool.', value: (s) => s.spooledBytes },
  {
    suffix: 'concurrency.limit',
    unit: '{request}',
    description: "Requests that may be in flight now, under pool.concurrency 'adaptive' (not observed for a fixed concurrency).",
    value: (s) => s.concurrency?.limit,
  },
]

/** The queue capacity, when known (a CourierStream's queued senders, or the `queueCapacities` option). */
export const CAPACITY: Omit<StatInstrument, 'value'> = {
  suffix: 'queue.capacity',
  unit: '{record}',
  description: 'Most records the queue holds (queue.maxRecords).',
}

/** The SenderTimings histograms (src/stats), by their field in `timings`. */
export interface TimingInstrument {
  readonly field: 'attemptMs' | 'deliveryMs' | 'batchRecords' | 'queueWaitMs'
  readonly suffix: string
  readonly unit: string
  readonly description: string
  /** From our unit to the instrument's: milliseconds to seconds, records stay records. */
  readonly scale: number
  /** The senders' fixed bucket bounds, in our unit (the boundaries advice is them times `scale`). */
  readonly bounds: readonly number[]
}

export const TIMINGS: readonly TimingInstrument[] = [
  {
    field: 'attemptMs',
    suffix: 'request.duration',
    unit: 's',
    description: 'Per delivery attempt (request), retries included: from its start to its answer or timeout.',
    scale: 0.001,
    bounds: DURATION_BOUNDS_MS,
  },
  {
    field: 'deliveryMs',
    suffix: 'delivery.duration',
    unit: 's',
    description: 'Per batch settled (delivered, failed, dead-lettered): from its first dispatch to its settlement, retries included.',
    scale: 0.001,
    bounds: DURATION_BOUNDS_MS,
  },
  { field: 'batchRecords', suffix: 'batch.size', unit: '{record}', description: 'Per batch dispatched: records it held.', scale: 1, bounds: BATCH_RECORDS_BOUNDS },
  {
    field: 'queueWaitMs',
    suffix: 'queue.wait.duration',
    unit: 's',
    description: 'Per batch dispatched: how long its oldest record waited in the queue.',
    scale: 0.001,
    bounds: DURATION_BOUNDS_MS,
  },
]

/** Every instrument name the bridge registers under `prefix`, in the order docs/opentelemetry.md lists them. */
export function otelInstrumentNames(prefix = DEFAULT_OTEL_PREFIX): string[] {
  return [...COUNTERS, DROPPED, MALFORMED, ...LEVELS, CAPACITY, ...TIMINGS].map((i) => `${prefix}.${i.suffix}`)
}
