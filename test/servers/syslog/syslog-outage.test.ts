/**
 * The syslog sender through the real transport when rsyslog goes away: stopped mid-burst and
 * restarted on the same port (TCP and UDP); down while an app with a disk spool exits, then back for its next
 * run; process.exit() right after a burst; a TLS receiver whose certificate the app does not trust.
 *
 * Syslog has no acknowledgement. Over TCP a record counts delivered once the kernel took its bytes;
 * what rsyslog had not read when it stopped is lost although counted delivered. What these tests
 * assert is what the sender can promise: the ledger adds up with nothing failed or dropped, a record
 * whose write failed is sent again, the loss is one run of records at the moment rsyslog stopped and
 * nothing after it, and duplicates stay within one batch.
 */
import { copyFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, waitUntil } from '../../fixtures/integration.js'
import { startNode, type ChildResult } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { freeTcpAndUdpPort } from '../helpers/free-port.js'
import { makeCertificates, Rsyslog, type RsyslogOptions } from './rsyslog.js'

const { defer, tempDir } = useCleanups()

const APP = fixture('syslog-app.mjs')
const RETRY = { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 100_000, maxRetryTimeMs: 600_000 }

interface Stats {
  received: number
  recovered: number
  delivered: number
  failed: number
  retried: number
  spooled: number
  dropped: Record<string, number>
  recentFailures: { error: string }[]
}
interface Report {
  undelivered: number
  senders: { stats: Stats }[]
}

async function rsyslog(dir: string, options: RsyslogOptions = {}): Promise<Rsyslog> {
  const started = await Rsyslog.start(dir, options)
  defer(() => started.stop())
  return started
}

function start(url: string, count: number, mode: string, extra: object = {}) {
  const child = startNode(APP, [url, String(count), mode, JSON.stringify(extra)], { timeoutMs: 180_000 })
  defer(() => child.running && child.signal('SIGKILL'))
  return child
}

function printed(result: ChildResult, kind: string): unknown[] {
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith(`${kind} `))
    .map((line) => JSON.parse(line.slice(kind.length + 1)) as unknown)
}

async function finished(child: ReturnType<typeof start>): Promise<ChildResult> {
  const result = await child.result
  if (result.code !== 0) throw new Error(`app exited with ${result.code ?? result.signal}\n${result.stderr}`)
  return result
}

const reportOf = (result: ChildResult): Report => printed(result, 'report')[0] as Report

function idCounts(lines: readonly string[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const line of lines) {
    const match = /"i":(\d+)/.exec(line)
    if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1)
  }
  return counts
}

/**
 * The records rsyslog never wrote (`missing`, ascending) are one run of consecutive ids, starting past
 * what it had written when it stopped (`beforeStop`): what sat unread in its socket when it went
 * away. The sender went on after the run (everything logged after it is in `missing` only if lost).
 */
function expectOneRunAtTheStop(missing: readonly number[], beforeStop: ReadonlyMap<number, number>): void {
  if (missing.length === 0) return
  expect((missing.at(-1) as number) - (missing[0] as number) + 1, `lost ids ${missing.join(',')}`).toBe(missing.length)
  let firstAbsent = 0
  while (beforeStop.has(firstAbsent)) firstAbsent++
  expect(missing[0]).toBeGreaterThanOrEqual(firstAbsent)
}

function totalDropped(stats: Stats): number {
  return Object.values(stats.dropped).reduce((a, b) => a + b, 0)
}

describe('rsyslog stopped mid-burst and restarted on the same port (TCP)', () => {
  it('the ledger adds up with nothing failed; the loss is one run at the stop (counted delivered: no acks), nothing after it; duplicates within one batch', async () => {
    const dir = await tempDir()
    const n = 10_000
    const batchRecords = 200
    let server = await rsyslog(dir)
    const child = start(`tcp://127.0.0.1:${server.port}`, n, 'paced', {
      sender: { batch: { maxRecords: batchRecords, maxWaitMs: 50 }, retry: RETRY },
    })
    await waitUntil(async () => (await server.raw()).length >= 2000, '2,000 records in rsyslog')
    await server.stop()
    const beforeStop = idCounts(await server.raw())
    // The app learns of the outage (a lost connection, then refusals) and retries meanwhile.
    await child.waitForLine(/^stats .*"retried":[1-9]/, 60_000)
    server = await rsyslog(dir, { port: server.port })
    const result = await finished(child)

    const stats = reportOf(result).senders[0]?.stats as Stats
    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(totalDropped(stats)).toBe(0)
    expect(stats.retried).toBeGreaterThan(0)

    let counts = new Map<number, number>()
    await waitUntil(
      async () => {
        counts = idCounts(await server.raw())
        return counts.has(n - 1)
      },
      'the last record in rsyslog',
      60_000,
    )
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i))
    const duplicated = [...counts].filter(([, times]) => times > 1).map(([i]) => i)
    console.log(
      `syslog tcp outage: ${beforeStop.size} in rsyslog when stopped, ${missing.length} lost (ids ${missing[0]}..${missing.at(-1)}), ` +
        `${duplicated.length} duplicated, ${stats.retried} record re-sends`,
    )
    expectOneRunAtTheStop(missing, beforeStop)
    // Duplicates: what rsyslog had read of the batch whose write failed, sent again whole.
    expect(duplicated.length).toBeLessThanOrEqual(batchRecords)
  })
})

describe('rsyslog stopped mid-burst and restarted on the same port (UDP)', () => {
  it('records sent while the port refuses (ICMP → ECONNREFUSED) are retried, not counted delivered; the ledger adds up', async () => {
    const dir = await tempDir()
    const n = 10_000
    let server = await rsyslog(dir)
    const child = start(`udp://127.0.0.1:${server.port}`, n, 'paced', {
      sender: { batch: { maxRecords: 200, maxWaitMs: 50 }, retry: RETRY },
    })
    await waitUntil(async () => (await server.raw()).length >= 2000, '2,000 records in rsyslog')
    await server.stop()
    const beforeStop = idCounts(await server.raw())
    await child.waitForLine(/^stats .*"retried":[1-9]/, 60_000)
    server = await rsyslog(dir, { port: server.port })
    const result = await finished(child)
    const stats = reportOf(result).senders[0]?.stats as Stats
    expect(stats).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(totalDropped(stats)).toBe(0)
    expect(stats.retried).toBeGreaterThan(0)
    let counts = new Map<number, number>()
    await waitUntil(
      async () => {
        counts = idCounts(await server.raw())
        return counts.has(n - 1)
      },
      'the last record in rsyslog',
      60_000,
    )
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i))
    const duplicated = [...counts].filter(([, times]) => times > 1).length
    expectOneRunAtTheStop(missing, beforeStop)
    console.log(`syslog udp outage: ${missing.length} lost (ids ${missing.slice(0, 5).join(',')}${missing.length > 5 ? ',…' : ''}), ${duplicated} duplicated, ${stats.retried} record re-sends`)
  })
})

describe('a disk spool across a process restart (TCP)', () => {
  it('an app exiting while rsyslog is down leaves its records in the spool; the next run, rsyslog back, delivers them once each', async () => {
    const dir = await tempDir()
    const spoolDir = await tempDir()
    const port = await freeTcpAndUdpPort()
    const url = `tcp://127.0.0.1:${port}`
    const n = 3000
    const sender = { spool: { dir: spoolDir }, retry: RETRY, closeTimeoutMs: 1000 }
    const first = await finished(start(url, n, 'exit', { sender }))
    expect(first.code).toBe(0)
    expect((await readdir(spoolDir, { recursive: true })).length).toBeGreaterThan(0)

    const server = await rsyslog(dir, { port })
    const second = await finished(start(url, 100, 'end', { sender, from: n }))
    const stats = reportOf(second).senders[0]?.stats as Stats
    expect(stats).toMatchObject({ received: 100, recovered: n, delivered: n + 100, failed: 0, spooled: 0 })
    let counts = new Map<number, number>()
    await waitUntil(
      async () => {
        counts = idCounts(await server.raw())
        return counts.size >= n + 100
      },
      `${n + 100} records in rsyslog`,
      60_000,
    )
    expect(counts.size).toBe(n + 100)
    expect([...counts.values()].every((times) => times === 1)).toBe(true)
  })
})

describe('process.exit() right after a burst', () => {
  it('delivers every record once (TCP)', async () => {
    const server = await rsyslog(await tempDir())
    const n = 10_000
    await finished(start(`tcp://127.0.0.1:${server.port}`, n, 'exit'))
    let counts = new Map<number, number>()
    await waitUntil(
      async () => {
        counts = idCounts(await server.raw())
        return counts.size >= n
      },
      `${n} records in rsyslog`,
      60_000,
    )
    expect(counts.size).toBe(n)
    expect([...counts.values()].every((times) => times === 1)).toBe(true)
  })
})

describe('TLS with a certificate the app does not trust', () => {
  it('is retried (a renewed certificate can fix it) and then fails, naming the TLS error; nothing reaches rsyslog', async () => {
    const dir = await tempDir()
    const certs = makeCertificates(dir, 'real')
    const other = makeCertificates(dir, 'other')
    const server = await rsyslog(dir, { tls: certs })
    const result = await finished(
      start(`tls://localhost:${server.port}`, 10, 'end', { sender: { tls: { caFile: other.caFile }, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } } }),
    )
    const stats = reportOf(result).senders[0]?.stats as Stats
    expect(stats).toMatchObject({ received: 10, delivered: 0, failed: 10 })
    expect(stats.recentFailures[0]?.error).toMatch(new RegExp(`syslog: cannot connect to tls://localhost:${server.port}: .*(certificate|UNABLE_TO_VERIFY)`, 'i'))
    const warnings = printed(result, 'warning') as { kind: string; error?: string }[]
    expect(warnings.some((w) => w.kind === 'retrying' && /certificate|UNABLE_TO_VERIFY/i.test(w.error ?? ''))).toBe(true)
    expect(await server.raw()).toEqual([])
  })

  it('picks up a CA file fixed while the app runs (read on every new connection), and then delivers', async () => {
    const dir = await tempDir()
    const certs = makeCertificates(dir, 'real')
    const other = makeCertificates(dir, 'other')
    const caFile = join(dir, 'trusted.pem')
    await copyFile(other.caFile, caFile)
    const server = await rsyslog(dir, { tls: certs })
    const child = start(`tls://localhost:${server.port}`, 10, 'end', { sender: { tls: { caFile }, retry: RETRY } })
    await child.waitForLine(/^warning .*"kind":"retrying"/, 60_000)
    await copyFile(certs.caFile, caFile)
    const stats = reportOf(await finished(child)).senders[0]?.stats as Stats
    expect(stats).toMatchObject({ received: 10, delivered: 10, failed: 0 })
    expect(stats.retried).toBeGreaterThan(0)
    await waitUntil(async () => idCounts(await server.raw()).size === 10, '10 records in rsyslog')
  })
})
