/**
 * The OpenTelemetry metrics bridge: the Prometheus endpoint's metrics, and the SenderTimings
 * histograms, as instruments on an app's own meter provider, through `@opentelemetry/api` (an
 * optional peer dependency: pino-courier depends on the API only, the app brings its SDK).
 *
 * The API's globals (the global meter provider) are per thread and the transport's senders run in
 * a worker, so the bridge runs in the main thread, fed by the transport's `courier:stats` events or,
 * in process, by a CourierStream's stats() read at each collection.
 */
import { z } from 'zod'
import { ConfigError } from '../config/config-error.js'
import type { CourierStats } from '../input/courier.js'
import { QueuedSender } from '../senders/queued-sender.js'
import type { Sender } from '../senders/sender.js'
import { loadOpenTelemetryApi, type OtelAttributes, type OtelBatchObservableCallback, type OtelMeterProvider } from './otel-api.js'
import { DEFAULT_OTEL_PREFIX } from './otel-instruments.js'
import { OtelStatsState } from './otel-state.js'
import { senderLabels } from './prometheus-text.js'

/** Options of {@link bridgeToOpenTelemetry}. */
export interface OpenTelemetryBridgeOptions {
  /**
   * Where the instruments are registered: the app's MeterProvider (e.g. the SDK's).
   * @default metrics.getMeterProvider() of @opentelemetry/api (the global one; a no-op until the app sets one)
   */
  meterProvider?: OtelMeterProvider
  /**
   * The meter's name (its instrumentation scope).
   * @default 'pino-courier'
   */
  meterName?: string
  /**
   * The namespace of every instrument name: `<prefix>.records.delivered`, … (letters, digits, `_`,
   * `.`, `-`, `/`, starting with a letter, as OpenTelemetry takes instrument names).
   * @default 'pino_courier'
   */
  prefix?: string
  /**
   * Attributes added to every measurement besides `sender` (and `reason`), e.g. `{ 'service.component': 'audit' }`
   * to tell two transports with the same sender names apart.
   * @default {}
   */
  attributes?: OtelAttributes
  /**
   * Each sender's `queue.maxRecords` by sender name, for the `queue.capacity` instrument, where its
   * stats do not say it: every built-in sender's do (`SenderStats.queueCapacity`, through a transport
   * too), so this is for custom senders. Given, it wins.
   * @default {} (the stats' own queueCapacity)
   */
  queueCapacities?: Readonly<Record<string, number>>
}

/**
 * A transport stream (`pino.transport()` or createCourierTransport()): its `courier:stats` events,
 * posted every `statsIntervalMs` (the instruments report the latest one).
 */
export interface StatsEventSource {
  on(event: 'courier:stats', listener: (stats: CourierStats) => void): unknown
  off(event: 'courier:stats', listener: (stats: CourierStats) => void): unknown
}

/** A CourierStream (or a Courier): stats() is read at each collection. */
export interface StatsPollSource {
  stats(): CourierStats
  readonly senders?: readonly Sender[]
}

/** A running bridge. */
export interface OpenTelemetryBridge {
  /**
   * Stops listening to the source and unregisters the instruments' callbacks. The meter provider
   * keeps running (it is the app's). Idempotent.
   */
  close(): void
}

const INSTRUMENT_NAME = /^[A-Za-z][A-Za-z0-9_./-]*$/

const optionsSchema = z.strictObject({
  meterProvider: z
    .custom<OtelMeterProvider>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Partial<OtelMeterProvider>).getMeter === 'function',
      'expected a MeterProvider (an object with getMeter())',
    )
    .optional(),
  meterName: z.string().min(1, 'must not be empty').optional(),
  prefix: z
    .string()
    .max(200, 'must be at most 200 characters (an instrument name is at most 255)')
    .regex(INSTRUMENT_NAME, 'must start with a letter and hold only letters, digits, "_", ".", "-" and "/"')
    .refine((p) => !p.endsWith('.'), 'must not end with "."')
    .optional(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  queueCapacities: z.record(z.string(), z.number().int().nonnegative()).optional(),
})

/**
 * Registers pino-courier's metrics on an OpenTelemetry meter provider: counters of received,
 * delivered, failed, dropped (by reason), retried, dead-lettered records and sent bytes; up-down
 * counters of queued, in-flight and spooled records and bytes and of the queue capacity; histograms
 * of attempt and delivery durations, batch sizes and time in queue, from the senders' timings. Every
 * series has the attribute `sender`. Names: docs/opentelemetry.md.
 *
 * Synchronous: `@opentelemetry/api` is loaded with require() (the same module an import gets).
 * Call it in the thread that set the meter provider (the main thread for a transport).
 * @param source a transport stream (its `courier:stats` events) or a CourierStream (its stats()).
 * @throws Error naming `npm install @opentelemetry/api` when the API is not installed; ConfigError for a bad option.
 * @example
 * const transport = pino.transport({ target: 'pino-courier', options: { senders, statsIntervalMs: 5000 } })
 * const bridge = bridgeToOpenTelemetry(transport)
 * // at shutdown, if the app's meter provider outlives the logger: bridge.close()
 */
export function bridgeToOpenTelemetry(
  source: StatsEventSource | StatsPollSource,
  options: OpenTelemetryBridgeOptions = {},
): OpenTelemetryBridge {
  const parsed = optionsSchema.safeParse(options ?? {})
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, '', optionsSchema, options)
  const poll = pollSource(source)
  const events = poll ? undefined : eventSource(source)
  const api = loadOpenTelemetryApi()
  const provider = parsed.data.meterProvider ?? api.metrics.getMeterProvider()
  const meter = provider.getMeter(parsed.data.meterName ?? 'pino-courier')
  const capacities = { ...(poll ? streamCapacities(poll) : {}), ...parsed.data.queueCapacities }
  const state = new OtelStatsState(meter, api.ValueType, {
    prefix: parsed.data.prefix ?? DEFAULT_OTEL_PREFIX,
    attributes: parsed.data.attributes ?? {},
    queueCapacities: capacities,
  })
  let closed = false
  const callback: OtelBatchObservableCallback = (result) => {
    if (closed) return
    if (poll) state.update(poll.stats())
    state.observe(result)
  }
  meter.addBatchObservableCallback(callback, [...state.observables])
  const onStats = (stats: CourierStats): void => {
    if (!closed) state.update(stats)
  }
  events?.on('courier:stats', onStats)
  return {
    close() {
      if (closed) return
      closed = true
      events?.off('courier:stats', onStats)
      meter.removeBatchObservableCallback(callback, [...state.observables])
    },
  }
}

function pollSource(source: unknown): StatsPollSource | undefined {
  return typeof (source as Partial<StatsPollSource> | null)?.stats === 'function' ? (source as StatsPollSource) : undefined
}

function eventSource(source: unknown): StatsEventSource {
  const s = source as Partial<StatsEventSource> | null
  if (typeof s?.on === 'function' && typeof s.off === 'function') return s as StatsEventSource
  throw new TypeError(
    'pino-courier: bridgeToOpenTelemetry(source): expected a transport stream (with courier:stats events) or a CourierStream (with stats())',
  )
}

/** `queue.maxRecords` of a CourierStream's queued senders, by sender label. */
function streamCapacities(source: StatsPollSource): Record<string, number> {
  const senders = Array.isArray(source.senders) ? source.senders : []
  const labels = senderLabels(senders)
  const capacities: Record<string, number> = {}
  senders.forEach((sender, index) => {
    if (sender instanceof QueuedSender) capacities[labels[index] as string] = sender.options.queue.maxRecords
  })
  return capacities
}
