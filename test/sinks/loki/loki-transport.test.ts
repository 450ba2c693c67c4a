/**
 * The Loki sender through the real transport (`pino.transport({ target: 'pino-courier' })`, the
 * built dist/ in pino's worker thread) against the fake Loki, which enforces Loki's rules: a burst
 * arrives once each and in order per stream with 4 requests in flight, an outage is ridden out with
 * every stream still in order (one request in flight, the default, retries before it goes on), and
 * entries Loki refuses are counted failed without anything accepted being sent again. A child
 * process that calls process.exit() right after logging delivers everything.
 */
import { createServer } from 'node:net'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport, CourierWarning, TransportOptions } from '../../../src/index.js'
import { endTransport, fixture, flushLogger, nextEvent, waitUntil } from '../../fixtures/integration.js'
import { runNode } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { startFakeLoki, type FakeLoki, type FakeLokiOptions } from './fake-loki.js'

const { defer } = useCleanups()

async function loki(options: FakeLokiOptions = {}): Promise<FakeLoki> {
  const started = await startFakeLoki(options)
  defer(() => started.close())
  return started
}

/** Per stream: the `i` of its entries in the order Loki stored them. */
function perStream(fake: FakeLoki): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const [stream, entries] of fake.streams) out.set(stream, entries.map((e) => (JSON.parse(e.line) as { i: number }).i))
  return out
}

/** Every i of 0..n-1 (but `except`) stored exactly once, each stream in increasing order. */
function expectOnceInOrder(fake: FakeLoki, n: number, except: (i: number) => boolean = () => false): void {
  const seen = new Map<number, number>()
  for (const [stream, is] of perStream(fake)) {
    expect(is, stream).toEqual([...is].sort((a, b) => a - b))
    for (const i of is) seen.set(i, (seen.get(i) ?? 0) + 1)
  }
  const expected = Array.from({ length: n }, (_, i) => i).filter((i) => !except(i))
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual(expected)
  expect([...seen.values()].every((times) => times === 1)).toBe(true)
}

/** Logs n records `{ i, s }` (three streams by `s`) through the transport and closes it. */
async function run(
  fake: { url: string },
  n: number,
  sender: Record<string, unknown> = {},
  record: (i: number) => object = (i) => ({ i, s: `s${i % 3}` }),
  whileRunning?: (warnings: readonly CourierWarning[]) => Promise<void>,
): Promise<CourierCloseReport> {
  const transport = pino.transport<TransportOptions>({
    target: 'pino-courier',
    options: {
      senders: [
        {
          type: 'loki',
          url: fake.url,
          labels: { app: 'transport-test' },
          labelKeys: ['s'],
          batch: { maxRecords: 100, maxWaitMs: 20 },
          // Fast retries, and enough of them to ride out an outage however long the worker takes to start.
          retry: { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 1000 },
          ...sender,
        } as never,
      ],
      stderr: false,
    },
  })
  const closed = nextEvent<CourierCloseReport>(transport, 'courier:close', 60_000)
  const warnings: CourierWarning[] = []
  transport.on('courier:warning', (warning: CourierWarning) => warnings.push(warning))
  const logger = pino(transport)
  for (let i = 0; i < n; i++) logger.info(record(i), 'record')
  // Before the flush: pino's flush of a transport waits for the worker, which waits for the sink.
  await whileRunning?.(warnings)
  await flushLogger(logger)
  await endTransport(transport, 60_000)
  return closed
}

/** A port nothing listens on (taken and given back). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('the loki sender through the transport', () => {
  it('a burst arrives once each and in order per stream, with 4 requests in flight overtaking each other', async () => {
    const n = 5000
    // Strict order: an entry older than its stream's newest would be refused (and counted failed).
    const fake = await loki({ order: 'strict', delayMs: (index) => [30, 0, 10, 5][index % 4] as number })
    const report = await run(fake, n, { pool: { concurrency: 4 } })

    const stats = report.senders[0]?.stats
    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0, queued: 0, inFlight: 0 })
    expect(report.undelivered).toBe(0)
    expectOnceInOrder(fake, n)
    // Loki 3 adds service_name (from app) to every stream.
    expect([...fake.streams.keys()].sort()).toEqual([
      '{app="transport-test", level="info", s="s0", service_name="transport-test"}',
      '{app="transport-test", level="info", s="s1", service_name="transport-test"}',
      '{app="transport-test", level="info", s="s2", service_name="transport-test"}',
    ])
    expect(fake.requests.every((r) => r.status === 204)).toBe(true)
  })

  it('rides out an outage of 503s, then delivers everything once, each stream in order (1 in flight, the default)', async () => {
    const n = 2000
    // Strict order (unordered_writes: false): a batch retried after a later one of its stream was
    // taken would be refused. With one request in flight the retry goes before anything later.
    const fake = await loki({ order: 'strict', before: (_request, index) => (index < 8 ? { status: 503, body: 'Service Unavailable' } : undefined) })
    const report = await run(fake, n)
    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(fake.requests.filter((r) => r.status === 503)).toHaveLength(8)
    expectOnceInOrder(fake, n)
  })

  it('rides out a Loki that refuses connections until it comes up', async () => {
    const n = 2000
    const port = await freePort()
    let fake: FakeLoki | undefined
    const report = await run({ url: `http://127.0.0.1:${port}` }, n, {}, undefined, async (warnings) => {
      // Up once the sender has said it is retrying (connection refused).
      await waitUntil(() => warnings.some((w) => w.kind === 'retrying'), 'a retrying warning')
      expect(warnings.find((w) => w.kind === 'retrying')?.error).toMatch(/ECONNREFUSED/)
      fake = await loki({ port, order: 'strict' })
    })
    expect(report.senders[0]?.stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expectOnceInOrder(fake as FakeLoki, n)
  })

  it("counts the entries Loki refuses failed (with Loki's reason), delivers the rest once; the ledger adds up", async () => {
    const n = 3000
    const fake = await loki({ maxLineBytes: 300 })
    const long = (i: number): boolean => i % 10 === 3
    const report = await run(fake, n, { pool: { concurrency: 4 } }, (i) => ({ i, s: `s${i % 3}`, ...(long(i) ? { pad: 'x'.repeat(400) } : {}) }))

    const stats = report.senders[0]?.stats
    expect(stats).toMatchObject({ received: n, delivered: n - n / 10, failed: n / 10, queued: 0, inFlight: 0, retried: 0 })
    expect(stats?.dropped).toEqual({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })
    expect(report.undelivered).toBe(n / 10)
    expect(stats?.recentFailures[0]?.error).toMatch(/Loki refused \d+ entries: line too long/)
    // Nothing went twice: the pushes carried n entries in all, and Loki stored each accepted one once.
    const sent = fake.requests.reduce((sum, r) => sum + (r.text.match(/\["\d+",/g)?.length ?? 0), 0)
    expect(sent).toBe(n)
    expectOnceInOrder(fake, n, long)
  })

  it('delivers everything when the app calls process.exit() right after a burst', async () => {
    const n = 5000
    const fake = await loki({ order: 'strict' })
    const result = await runNode(fixture('loki-app.mjs'), [fake.url, String(n)])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
    expectOnceInOrder(fake, n)
  })
})
