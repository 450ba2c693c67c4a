/**
 * Fault scenarios of the disk spool, through the real transport (a pino worker, in this process or in
 * a child process) against real local HTTP servers and real files. Each asserts the ledger:
 * received + recovered = delivered + failed + dropped + spooled, and what the sink got, once each.
 */
import { spawn } from 'node:child_process'
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport } from '../../src/input/courier.js'
import { totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import { decodeFrame, readFrameInfo } from '../../src/spool/spool-frame.js'
import {
  endIfOpen,
  endTransport,
  fixture,
  flushLogger,
  nextEvent,
  readNdjson,
  receivedOnce,
  summarizeSequence,
  transportReady,
} from '../fixtures/integration.js'
import { PROJECT_ROOT, runNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const SPOOL_APP = fixture('spool-app.mjs')
const { sink, tempDir, defer } = useCleanups()

/** A port nothing listens on (yet): connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function expectLedger(stats: SenderStats): void {
  const accounted = stats.queued + stats.spooled + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats)
  expect(accounted, JSON.stringify(stats)).toBe(stats.received + stats.recovered)
}

/** The `i` of every record in the spool's files that no ack file marks as done (what a restart sends). */
function spooledIds(dir: string): number[] {
  const ids: number[] = []
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('.seg')).sort()
  for (const file of files) {
    const data = readFileSync(join(dir, file))
    let acked = new Set<number>()
    try {
      const ack = readFileSync(join(dir, file.replace(/\.seg$/, '.ack')))
      acked = new Set(Array.from({ length: Math.floor(ack.length / 4) }, (_, k) => ack.readUInt32LE(k * 4)))
    } catch {
      // No ack file: nothing in this segment was done.
    }
    for (let offset = 0; offset < data.length; ) {
      const info = readFrameInfo(data, offset)
      if (!info) break
      if (!acked.has(offset)) {
        for (const line of decodeFrame(data.subarray(offset, offset + info.size)).lines) ids.push((JSON.parse(line) as { i: number }).i)
      }
      offset += info.size
    }
  }
  return ids
}

/** Starts the transport in this process with one http sender named "http" and a spool. */
function startCourier(url: string, dir: string, more: Record<string, unknown> = {}, sender: Record<string, unknown> = {}) {
  const transport = pino.transport({
    target: 'pino-courier',
    options: { senders: [{ type: 'http', name: 'http', url, spool: { dir, fsync: 'never' }, ...sender }], stderr: false, ...more },
  })
  defer(() => endIfOpen(transport))
  return { transport, logger: pino(transport) }
}

/** Ends the transport and returns the http sender's close report. */
async function closeCourier(transport: ReturnType<typeof pino.transport>): Promise<CourierCloseReport> {
  const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
  await endTransport(transport)
  return closed
}

/** Spawns the spool app; kills it with SIGKILL once `until(stats)` holds for a printed stats line. */
function runUntilKilled(url: string, dir: string, until: (stats: SenderStats) => boolean, extra: object = {}) {
  return new Promise<{ last: SenderStats | undefined; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [SPOOL_APP, url, dir, 'forever', JSON.stringify(extra)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let last: SenderStats | undefined
    let buffered = ''
    let stderr = ''
    const guard = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (!line.startsWith('stats ')) continue
        last = JSON.parse(line.slice(6)) as SenderStats
        if (until(last)) child.kill('SIGKILL')
      }
    })
    child.on('error', reject)
    child.on('close', (_code, signal) => {
      clearTimeout(guard)
      resolve({ last, signal, stderr })
    })
  })
}

describe('spool: the sink refuses connections for 10 s, then recovers', () => {
  it('records beyond the memory queue wait on disk; every record is delivered once, none dropped', async () => {
    const dir = await tempDir()
    const port = await refusingPort()
    const { transport, logger } = startCourier(`http://127.0.0.1:${port}/logs`, dir, { statsIntervalMs: 100 }, {
      queue: { maxRecords: 2000 },
      retry: { baseDelayMs: 100, maxDelayMs: 500 },
    })
    await transportReady(transport)
    let peakSpooled = 0
    let peakOffQueue = 0
    transport.on('courier:stats', (stats: { senders: SenderStats[] }) => {
      const http = stats.senders[0]
      if (!http) return
      peakSpooled = Math.max(peakSpooled, http.spooled)
      // Records past the memory queue: on disk, or in batches in retry that are stored on disk too.
      peakOffQueue = Math.max(peakOffQueue, http.spooled + http.inFlight)
    })
    const n = 20_000
    for (let i = 0; i < n; i++) logger.info({ i }, 'record')

    await new Promise((resolve) => setTimeout(resolve, 10_000))
    const http = await sink(undefined, { port })
    await http.waitFor(() => http.records().length >= n, 30_000)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats

    // A queue of 2,000 without a spool would have dropped most of them.
    expect(peakSpooled).toBeGreaterThan(0)
    expect(peakOffQueue).toBeGreaterThanOrEqual(n - 2000)
    expect(summarizeSequence(http.records(), n)).toMatchObject(receivedOnce(n))
    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0, spooled: 0 })
    expect(totalDropped(stats)).toBe(0)
    expect(stats.retried).toBeGreaterThan(0)
    expectLedger(stats)
  })
})

describe('spool: exit while the sink is down, then a restart', () => {
  it('process.exit() with the sink refusing leaves every record in the spool; the next start delivers them all', async () => {
    const dir = await tempDir()
    const port = await refusingPort()
    const n = 5000
    const run = await runNode(SPOOL_APP, [`http://127.0.0.1:${port}/logs`, dir, String(n), '{}'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(new RegExp(`^pino-courier: closed; 0 of ${n} records could not be delivered, ${n} left in the spool for the next start`, 'm'))
    expect(spooledIds(dir).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))

    const http = await sink()
    const { transport } = startCourier(http.url, dir)
    await http.waitFor(() => http.records().length >= n, 30_000)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats
    expect(summarizeSequence(http.records(), n)).toMatchObject(receivedOnce(n))
    expect(stats).toMatchObject({ received: 0, recovered: n, delivered: n, spooled: 0 })
    expectLedger(stats)
    // Delivered and gone: nothing is sent a third time.
    expect(spooledIds(dir)).toEqual([])
  })
})

describe('spool: two processes pointed at the same spool directory', () => {
  it('neither corrupts the other: both leave their records, and one restart delivers all of them', async () => {
    const dir = await tempDir()
    const port = await refusingPort()
    const n = 4000
    const url = `http://127.0.0.1:${port}/logs`
    const runs = await Promise.all([runNode(SPOOL_APP, [url, dir, String(n), '{}']), runNode(SPOOL_APP, [url, dir, String(n), '{}'])])
    for (const run of runs) expect(run.code, run.stderr).toBe(0)
    // Each process wrote its own directory. One that started after the other had closed took the
    // released directory over (nested in its own), which is fine too: either way both runs are there.
    expect(spooledIds(dir)).toHaveLength(2 * n)

    const http = await sink()
    const { transport } = startCourier(http.url, dir)
    await http.waitFor(() => http.records().length >= 2 * n, 30_000)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats
    const times = new Map<number, number>()
    for (const r of http.records()) times.set(r.i as number, (times.get(r.i as number) ?? 0) + 1)
    // Both apps logged i = 0..n-1: every i arrives exactly twice, once from each.
    expect(times.size).toBe(n)
    expect([...times.values()].every((t) => t === 2)).toBe(true)
    expect(stats).toMatchObject({ recovered: 2 * n, delivered: 2 * n, spooled: 0 })
    expect(stats.spool?.corruptBytes).toBe(0)
    expectLedger(stats)
  })
})

describe('spool: kill -9 mid-burst with fsync always', () => {
  it('a restart delivers every record that had been spooled, once each, with the batch ids they were spooled with', async () => {
    const dir = await tempDir()
    const port = await refusingPort()
    // The app logs without pause into a dead sink; a small queue makes it spool most of it.
    const killed = await runUntilKilled(`http://127.0.0.1:${port}/logs`, dir, (s) => s.spooled >= 20_000, {
      sender: { queue: { maxRecords: 1000 }, spool: { dir, fsync: 'always' } },
    })
    expect(killed.signal).toBe('SIGKILL')
    expect(killed.last?.spooled).toBeGreaterThanOrEqual(20_000)
    const onDisk = spooledIds(dir)
    expect(new Set(onDisk).size).toBe(onDisk.length)
    // Everything the last stats line called spooled is there (more may have been written after it).
    expect(onDisk.length).toBeGreaterThanOrEqual(killed.last?.spooled ?? Infinity)

    const http = await sink()
    const { transport } = startCourier(http.url, dir)
    await http.waitFor(() => http.records().length >= onDisk.length, 30_000)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats
    const got = http.records().map((r) => r.i as number)
    expect(new Set(got).size).toBe(got.length)
    expect(got.sort((a, b) => a - b)).toEqual([...onDisk].sort((a, b) => a - b))
    expect(stats).toMatchObject({ recovered: onDisk.length, delivered: onDisk.length, spooled: 0 })
    expect(stats.spool?.corruptBytes).toBe(0)
    expectLedger(stats)
    // One idempotency key per request: the spool kept every batch's id, and no batch went twice.
    const keys = http.requests.map((r) => r.headers['idempotency-key'])
    expect(new Set(keys).size).toBe(keys.length)
  })
})

describe('spool: a corrupt spool file at start-up', () => {
  it('skips and counts the damaged bytes, delivers every intact batch, and does not crash', async () => {
    const dir = await tempDir()
    const port = await refusingPort()
    const n = 3000
    // One request at a time: the first batch fails and is stored in front, the other five are spooled
    // behind it in one segment.
    const options = { batch: { maxRecords: 500 }, pool: { concurrency: 1 } }
    const run = await runNode(SPOOL_APP, [`http://127.0.0.1:${port}/logs`, dir, String(n), JSON.stringify(options)])
    expect(run.code, run.stderr).toBe(0)
    const before = spooledIds(dir)
    expect(before).toHaveLength(n)

    // Damage one frame in the middle of a segment, and leave a torn frame at its end.
    const files = (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('.seg')).sort()
    const path = join(dir, files[files.length - 1] as string)
    const data = readFileSync(path)
    const first = readFrameInfo(data, 0)
    expect(first).toBeDefined()
    const second = readFrameInfo(data, first?.size ?? 0)
    expect(second).toBeDefined()
    data[(second?.offset ?? 0) + 100] = (data[(second?.offset ?? 0) + 100] as number) ^ 0xff
    writeFileSync(path, data)
    appendFileSync(path, data.subarray(0, 40))

    const http = await sink()
    const { transport } = startCourier(http.url, dir)
    const expected = n - (second?.count ?? 0)
    await http.waitFor(() => http.records().length >= expected, 30_000)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats
    expect(http.records()).toHaveLength(expected)
    expect(stats).toMatchObject({ recovered: expected, delivered: expected, spooled: 0 })
    expect(stats.spool).toMatchObject({ corruptRegions: 2, corruptBytes: (second?.size ?? 0) + 40 })
    expectLedger(stats)
  })
})

describe('dead letters through the transport: the sink answers 400 to some batches', () => {
  it('writes the refused batches to the dead-letter file, delivers the rest, and counts both', async () => {
    const dir = await tempDir()
    const dlq = join(dir, 'dead-letters.ndjson')
    const http = await sink((request) => (request.body.includes('"poison":true') ? { status: 400, body: 'bad record' } : undefined))
    const transport = pino.transport({
      target: 'pino-courier',
      options: {
        senders: [{ type: 'http', name: 'http', url: http.url, deadLetter: { path: dlq }, batch: { maxRecords: 10 }, pool: { concurrency: 1 } }],
        stderr: false,
      },
    })
    const logger = pino(transport)
    const n = 1000
    for (let i = 0; i < n; i++) logger.info(i % 100 === 5 ? { i, poison: true } : { i }, 'record')
    // transport.end() blocks this thread, where the sink runs: let everything settle first.
    await flushLogger(logger)
    const report = await closeCourier(transport)
    const stats = report.senders[0]?.stats as SenderStats

    const dead = await readNdjson(dlq)
    // Batches of 10: each poisoned record takes its batch of 10 to the dead-letter file.
    expect(dead).toHaveLength(100)
    expect(dead.filter((r) => r.poison === true)).toHaveLength(10)
    expect(http.records()).toHaveLength(n - 100)
    const all = [...http.records(), ...dead].map((r) => r.i as number).sort((a, b) => a - b)
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i))
    expect(stats).toMatchObject({ received: n, delivered: 900, failed: 100, deadLettered: 100, retried: 0 })
    expect(stats.recentFailures.every((f) => f.reason === 'permanent' && f.status === 400 && f.attempts === 1)).toBe(true)
    expectLedger(stats)
    expect(report.undelivered).toBe(100)
  })
})
