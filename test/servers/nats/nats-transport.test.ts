/**
 * The NATS sender through the real transport (pino.transport in a worker thread, in a child process
 * running the built dist/) against a real nats-server with JetStream: a burst stored once each, the
 * server stopped mid-burst and restarted (nothing lost, no duplicate: the stream de-duplicates the
 * records sent again by their Nats-Msg-Id), a disk spool carried across a process restart, and
 * process.exit() right after a burst.
 */
import { describe, expect, it } from 'vitest'
import type { CloseReport } from '../../../src/senders/sender.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { fixture } from '../../fixtures/integration.js'
import { runNode, startNode, type RunningChild } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { countById, NatsServer, waitUntil, type StoredMessage } from './nats-server.js'

const APP = fixture('nats-app.mjs')
const { defer, tempDir } = useCleanups()

async function server(): Promise<NatsServer> {
  const started = await NatsServer.start(await tempDir())
  defer(() => started.stop())
  await started.addStream('LOGS', ['logs.>'])
  return started
}

/** Starts the app; `output()` is what it printed so far. */
function app(nats: NatsServer, how: string, sender: object = {}, courier: object = {}): RunningChild & { output(): string } {
  const child = startNode(APP, [nats.url, how, JSON.stringify(sender), JSON.stringify(courier)], { timeoutMs: 110_000 })
  defer(() => {
    if (child.running) child.process.kill('SIGKILL')
  })
  let text = ''
  child.process.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()))
  return Object.assign(child, { output: () => text })
}

/** The last `stats` line the app printed so far. */
function lastStats(output: string): SenderStats | undefined {
  const lines = output.split('\n').filter((l) => l.startsWith('stats '))
  const last = lines.at(-1)
  return last === undefined ? undefined : (JSON.parse(last.slice(6)) as SenderStats)
}

function closeReport(output: string): CloseReport {
  const line = output.split('\n').find((l) => l.startsWith('close '))
  if (line === undefined) throw new Error(`the app printed no close report:\n${output.slice(-2000)}`)
  return JSON.parse(line.slice(6)) as CloseReport
}

/** Every i of 0..n-1 stored exactly once (and nothing else). */
function expectOnceEach(stored: readonly StoredMessage[], n: number): void {
  const counts = countById(stored)
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i))
  const twice = [...counts].filter(([, times]) => times > 1).map(([i]) => i)
  expect({ missing: missing.slice(0, 20), missingCount: missing.length, duplicates: twice.slice(0, 20) }).toEqual({
    missing: [],
    missingCount: 0,
    duplicates: [],
  })
  expect(stored).toHaveLength(n)
}

function expectLedger(stats: SenderStats): void {
  const accounted = stats.queued + stats.spooled + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats)
  expect(accounted, JSON.stringify(stats)).toBe(stats.received + stats.recovered)
}

describe('nats sender through pino.transport', () => {
  it('20,000 records are stored in the stream once each, in order', async () => {
    const nats = await server()
    const started = Date.now()
    const child = app(nats, 'end:20000')
    const result = await child.result
    const seconds = (Date.now() - started) / 1000
    expect(result.code, result.stderr).toBe(0)
    const report = closeReport(result.stdout)
    expect(report.stats).toMatchObject({ received: 20_000, delivered: 20_000, failed: 0, retried: 0 })
    const stored = await nats.readAll('LOGS')
    expectOnceEach(stored, 20_000)
    expect(stored.map((m) => (JSON.parse(m.data) as { i: number }).i)).toEqual(Array.from({ length: 20_000 }, (_, i) => i))
    console.log(`nats: 20,000 records through the transport in ${seconds.toFixed(1)} s (child process start included)`)
  })

  it('the server stopped mid-burst and restarted on the same port and store: every record stored once, none lost, no duplicate', async () => {
    const nats = await server()
    // 50 records every 5 ms: the burst lasts about 2 s, so the server goes down in the middle of it.
    const child = app(nats, 'end:20000:50', { retry: { baseDelayMs: 50, maxDelayMs: 500, maxAttempts: 1000, maxRetryTimeMs: 90_000 } })
    // Some delivered, the burst still going on.
    await waitUntil(() => (lastStats(child.output())?.delivered ?? 0) >= 2000, 'the first 2,000 delivered')
    const stopped = Date.now()
    await nats.stop()
    // Mid-burst indeed: not everything was delivered when the server went away.
    expect(lastStats(child.output())?.delivered ?? 0).toBeLessThan(20_000)
    await waitUntil(() => (lastStats(child.output())?.lastError?.at ?? 0) > stopped, 'an attempt failing while the server is down', 30_000)
    await new Promise((r) => setTimeout(r, 500))
    await nats.restart()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
    const report = closeReport(result.stdout)
    expectLedger(report.stats)
    expect(report.stats).toMatchObject({ received: 20_000, delivered: 20_000, failed: 0 })
    expect(report.stats.retried).toBeGreaterThan(0)
    // Nothing printed but the app's own lines: the client writes nothing to the console, also while the server is gone.
    expect(result.stdout.split('\n').filter((l) => l !== '' && !/^(stats|logged|close) /.test(l))).toEqual([])
    expect(result.stderr).toBe('')
    // The documented bound: no duplicate. Records sent again after the outage carry the identities of
    // their first attempt and the restart keeps the stream's duplicate window (2 min) state.
    expectOnceEach(await nats.readAll('LOGS'), 20_000)
  })

  it('with a disk spool: records logged while the server is down survive the app exiting, and the next run delivers them once each', async () => {
    const nats = await server()
    const dir = await tempDir()
    await nats.stop()
    const sender = { spool: { dir, fsync: 'always' }, retry: { baseDelayMs: 20, maxDelayMs: 100 } }
    const first = await runNode(APP, [nats.url, 'exit:3000', JSON.stringify(sender), JSON.stringify({ closeTimeoutMs: 1500 })], { timeoutMs: 60_000 })
    expect(first.code, first.stderr).toBe(0)
    await nats.restart()
    expect(await nats.messageCount('LOGS')).toBe(0)
    const second = app(nats, 'end:0', sender)
    const result = await second.result
    expect(result.code, result.stderr).toBe(0)
    const report = closeReport(result.stdout)
    expect(report.stats).toMatchObject({ recovered: 3000, delivered: 3000, failed: 0 })
    expectOnceEach(await nats.readAll('LOGS'), 3000)
  })

  it('process.exit() right after a burst: every record is stored once', async () => {
    const nats = await server()
    const result = await runNode(APP, [nats.url, 'exit:10000'], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(0)
    expectOnceEach(await nats.readAll('LOGS'), 10_000)
  })
})

