/**
 * The Elasticsearch sender through the real transport: `pino.transport({ target: 'pino-courier' })`
 * runs the built dist/ in pino's worker thread (run `npx tsc -p tsconfig.build.json` first), or a
 * child process exits right after logging. The fake server checks every request as the real ones do.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport, CourierStats, TransportOptions } from '../../../src/index.js'
import { endIfOpen, endTransport, fixture, flushLogger, nextEvent, waitUntil, type TransportStream } from '../../fixtures/integration.js'
import { runNode, type ChildResult } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { startFakeElasticsearch, type FakeElasticsearch, type FakeOptions } from './fake-elasticsearch.js'

const { defer, tempDir } = useCleanups()

async function fake(options: FakeOptions = {}): Promise<FakeElasticsearch> {
  const started = await startFakeElasticsearch(options)
  defer(() => started.close())
  return started
}

function courierTransport(options: TransportOptions): TransportStream {
  const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
  defer(() => endIfOpen(transport))
  return transport
}

/** How many times each `i` was written, and how many distinct `_id`s were. */
function written(es: FakeElasticsearch): { byI: Map<number, number>; ids: number; writes: number } {
  const byI = new Map<number, number>()
  for (const write of es.writes) byI.set(write.source.i as number, (byI.get(write.source.i as number) ?? 0) + 1)
  return { byI, ids: new Set(es.writes.map((w) => `${w.index}/${w.id}`)).size, writes: es.writes.length }
}

/** Each of 0..n-1 written exactly once, under n distinct `_id`s. */
function expectOnceEach(es: FakeElasticsearch, n: number, skip: (i: number) => boolean = () => false): void {
  const { byI, ids, writes } = written(es)
  const expected = Array.from({ length: n }, (_, i) => i).filter((i) => !skip(i))
  expect(writes).toBe(expected.length)
  expect(ids).toBe(expected.length)
  expect(expected.filter((i) => byI.get(i) !== 1)).toEqual([])
}

/** The `_id`s of every action sent, with how many requests carried each. */
function sentIds(es: FakeElasticsearch): Map<string, { i: number; times: number }> {
  const sent = new Map<string, { i: number; times: number }>()
  for (const request of es.requests) {
    const lines = request.body.trimEnd().split('\n')
    for (let k = 0; k + 1 < lines.length; k += 2) {
      const id = (JSON.parse(lines[k] as string) as { create: { _id: string } }).create._id
      const i = (JSON.parse(lines[k + 1] as string) as { i: number }).i
      sent.set(id, { i, times: (sent.get(id)?.times ?? 0) + 1 })
    }
  }
  return sent
}

function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`
}

describe('elasticsearch through the transport', () => {
  it.each(['elasticsearch', 'opensearch'] as const)('delivers a burst once each, by _id and by content (%s)', async (flavor) => {
    const n = 10_000
    const es = await fake({ flavor })
    const transport = courierTransport({ senders: [{ type: 'elasticsearch', url: es.url, index: 'logs-%{yyyy.MM.dd}' }], stderr: false })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    for (let i = 0; i < n; i++) logger.info({ i }, 'burst')
    await flushLogger(logger)
    await endTransport(transport)
    const report = await closed

    expect(report.senders[0]?.stats).toMatchObject({ name: 'elasticsearch', received: n, delivered: n, failed: 0, queued: 0, inFlight: 0 })
    expect(report.undelivered).toBe(0)
    expectOnceEach(es, n)
    for (const write of es.writes) {
      const time = write.source.time as number
      expect(write.index).toBe(`logs-${new Date(time).toISOString().slice(0, 10).replaceAll('-', '.')}`)
      expect(write.source).toMatchObject({ level: 30, msg: 'burst', '@timestamp': new Date(time).toISOString() })
    }
  })

  it('rides out an outage of 503s, then delivers everything once', async () => {
    const n = 3000
    const es = await fake({
      request: (_request, index) => (index < 4 ? { status: 503, body: '{"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"},"status":503}' } : undefined),
    })
    const transport = courierTransport({
      senders: [{ type: 'elasticsearch', url: es.url, index: 'logs', batch: { maxWaitMs: 20 }, retry: { baseDelayMs: 20, maxDelayMs: 200 } }],
      stderr: false,
    })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    for (let i = 0; i < n; i++) logger.info({ i }, 'outage')
    await flushLogger(logger)
    await es.waitFor(() => es.writes.length === n)
    await endTransport(transport)
    const stats = (await closed).senders[0]?.stats

    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(stats?.retried).toBeGreaterThan(0)
    expectOnceEach(es, n)
  })

  it('rides out a server that refuses connections, then comes up on its port', async () => {
    const n = 3000
    const first = await startFakeElasticsearch()
    const port = first.port
    await first.close()
    const transport = courierTransport({
      // Attempts without a count limit (the time limit stays): how soon the test sees the refusals
      // must not decide whether the batch is still there to deliver.
      senders: [
        {
          type: 'elasticsearch',
          url: `http://127.0.0.1:${port}`,
          index: 'logs',
          batch: { maxWaitMs: 20 },
          retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 10_000 },
        },
      ],
      statsIntervalMs: 50,
      stderr: false,
    })
    const stats: CourierStats[] = []
    transport.on('courier:stats', (s: CourierStats) => stats.push(s))
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    for (let i = 0; i < n; i++) logger.info({ i }, 'refused')
    // (Not logger.flush(): it waits for the records to be delivered.)
    // Up only once the sender has been refused and is retrying.
    await waitUntil(() => (stats.at(-1)?.senders[0]?.retried ?? 0) > 0, 'a refused attempt')
    const es = await fake({ port })
    await es.waitFor(() => es.writes.length === n)
    await endTransport(transport)
    const report = await closed

    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expectOnceEach(es, n)
  })

  it('counts per-record rejections: the ledger adds up, nothing accepted is sent twice, the refused are dead-lettered', async () => {
    const n = 5000
    // `n` is mapped as a number (an index template): the records giving it text are refused (400);
    // every tenth record from 7 is refused once with a 429 and goes again alone.
    const es = await fake({
      mappings: { logs: { n: 'long' } },
      item: ({ doc, seen }) =>
        (doc.i as number) % 10 === 7 && seen === 1
          ? { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0]' }
          : undefined,
    })
    const deadLetter = join(await tempDir(), 'dead.ndjson')
    const transport = courierTransport({
      senders: [
        { type: 'elasticsearch', url: es.url, index: 'logs', batch: { maxRecords: 500, maxWaitMs: 20 }, retry: { baseDelayMs: 5 }, deadLetter: { path: deadLetter } },
      ],
      stderr: false,
    })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    for (let i = 0; i < n; i++) logger.info({ i, n: i % 10 === 3 ? `text ${i}` : i }, 'mixed')
    await flushLogger(logger)
    await endTransport(transport)
    const report = await closed
    const stats = report.senders[0]?.stats

    expect(stats).toMatchObject({ received: n, delivered: 4500, failed: 500, deadLettered: 500, retried: 500, queued: 0, inFlight: 0 })
    expect(stats?.dropped).toEqual({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })
    expect(report.undelivered).toBe(500)
    expectOnceEach(es, n, (i) => i % 10 === 3)
    // Sent once each, but for the ones asked again: the part retry carried only them, with their _ids.
    for (const [id, { i, times }] of sentIds(es)) expect(times, `record ${i} (${id})`).toBe(i % 10 === 7 ? 2 : 1)
    expect(es.statuses.get(409)).toBeUndefined()
    const dead = (await readFile(deadLetter, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { i: number; n: string })
    expect(dead.map((d) => d.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, k) => k * 10 + 3))
    expect(dead[0]?.n).toMatch(/^text /)
    expect(stats?.recentFailures.at(-1)?.error).toMatch(/document_parsing_exception: .*failed to parse field \[n\] of type \[long\]/)
  })

  it('delivers everything, once, when the app calls process.exit() right after a burst', async () => {
    const n = 10_000
    const es = await fake()
    const result = await runNode(fixture('elasticsearch-app.mjs'), [es.url, String(n)])

    expect(result.code, describeChild(result)).toBe(0)
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
    expectOnceEach(es, n)
    expect(es.writes.every((w) => /^app-\d{4}\.\d{2}\.\d{2}$/.test(w.index))).toBe(true)
  })
})
