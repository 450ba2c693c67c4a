/**
 * The OTLP sender through the real transport (`pino.transport({ target: 'pino-courier' })`, the built
 * dist/ in pino's worker thread) to the fake collector, which decodes every request with the official
 * .proto files: a burst once each, outages ridden out, partial rejections counted, and an app that
 * calls process.exit() right after logging losing nothing.
 */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { CourierCloseReport, CourierStats, SenderSpec, TransportOptions } from '../../../src/index.js'
import { endIfOpen, endTransport, fixture, flushLogger, nextEvent, waitUntil, type TransportStream } from '../../fixtures/integration.js'
import { runNode, type ChildResult } from '../../helpers/child-process.js'
import { startCollector, type CollectorResponder, type FakeCollector } from './fake-collector.js'
import type { DecodedRecord } from './otlp-proto.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function collector(responder?: CollectorResponder, port?: number): Promise<FakeCollector> {
  const started = await startCollector(responder, { port })
  cleanups.push(() => started.close())
  return started
}

function transport(sender: Omit<Extract<SenderSpec, { type: 'otlp' }>, 'type'>, extra: Partial<TransportOptions> = {}): TransportStream {
  const stream = pino.transport<TransportOptions>({
    target: 'pino-courier',
    options: { senders: [{ type: 'otlp', retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 1000 }, ...sender }], stderr: false, ...extra },
  })
  cleanups.push(() => endIfOpen(stream))
  return stream
}

/** How many times each `i` arrived, and which of 0..n-1 are missing. */
function tally(records: readonly DecodedRecord[], n: number): { count: number; missing: number; duplicates: number } {
  const seen = new Map<number, number>()
  for (const record of records) {
    const i = Number(record.attributes.i)
    seen.set(i, (seen.get(i) ?? 0) + 1)
  }
  let missing = 0
  for (let i = 0; i < n; i++) if (!seen.has(i)) missing++
  let duplicates = 0
  for (const times of seen.values()) duplicates += times - 1
  return { count: records.length, missing, duplicates }
}

function once(n: number): { count: number; missing: number; duplicates: number } {
  return { count: n, missing: 0, duplicates: 0 }
}

async function logAndClose(stream: TransportStream, n: number): Promise<CourierCloseReport> {
  const closed = nextEvent<CourierCloseReport>(stream, 'courier:close')
  const logger = pino(stream)
  for (let i = 0; i < n; i++) logger.info({ i, user: { id: i % 7, tags: ['a', 'b'] } }, 'request done')
  await flushLogger(logger)
  await endTransport(stream)
  return closed
}

describe('otlp through the transport', () => {
  it('delivers a burst of 5,000 records once each, mapped as pino wrote them', async () => {
    const n = 5000
    const otel = await collector()
    const report = await logAndClose(transport({ url: otel.url }), n)
    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0, queued: 0, inFlight: 0 })
    expect(tally(otel.accepted(), n)).toEqual(once(n))
    expect(otel.requests.every((r) => r.url === '/v1/logs' && r.decoded?.resourceLogs === 1)).toBe(true)
    const first = otel.accepted().find((r) => r.attributes.i === 0n)
    expect(first).toMatchObject({ body: 'request done', severityNumber: 9, severityText: 'info', attributes: { i: 0n, user: { id: 0n, tags: ['a', 'b'] } } })
    expect(otel.requests[0]?.decoded?.resource['process.pid']).toBe(BigInt(process.pid))
  })

  it('rides out an outage of 503s (the collector restarting), then delivers everything once', async () => {
    const n = 2000
    let refusals = 0
    const otel = await collector(() => (refusals++ < 6 ? { status: 503, headers: { 'retry-after': '0' }, body: 'collector starting' } : undefined))
    const report = await logAndClose(transport({ url: otel.url, protocol: 'http/json', gzip: true }), n)
    expect(refusals).toBeGreaterThan(6)
    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(report.senders[0]?.stats.retried).toBeGreaterThan(0)
    expect(tally(otel.accepted(), n)).toEqual(once(n))
  })

  it('rides out a refused connection until the collector comes up', async () => {
    const n = 1000
    const port = await freePort()
    const stream = transport({ url: `http://127.0.0.1:${port}` }, { statsIntervalMs: 25 })
    const logger = pino(stream)
    for (let i = 0; i < n; i++) logger.info({ i }, 'while down')
    // Not logger.flush(): through this transport it resolves once the records are delivered (or have
    // failed), which cannot happen while the collector is down. Wait until the worker has them all
    // and has been refused at least once.
    await waitUntil(async () => {
      const sender = (await nextEvent<CourierStats>(stream, 'courier:stats')).senders[0]
      return sender?.received === n && (sender.lastError?.message ?? '').includes('ECONNREFUSED')
    }, 'a refused connection')
    const otel = await collector(undefined, port)
    const closed = nextEvent<CourierCloseReport>(stream, 'courier:close')
    await otel.waitFor(() => otel.accepted().length >= n)
    await endTransport(stream)
    const report = await closed
    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(tally(otel.accepted(), n)).toEqual(once(n))
  })

  it('counts partial rejections failed, the rest delivered, nothing sent twice: the ledger adds up', async () => {
    const n = 3000
    // The collector refuses the first record of every request (as if it were too old).
    const otel = await collector((request) => ({ partial: { rejected: 1, message: `record ${String(request.records[0]?.attributes.i)} too old` } }))
    const report = await logAndClose(transport({ url: otel.url, batch: { maxRecords: 100 } }), n)
    const stats = report.senders[0]?.stats
    expect(otel.rejected).toBeGreaterThan(0)
    expect(stats).toMatchObject({ received: n, failed: otel.rejected, delivered: n - otel.rejected, retried: 0 })
    expect((stats?.delivered ?? 0) + (stats?.failed ?? 0)).toBe(n)
    expect(report.undelivered).toBe(otel.rejected)
    expect(tally(otel.accepted(), n)).toEqual(once(n))
    expect(stats?.recentFailures.at(-1)?.error).toMatch(/rejected 1 of \d+ log records: record \d+ too old/)
  })
})

describe('process.exit() right after logging', () => {
  it('delivers every record once, to the endpoint the environment names', async () => {
    const n = 10_000
    const otel = await collector()
    const result = await runNode(fixture('otlp-exit-app.mjs'), [String(n)], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otel.url, OTEL_SERVICE_NAME: 'exit-app' },
    })
    expect(result.code, describeChild(result)).toBe(0)
    expect(tally(otel.accepted(), n)).toEqual(once(n))
    expect(otel.requests[0]?.decoded?.resource['service.name']).toBe('exit-app')
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })
})

function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}\n--- stderr ---\n${result.stderr}`
}

/** A port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
