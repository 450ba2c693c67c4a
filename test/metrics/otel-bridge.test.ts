/**
 * The OpenTelemetry bridge on the real SDK (MeterProvider and a manual reader): in process over a
 * CourierStream with a real HTTP sink, and through a real pino.transport() worker (resolved by package
 * name, so from dist/: run `npm run build` first), checking the collected values against stats().
 */
import { EventEmitter } from 'node:events'
import { metrics } from '@opentelemetry/api'
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram as SdkHistogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import type { CourierStats } from '../../src/input/courier.js'
import { createCourierStream, type CourierStreamOptions } from '../../src/input/stream.js'
import { bridgeToOpenTelemetry, type OpenTelemetryBridgeOptions } from '../../src/metrics/otel-bridge.js'
import { otelInstrumentNames, TIMINGS } from '../../src/metrics/otel-instruments.js'
import type { SenderStats } from '../../src/stats/delivery-stats.js'
import { DEFAULT_QUEUE, type TransportOptions } from '../../src/index.js'
import type { CourierTransportStream } from '../../src/input/courier-transport.js'
import { endIfOpen, endTransport, fixture, flushLogger, nextEvent, waitUntil, type TransportStream } from '../fixtures/integration.js'
import { runNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { senderStats } from '../helpers/sender-stats.js'

const { defer, sink } = useCleanups()

class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** What one collection gave: data points by instrument name. */
class Collected {
  readonly byName = new Map<string, MetricData>()
  constructor(metricsData: readonly MetricData[]) {
    for (const m of metricsData) this.byName.set(m.descriptor.name, m)
  }

  point(name: string, attributes: Record<string, unknown>): DataPoint<unknown> | undefined {
    const points = (this.byName.get(name)?.dataPoints ?? []) as DataPoint<unknown>[]
    return points.find((p) => JSON.stringify(sorted(p.attributes)) === JSON.stringify(sorted(attributes)))
  }

  value(name: string, attributes: Record<string, unknown>): number | undefined {
    return this.point(name, attributes)?.value as number | undefined
  }

  histogram(name: string, attributes: Record<string, unknown>): SdkHistogram | undefined {
    return this.point(name, attributes)?.value as SdkHistogram | undefined
  }
}

function sorted(o: Record<string, unknown>): [string, unknown][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b))
}

/** A real SDK MeterProvider with a reader collected on demand, shut down after the test. */
function sdk(): { provider: MeterProvider; collect: () => Promise<Collected> } {
  const reader = new ManualReader()
  const provider = new MeterProvider({ readers: [reader] })
  defer(() => provider.shutdown())
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect()
      expect(errors).toEqual([])
      return new Collected(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics))
    },
  }
}

function bridge(source: Parameters<typeof bridgeToOpenTelemetry>[0], options: OpenTelemetryBridgeOptions): ReturnType<typeof bridgeToOpenTelemetry> {
  const b = bridgeToOpenTelemetry(source, options)
  defer(() => b.close())
  return b
}

/** Every instrument of a sender matches its stats: counters, up-down counters and the timings histograms. */
function expectMatchesStats(c: Collected, s: SenderStats, prefix = 'pino_courier'): void {
  const sender = { sender: s.name }
  expect(c.value(`${prefix}.records.received`, sender)).toBe(s.received)
  expect(c.value(`${prefix}.records.delivered`, sender)).toBe(s.delivered)
  expect(c.value(`${prefix}.records.failed`, sender)).toBe(s.failed)
  expect(c.value(`${prefix}.records.retried`, sender)).toBe(s.retried)
  expect(c.value(`${prefix}.records.dead_lettered`, sender)).toBe(s.deadLettered)
  expect(c.value(`${prefix}.bytes.sent`, sender)).toBe(s.deliveredBytes)
  for (const [reason, n] of Object.entries(s.dropped)) expect(c.value(`${prefix}.records.dropped`, { ...sender, reason })).toBe(n)
  expect(c.value(`${prefix}.queue.size`, sender)).toBe(s.queued)
  expect(c.value(`${prefix}.queue.usage`, sender)).toBe(s.queuedBytes)
  expect(c.value(`${prefix}.records.in_flight`, sender)).toBe(s.inFlight)
  expect(c.value(`${prefix}.spool.size`, sender)).toBe(s.spooled)
  expect(c.byName.get(`${prefix}.records.delivered`)?.dataPointType).toBe(DataPointType.SUM)
  expect(c.byName.get(`${prefix}.records.delivered`)?.descriptor.unit).toBe('{record}')
  expect(c.byName.get(`${prefix}.queue.size`)?.dataPointType).toBe(DataPointType.SUM)
  expect(s.timings, 'QueuedSender fills timings').toBeDefined()
  for (const t of TIMINGS) {
    const ours = s.timings?.[t.field]
    const theirs = c.histogram(`${prefix}.${t.suffix}`, sender)
    if (!ours || ours.count === 0) {
      expect(theirs?.count ?? 0).toBe(0)
      continue
    }
    expect(theirs, t.suffix).toBeDefined()
    expect(theirs?.buckets.boundaries).toEqual(ours.bounds.map((b) => (t.scale === 1 ? b : b / 1000)))
    expect(theirs?.buckets.counts).toEqual(ours.counts)
    expect(theirs?.count).toBe(ours.count)
    expect(theirs?.sum).toBeCloseTo(ours.sum * t.scale, 6)
  }
}

describe('bridgeToOpenTelemetry over a CourierStream (stats() read at each collection)', () => {
  function courierStream(options: CourierStreamOptions): ReturnType<typeof createCourierStream> {
    const stream = createCourierStream({ stderr: false, ...options })
    defer(() => stream.close())
    return stream
  }

  it('reports the stream stats, timings included, to the app meter provider', async () => {
    const http = await sink()
    const stream = courierStream({ senders: [{ type: 'http', name: 'main', url: http.url, batch: { maxRecords: 40 } }] })
    const { provider, collect } = sdk()
    bridge(stream, { meterProvider: provider })
    const logger = pino(stream)
    for (let i = 0; i < 250; i++) logger.info({ i }, 'metered')
    await flushLogger(logger)

    const collected = await collect()
    const stats = stream.stats()
    expect(stats.senders[0]?.delivered).toBe(250)
    expectMatchesStats(collected, stats.senders[0] as SenderStats)
    expect(collected.value('pino_courier.queue.capacity', { sender: 'main' })).toBe(DEFAULT_QUEUE.maxRecords)
    expect(collected.value('pino_courier.lines.malformed', {})).toBe(0)
    expect(collected.histogram('pino_courier.batch.size', { sender: 'main' })?.count).toBeGreaterThanOrEqual(7)
    // Every instrument but the adaptive concurrency's, which a fixed concurrency does not observe.
    const observed = otelInstrumentNames().filter((name) => name !== 'pino_courier.concurrency.limit')
    expect([...collected.byName.keys()].sort()).toEqual(observed.sort())

    // The next collection moves on with the stream: counters add up, histograms get only what is new.
    for (let i = 0; i < 30; i++) logger.info({ i }, 'more')
    await flushLogger(logger)
    const again = await collect()
    expectMatchesStats(again, stream.stats().senders[0] as SenderStats)
    expect(again.value('pino_courier.records.delivered', { sender: 'main' })).toBe(280)
  })

  it('uses the global meter provider by default, with the meter name, prefix and attributes given', async () => {
    const http = await sink()
    const stream = courierStream({ senders: [{ type: 'http', url: http.url }, { type: 'http', url: http.url }] })
    const { provider, collect } = sdk()
    metrics.setGlobalMeterProvider(provider)
    defer(() => metrics.disable())
    bridge(stream, { meterName: 'my-app-logs', prefix: 'app.logs', attributes: { 'service.component': 'audit' } })
    const logger = pino(stream)
    logger.info('one')
    logger.info('two')
    await flushLogger(logger)
    const collected = await collect()
    expect([...collected.byName.keys()].every((name) => name.startsWith('app.logs.'))).toBe(true)
    // Two unnamed senders of one type: the same unique labels as the Prometheus endpoint.
    for (const sender of ['http', 'http-1']) {
      expect(collected.value('app.logs.records.delivered', { sender, 'service.component': 'audit' })).toBe(2)
    }
  })

  it('close() unregisters the callback: stats() is no longer read and the app provider keeps working', async () => {
    const http = await sink()
    const stream = courierStream({ senders: [{ type: 'http', name: 's', url: http.url }] })
    let reads = 0
    const source = { stats: () => (reads++, stream.stats()), senders: stream.senders }
    const { provider, collect } = sdk()
    const b = bridge(source, { meterProvider: provider })
    const own = provider.getMeter('app').createCounter('app.requests')
    const logger = pino(stream)
    logger.info('before close')
    await flushLogger(logger)
    own.add(3)
    expect((await collect()).value('pino_courier.records.received', { sender: 's' })).toBe(1)
    expect(reads).toBe(1)
    b.close()
    b.close()
    logger.info('after close')
    await flushLogger(logger)
    own.add(1)
    const after = await collect()
    expect(reads).toBe(1)
    expect(stream.stats().senders[0]?.received).toBe(2)
    expect(after.value('app.requests', {})).toBe(4)
    // The SDK keeps a cumulative series at its last value; nothing moves it any more.
    expect(after.value('pino_courier.records.received', { sender: 's' })).toBe(1)
  })
})

it('holds no timer: an app that never calls close() exits by itself', async () => {
  const http = await sink()
  const result = await runNode(fixture('otel-exit-app.mjs'), [http.url], { timeoutMs: 30_000 })
  expect(result.signal, result.stderr).toBeNull()
  expect(result.code, result.stderr).toBe(0)
  expect(result.stdout).toContain('DELIVERED 10')
})

// Compile-time: createCourierTransport()'s typed stream is a source as it is.
export const typedTransportIsASource = (transport: CourierTransportStream): void => void bridgeToOpenTelemetry(transport).close()

describe('bridgeToOpenTelemetry over courier:stats events', () => {
  const event = (s: Partial<SenderStats>): CourierStats => ({ lines: 0, malformed: 0, senders: [senderStats('x', s)] })

  it('keeps counters going up when a snapshot goes down (a sender started again), gauges follow it', async () => {
    const source = new EventEmitter()
    const { provider, collect } = sdk()
    bridge(source, { meterProvider: provider, queueCapacities: { x: 50 } })
    expect((await collect()).byName.size).toBe(0)
    source.emit('courier:stats', event({ received: 10, delivered: 8, queued: 2, dropped: { overflow: 1, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 } }))
    let c = await collect()
    expect(c.value('pino_courier.records.delivered', { sender: 'x' })).toBe(8)
    expect(c.value('pino_courier.records.dropped', { sender: 'x', reason: 'overflow' })).toBe(1)
    expect(c.value('pino_courier.queue.size', { sender: 'x' })).toBe(2)
    expect(c.value('pino_courier.queue.capacity', { sender: 'x' })).toBe(50)
    source.emit('courier:stats', event({ received: 3, delivered: 3, queued: 0 }))
    c = await collect()
    expect(c.value('pino_courier.records.received', { sender: 'x' })).toBe(13)
    expect(c.value('pino_courier.records.delivered', { sender: 'x' })).toBe(11)
    expect(c.value('pino_courier.records.dropped', { sender: 'x', reason: 'overflow' })).toBe(1)
    expect(c.value('pino_courier.queue.size', { sender: 'x' })).toBe(0)
    source.emit('courier:stats', event({ received: 5, delivered: 4 }))
    c = await collect()
    expect(c.value('pino_courier.records.delivered', { sender: 'x' })).toBe(12)
  })

  it('refuses a source that is neither, and bad options with their path', () => {
    expect(() => bridgeToOpenTelemetry({} as EventEmitter)).toThrow(/expected a transport stream .* or a CourierStream/)
    const source = new EventEmitter()
    for (const [options, path] of [
      [{ prefix: '1abc' }, 'prefix'],
      [{ prefix: 'a b' }, 'prefix'],
      [{ prefix: 'app.' }, 'prefix'],
      [{ meterProvider: {} }, 'meterProvider'],
      [{ meterName: '' }, 'meterName'],
      [{ queueCapacities: { x: -1 } }, 'queueCapacities.x'],
      [{ meterProvidr: 1 }, 'meterProvidr'],
    ] as const) {
      let error: unknown
      try {
        bridgeToOpenTelemetry(source, options as OpenTelemetryBridgeOptions)
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).paths).toContain(path)
    }
    expect(source.listenerCount('courier:stats')).toBe(0)
  })
})

describe('bridgeToOpenTelemetry over a source whose stats() hands out live timings', () => {
  it('records what is new even when the histogram object is the same one, updated in place', async () => {
    // A custom sender may keep its histogram in one object and return it from every stats().
    const live = { bounds: [1, 10], counts: [0, 0, 0], sum: 0, count: 0 }
    const observe = (ms: number): void => {
      const i = ms <= 1 ? 0 : ms <= 10 ? 1 : 2
      live.counts[i] = (live.counts[i] as number) + 1
      live.sum += ms
      live.count++
    }
    const stats = { name: 'live', received: 0, dropped: {}, timings: { attemptMs: live } } as unknown as SenderStats
    const source = { stats: (): CourierStats => ({ lines: 0, malformed: 0, senders: [stats] }) }
    const { provider, collect } = sdk()
    bridge(source, { meterProvider: provider })
    observe(5)
    expect((await collect()).histogram('pino_courier.request.duration', { sender: 'live' })?.count).toBe(1)
    observe(5)
    observe(20)
    const h = (await collect()).histogram('pino_courier.request.duration', { sender: 'live' })
    expect(h?.count).toBe(3)
    expect(h?.sum).toBeCloseTo(0.03, 9)
  })
})

describe('bridgeToOpenTelemetry over a pino.transport() worker (main thread, courier:stats events)', () => {
  function courierTransport(options: TransportOptions): TransportStream {
    const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
    defer(() => endIfOpen(transport))
    return transport
  }

  it('reports the last stats event; close() stops listening', async () => {
    const http = await sink()
    const transport = courierTransport({
      senders: [{ type: 'http', name: 'worker', url: http.url, batch: { maxRecords: 25 }, queue: { maxRecords: 1234 } }],
      statsIntervalMs: 50,
      stderr: false,
    })
    const { provider, collect } = sdk()
    const before = transport.listenerCount('courier:stats')
    // No queueCapacities: the worker's stats events carry each sender's queue capacity.
    const b = bridge(transport, { meterProvider: provider })
    expect(transport.listenerCount('courier:stats')).toBe(before + 1)
    let last: CourierStats | undefined
    transport.on('courier:stats', (stats: CourierStats) => (last = stats))
    const logger = pino(transport)
    for (let i = 0; i < 200; i++) logger.info({ i }, 'via worker')
    await flushLogger(logger)
    // Settled and reported: the worker's stats no longer change, so the last event is what the bridge holds.
    await waitUntil(() => last?.senders[0]?.delivered === 200 && last.senders[0].inFlight === 0, 'a stats event with every record delivered')
    await nextEvent(transport, 'courier:stats')
    const collected = await collect()
    expectMatchesStats(collected, last?.senders[0] as SenderStats)
    expect(collected.value('pino_courier.records.delivered', { sender: 'worker' })).toBe(200)
    expect(collected.value('pino_courier.queue.capacity', { sender: 'worker' })).toBe(1234)

    b.close()
    expect(transport.listenerCount('courier:stats')).toBe(before + 1)
    logger.info('after close')
    await flushLogger(logger)
    await endTransport(transport)
    expect(last?.senders[0]?.delivered).toBe(201)
    // The SDK keeps a cumulative series at its last value; the events after close() do not move it.
    const after = await collect()
    expect(after.value('pino_courier.records.delivered', { sender: 'worker' })).toBe(200)
  })
})
