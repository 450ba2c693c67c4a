/**
 * The metrics endpoint over real HTTP: the in-process stream and a real pino.transport() worker
 * (resolved by package name, so from dist/: run `npm run build` first), scraped and parsed.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  createCourierStream,
  DEFAULT_QUEUE,
  parseTransportOptions,
  type CourierStats,
  type CourierStream,
  type CourierStreamOptions,
  type TransportOptions,
} from '../../src/index.js'
import { endIfOpen, endTransport, flushLogger, nextEvent, type TransportStream } from '../fixtures/integration.js'
import { METRICS_REQUEST_TIMEOUT_MS } from '../../src/metrics/metrics-server.js'
import { startNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { parsePrometheusText, type Scrape } from './prom-parse.js'

const { defer, sink } = useCleanups()

function courierStream(options: CourierStreamOptions): CourierStream {
  const stream = createCourierStream({ stderr: false, ...options })
  defer(() => stream.close())
  return stream
}

async function scrape(url: string): Promise<{ response: Response; scrape: Scrape }> {
  const response = await fetch(url)
  const text = await response.text()
  return { response, scrape: parsePrometheusText(text) }
}

/** A server holding a port on 127.0.0.1, for the port-in-use cases. */
async function occupiedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  defer(() => new Promise((resolve) => server.close(resolve)))
  return (server.address() as AddressInfo).port
}

/** Every sender counter of the scrape matches the stats. */
function expectMatchesStats(metrics: Scrape, stats: CourierStats): void {
  for (const s of stats.senders) {
    const sender = { sender: s.name }
    expect(metrics.value('pino_courier_received_records_total', sender)).toBe(s.received)
    expect(metrics.value('pino_courier_delivered_records_total', sender)).toBe(s.delivered)
    expect(metrics.value('pino_courier_failed_records_total', sender)).toBe(s.failed)
    expect(metrics.value('pino_courier_retries_total', sender)).toBe(s.retried)
    expect(metrics.value('pino_courier_sent_bytes_total', sender)).toBe(s.deliveredBytes)
    expect(metrics.value('pino_courier_dropped_records_total', { ...sender, reason: 'overflow' })).toBe(s.dropped.overflow)
    for (const gauge of ['queued_records', 'queued_bytes', 'in_flight_records', 'spooled_records', 'queue_capacity_records']) {
      expect(metrics.value(`pino_courier_${gauge}`, sender)).toBeTypeOf('number')
      expect(metrics.types.get(`pino_courier_${gauge}`)).toBe('gauge')
    }
    for (const [family, timing, divisor] of HISTOGRAMS) {
      expect(metrics.types.get(family)).toBe('histogram')
      const scraped = metrics.histogram(family, sender)
      const kept = s.timings?.[timing]
      if (!kept) {
        expect(scraped).toBeUndefined()
        continue
      }
      // The stats' buckets, in seconds for durations, cumulative, +Inf last.
      let cumulative = 0
      const buckets = kept.counts.map((n, i) => {
        cumulative += n
        return { le: i < kept.bounds.length ? (kept.bounds[i] as number) / divisor : Number.POSITIVE_INFINITY, count: cumulative }
      })
      expect(scraped?.buckets).toEqual(buckets)
      expect(scraped?.count).toBe(kept.count)
      expect(scraped?.sum).toBeCloseTo(kept.sum / divisor, 9)
    }
  }
}

/** Each histogram family, the timing it shows and what divides its values (ms to seconds). */
const HISTOGRAMS = [
  ['pino_courier_request_duration_seconds', 'attemptMs', 1000],
  ['pino_courier_delivery_duration_seconds', 'deliveryMs', 1000],
  ['pino_courier_queue_wait_seconds', 'queueWaitMs', 1000],
  ['pino_courier_batch_records', 'batchRecords', 1],
] as const

describe('metrics option', () => {
  it('is checked at start-up: errors name metrics.port, metrics.path and unknown keys', () => {
    const senders = [{ type: 'http' as const, url: 'http://127.0.0.1:1/' }]
    for (const [metrics, path] of [
      [{ port: 70000 }, 'metrics.port'],
      [{ port: 1.5 }, 'metrics.port'],
      [{ port: -1 }, 'metrics.port'],
      [{ port: 0, path: 'metrics' }, 'metrics.path'],
      // Never what a request's path is (query cut off, percent-encoded): every scrape would be a 404.
      [{ port: 0, path: '/metrics?format=prom' }, 'metrics.path'],
      [{ port: 0, path: '/métriques' }, 'metrics.path'],
      [{ port: 0, path: '/my metrics' }, 'metrics.path'],
      [{ port: 0, bind: 'x' }, 'metrics.bind'],
      [{}, 'metrics.port'],
    ] as const) {
      let error: unknown
      try {
        parseTransportOptions({ senders, metrics })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).paths).toContain(path)
    }
    expect(parseTransportOptions({ senders, metrics: { port: 0 } }).metrics).toEqual({ port: 0 })
    expect(parseTransportOptions({ senders, metrics: { port: 0, path: '/m%C3%A9triques/v1' } }).metrics?.path).toBe('/m%C3%A9triques/v1')
  })
})

describe('in-process stream endpoint', () => {
  it('serves counters matching stats() after records logged through pino, with the 0.0.4 content type', async () => {
    const http = await sink()
    const stream = courierStream({ senders: [{ type: 'http', name: 'main', url: http.url }], metrics: { port: 0 } })
    const url = await stream.metricsReady()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(stream.metricsUrl).toBe(url)
    const logger = pino(stream)
    for (let i = 0; i < 100; i++) logger.info({ i }, 'metered')
    logger.info('one more')
    await flushLogger(logger)

    const { response, scrape: metrics } = await scrape(url as string)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const stats = stream.stats()
    expect(stats.senders[0]?.delivered).toBe(101)
    expectMatchesStats(metrics, stats)
    expect(metrics.value('pino_courier_delivered_records_total', { sender: 'main' })).toBe(101)
    expect(metrics.value('pino_courier_queue_capacity_records', { sender: 'main' })).toBe(DEFAULT_QUEUE.maxRecords)
    expect(metrics.value('pino_courier_malformed_lines_total')).toBe(0)
    // Every record went out in some batch, each batch was delivered after at least one request.
    const batches = metrics.histogram('pino_courier_batch_records', { sender: 'main' })
    expect(batches?.sum).toBe(101)
    expect(metrics.histogram('pino_courier_delivery_duration_seconds', { sender: 'main' })?.count).toBe(batches?.count)
    expect(metrics.histogram('pino_courier_request_duration_seconds', { sender: 'main' })?.count).toBeGreaterThanOrEqual(batches?.count ?? 1)
    expect(metrics.histogram('pino_courier_queue_wait_seconds', { sender: 'main' })?.count).toBe(batches?.count)
  })

  it('answers HEAD with headers only, 404 on other paths, 405 on other methods; a custom path', async () => {
    const stream = courierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }], metrics: { port: 0, path: '/m' } })
    const url = (await stream.metricsReady()) as string
    expect(url.endsWith('/m')).toBe(true)
    const head = await fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(await head.text()).toBe('')
    expect((await fetch(url + '?x=1')).status).toBe(200)
    expect((await fetch(new URL('/metrics', url))).status).toBe(404)
    const post = await fetch(url, { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('a percent-encoded path answers, as fetch sends it', async () => {
    const stream = courierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }], metrics: { port: 0, path: '/m%C3%A9triques' } })
    const url = (await stream.metricsReady()) as string
    expect((await fetch(url)).status).toBe(200)
  })

  it('a port in use: metricsReady() rejects naming metrics.port and the address; the stream still delivers', async () => {
    const port = await occupiedPort()
    const http = await sink()
    const stream = courierStream({ senders: [{ type: 'http', url: http.url }], metrics: { port } })
    const error = await stream.metricsReady().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('metrics.port')
    expect((error as Error).message).toContain(`127.0.0.1:${port}`)
    expect((error as ConfigError).paths).toEqual(['metrics.port'])
    expect(stream.metricsUrl).toBeUndefined()
    const logger = pino(stream)
    logger.info('still goes')
    await flushLogger(logger)
    expect(http.records()).toHaveLength(1)
  })

  it('close releases the port (another server can bind it), even with a keep-alive scraper connected', async () => {
    const stream = courierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }], metrics: { port: 0 }, closeTimeoutMs: 200 })
    const url = new URL((await stream.metricsReady()) as string)
    await (await fetch(url)).text()
    await stream.close()
    await stream.close()
    const other: Server = createServer()
    other.listen(Number(url.port), '127.0.0.1')
    await once(other, 'listening')
    await new Promise((resolve) => other.close(resolve))
  })
})

describe('in-process stream endpoint, hostile cases', () => {
  it('two senders with the same name (two unnamed specs of one type): distinct series, no duplicate', async () => {
    const stream = courierStream({
      senders: [
        { type: 'http', url: 'http://127.0.0.1:1/' },
        { type: 'http', url: 'http://127.0.0.1:2/', queue: { maxRecords: 50 } },
      ],
      metrics: { port: 0 },
    })
    expect(stream.stats().senders.map((s) => s.name)).toEqual(['http', 'http'])
    const { scrape: metrics } = await scrape((await stream.metricsReady()) as string)
    expect(metrics.samples.filter((s) => s.name === 'pino_courier_received_records_total').map((s) => s.labels['sender'])).toEqual(['http', 'http-1'])
    expect(metrics.value('pino_courier_queue_capacity_records', { sender: 'http' })).toBe(DEFAULT_QUEUE.maxRecords)
    expect(metrics.value('pino_courier_queue_capacity_records', { sender: 'http-1' })).toBe(50)
  })

  it('a sender whose stats() throws: 500 without the error text (the endpoint answers anyone)', async () => {
    let broken = true
    const real = createCourierStream({ senders: [{ type: 'http', name: 'custom', url: 'http://127.0.0.1:1/' }], stderr: false })
    defer(() => real.close())
    const sender = {
      name: 'custom',
      send: () => true,
      ready: () => Promise.resolve(),
      flush: () => Promise.resolve(),
      close: () => real.close().then((report) => report.senders[0]),
      stats: () => {
        if (broken) throw new Error('token=hunter2-secret')
        return real.stats().senders[0]
      },
    }
    const stream = courierStream({ senders: [sender as never], metrics: { port: 0 } })
    const response = await fetch((await stream.metricsReady()) as string)
    expect(response.status).toBe(500)
    expect(await response.text()).not.toContain('hunter2')
    broken = false
  })

  it('a stalled client (slowloris) is dropped after the request timeout, not Node\'s 60 s or its 30 s check', async () => {
    const stream = courierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }], metrics: { port: 0 } })
    const url = new URL((await stream.metricsReady()) as string)
    const socket = connect(Number(url.port), url.hostname)
    defer(() => socket.destroy())
    await once(socket, 'connect')
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\n`)
    socket.resume()
    const startedAt = Date.now()
    await once(socket, 'close')
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(METRICS_REQUEST_TIMEOUT_MS - 100)
    expect(Date.now() - startedAt).toBeLessThan(METRICS_REQUEST_TIMEOUT_MS + 8000)
  })

  it('a connected scraper or a stalled client does not keep an app that is done from exiting', async () => {
    const child = startNode('test/metrics/idle-app.mjs', [], { timeoutMs: 30_000 })
    defer(() => {
      if (child.running) child.process.kill('SIGKILL')
    })
    const url = new URL((await child.waitForLine(/^url /, 20_000)).slice(4))
    const socket = connect(Number(url.port), url.hostname)
    defer(() => socket.destroy())
    await once(socket, 'connect')
    // A whole keep-alive request, its answer read, then the start of another one that never ends.
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`)
    await once(socket, 'data')
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\n`)
    const startedAt = Date.now()
    const result = await child.result
    expect(result.code).toBe(0)
    expect(Date.now() - startedAt).toBeLessThan(5000)
  })
})

describe('pino.transport() worker endpoint', () => {
  function courierTransport(options: TransportOptions): TransportStream {
    const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
    defer(() => endIfOpen(transport))
    return transport
  }

  it('posts courier:metrics { url } and serves counters matching the courier:stats event', async () => {
    const http = await sink()
    const transport = courierTransport({ senders: [{ type: 'http', name: 'worker', url: http.url }], metrics: { port: 0 }, stderr: false })
    const { url } = await nextEvent<{ url: string }>(transport, 'courier:metrics')
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const logger = pino(transport)
    for (let i = 0; i < 50; i++) logger.info({ i }, 'from a worker')
    await flushLogger(logger)

    const { response, scrape: metrics } = await scrape(url)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(metrics.value('pino_courier_received_records_total', { sender: 'worker' })).toBe(50)
    expect(metrics.value('pino_courier_delivered_records_total', { sender: 'worker' })).toBe(50)
    expect(metrics.value('pino_courier_queue_capacity_records', { sender: 'worker' })).toBe(DEFAULT_QUEUE.maxRecords)

    const stats = nextEvent<CourierStats>(transport, 'courier:stats')
    await endTransport(transport)
    const final = await stats
    expectMatchesStats(metrics, final)
    // The timings crossed from the worker in the event, as plain data.
    const timings = final.senders[0]?.timings
    expect(timings?.batchRecords.sum).toBe(50)
    expect(timings?.deliveryMs.count).toBe(timings?.batchRecords.count)
    expect(timings?.attemptMs.count).toBeGreaterThanOrEqual(1)
    expect(timings?.attemptMs.counts).toHaveLength((timings?.attemptMs.bounds.length ?? 0) + 1)
    // Closed with the transport: the port is free again.
    const other = createServer()
    other.listen(Number(new URL(url).port), '127.0.0.1')
    await once(other, 'listening')
    await new Promise((resolve) => other.close(resolve))
  })

  it('a port in use fails the transport start with an error naming metrics.port and the address', async () => {
    const port = await occupiedPort()
    const transport = courierTransport({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }], metrics: { port }, stderr: false })
    const error = await nextEvent<Error>(transport, 'never', 30_000).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as Error).message).toContain('metrics.port')
    expect((error as Error).message).toContain(`127.0.0.1:${port}`)
  })
})
