/**
 * The syslog sender through the real transport (a child app logging with pino.transport, the built
 * dist/ in pino's worker) against a private rsyslogd: 20,000 records over UDP, TCP (both framings)
 * and TLS (a certificate made at test time) read back from rsyslog's file by id; what rsyslog's
 * parser read of our headers (RFC 5424 and 3164); truncation against rsyslog's own splitting.
 */
import { describe, expect, it } from 'vitest'
import { fixture, waitUntil } from '../../fixtures/integration.js'
import { startNode, type ChildResult } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { makeCertificates, Rsyslog, type RsyslogOptions } from './rsyslog.js'

const { defer, tempDir } = useCleanups()

const APP = fixture('syslog-app.mjs')
/** Fast retries, and enough of them to ride out an outage however long a loaded machine takes. */
const RETRY = { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 100_000, maxRetryTimeMs: 600_000 }

async function rsyslog(options: RsyslogOptions = {}, dir?: string): Promise<Rsyslog> {
  const started = await Rsyslog.start(dir ?? (await tempDir()), options)
  defer(() => started.stop())
  return started
}

interface AppRun {
  result: ChildResult
  /** The app's pid (the PROCID of its messages). */
  pid: number
  /** The `<kind> <json>` lines the app printed, by kind. */
  printed(kind: string): unknown[]
}

function parsePrinted(stdout: string, kind: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`${kind} `))
    .map((line) => JSON.parse(line.slice(kind.length + 1)) as unknown)
}

/** Runs the app to its end (see test/fixtures/syslog-app.mjs). */
async function runApp(url: string, count: number, mode: string, extra: object = {}, timeoutMs = 120_000): Promise<AppRun> {
  const child = startNode(APP, [url, String(count), mode, JSON.stringify(extra)], { timeoutMs })
  defer(() => child.running && child.signal('SIGKILL'))
  const result = await child.result
  if (result.code !== 0) throw new Error(`app exited with ${result.code ?? result.signal}\n${result.stderr}`)
  return { result, pid: child.process.pid as number, printed: (kind) => parsePrinted(result.stdout, kind) }
}

interface Report {
  senders: { stats: { received: number; delivered: number; failed: number; retried: number; dropped: Record<string, number> } }[]
}

/** How often each id 0..n-1 appears in rsyslog's records (JSON lines carrying `"i":<id>`). */
function idCounts(lines: readonly string[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const line of lines) {
    const match = /"i":(\d+)/.exec(line)
    if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1)
  }
  return counts
}

/** Waits until rsyslog has written `n` records, then checks every id 0..n-1 is there exactly once. */
async function expectEachOnce(server: Rsyslog, n: number): Promise<void> {
  let lines: string[] = []
  await waitUntil(
    async () => {
      lines = await server.raw()
      return lines.length >= n
    },
    `${n} records in rsyslog's file`,
    60_000,
  )
  const counts = idCounts(lines)
  expect(lines.length).toBe(n)
  expect(counts.size).toBe(n)
  expect([...counts.values()].every((c) => c === 1)).toBe(true)
  expect(Math.max(...counts.keys())).toBe(n - 1)
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000)} records/s`
}

describe('20,000 records through the transport, read back from rsyslog by id', () => {
  const N = 20_000

  it('over TCP, octet counting (the default)', async () => {
    const server = await rsyslog()
    const run = await runApp(`tcp://127.0.0.1:${server.port}`, N, 'end', { sender: { retry: RETRY } })
    const report = run.printed('report')[0] as Report
    expect(report.senders[0]?.stats).toMatchObject({ received: N, delivered: N, failed: 0 })
    await expectEachOnce(server, N)
    console.log(`syslog tcp octet-counting: ${N} in ${run.result.durationMs} ms, app start included (${rate(N, run.result.durationMs)})`)
  })

  it('over TCP, LF framing', async () => {
    const server = await rsyslog()
    const run = await runApp(`tcp://127.0.0.1:${server.port}`, N, 'end', { sender: { framing: 'lf', retry: RETRY } })
    expect((run.printed('report')[0] as Report).senders[0]?.stats).toMatchObject({ received: N, delivered: N, failed: 0 })
    await expectEachOnce(server, N)
  })

  it('over TLS (octet counting), the CA and server certificate made with openssl for this test', async () => {
    const dir = await tempDir()
    const certs = makeCertificates(dir)
    const server = await rsyslog({ tls: certs })
    const run = await runApp(`tls://localhost:${server.port}`, N, 'end', { sender: { tls: { caFile: certs.caFile }, retry: RETRY } })
    expect((run.printed('report')[0] as Report).senders[0]?.stats).toMatchObject({ received: N, delivered: N, failed: 0 })
    await expectEachOnce(server, N)
    console.log(`syslog tls: ${N} in ${run.result.durationMs} ms, app start included (${rate(N, run.result.durationMs)})`)
  })

  it('over UDP (loopback, rsyslog with a large receive buffer: nothing is lost here, which UDP does not promise elsewhere)', async () => {
    const server = await rsyslog()
    const run = await runApp(`udp://127.0.0.1:${server.port}`, N, 'end', { sender: { retry: RETRY } })
    expect((run.printed('report')[0] as Report).senders[0]?.stats).toMatchObject({ received: N, delivered: N, failed: 0 })
    await expectEachOnce(server, N)
  })
})

describe('what rsyslog parsed of our messages', () => {
  const fields = ['pri', 'app', 'host', 'procid', 'msgid', 'time', 'sd', 'msg'] as const
  const byName = (row: string[]): Record<(typeof fields)[number], string> =>
    Object.fromEntries(fields.map((name, k) => [name, row[k] ?? ''])) as Record<(typeof fields)[number], string>

  it('RFC 5424 over TCP: PRI from facility and level, APP-NAME, HOSTNAME, the app pid, MSGID, the record time, structured data, MSG the JSON line', async () => {
    const server = await rsyslog()
    const run = await runApp(`tcp://127.0.0.1:${server.port}`, 50, 'end', {
      sender: { appName: 'orders', hostname: 'web-1', msgId: 'audit', facility: 'local3', structuredData: { id: 'pino@32473', keys: { rec: 'i' } } },
    })
    await waitUntil(async () => (await server.parsed()).length === 50, '50 records')
    const pid = String(run.pid)
    const rows = (await server.parsed()).map(byName)
    expect(rows).toHaveLength(50)
    const raw = await server.raw()
    for (const [k, row] of rows.entries()) {
      const line = raw[k] as string
      const json = line.slice(line.indexOf('{"level"'))
      const record = JSON.parse(json) as { i: number; time: number }
      // local3 (19) * 8 + info (6)
      expect(row).toMatchObject({ pri: '158', app: 'orders', host: 'web-1', procid: pid, msgid: 'audit' })
      expect(Date.parse(row.time)).toBe(record.time)
      expect(row.sd).toBe(`[pino@32473 rec="${record.i}"]`)
      expect(row.msg).toBe(json)
    }
  })

  it('RFC 3164 over UDP: PRI, TAG and pid, HOSTNAME, the record time to the second, MSG the JSON line', async () => {
    const server = await rsyslog()
    await runApp(`udp://127.0.0.1:${server.port}`, 20, 'end', { sender: { format: 'rfc3164', appName: 'legacy', hostname: 'box', facility: 'daemon' } })
    await waitUntil(async () => (await server.raw()).length === 20, '20 records')
    const rows = (await server.parsed()).map(byName)
    const raw = await server.raw()
    for (const [k, row] of rows.entries()) {
      const line = raw[k] as string
      const json = line.slice(line.indexOf('{"level"'))
      const record = JSON.parse(json) as { time: number }
      // daemon (3) * 8 + info (6)
      expect(row).toMatchObject({ pri: '30', app: 'legacy', host: 'box' })
      expect(line).toMatch(/^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d box legacy\[\d+\]: \{/)
      expect(row.procid).toMatch(/^\d+$/)
      // RFC 3164 has seconds, no year and no zone: the app and rsyslog share the local time zone.
      expect(Math.abs(Date.parse(row.time) - Math.floor(record.time / 1000) * 1000)).toBe(0)
      // rsyslog keeps the space after `TAG[pid]:` in an RFC 3164 MSG.
      expect(row.msg.trim()).toBe(json)
    }
  })
})

describe('maxMessageBytes against rsyslog’s default maxMessageSize (8096 bytes)', () => {
  it('our default (8096 over TCP) arrives as one record, cut and counted; a larger limit lets rsyslog split it into several', async () => {
    const server = await rsyslog({ maxMessageSize: null })
    const url = `tcp://127.0.0.1:${server.port}`
    // Three records of ~20 KB each.
    const cut = await runApp(url, 3, 'end', { pad: 20_000 })
    await waitUntil(async () => (await server.raw()).length >= 3, '3 records')
    const raw = await server.raw()
    expect(raw).toHaveLength(3)
    expect(raw.map((line) => Buffer.byteLength(line))).toEqual([8096, 8096, 8096])
    expect((cut.printed('report')[0] as Report).senders[0]?.stats).toMatchObject({ delivered: 3, failed: 0, truncated: 3 })

    // Raised past rsyslog's limit (even to 8 KiB): rsyslog cuts the message into several records.
    const server2 = await rsyslog({ maxMessageSize: null })
    const whole = await runApp(`tcp://127.0.0.1:${server2.port}`, 1, 'end', { pad: 20_000, sender: { maxMessageBytes: 8192 } })
    expect((whole.printed('report')[0] as Report).senders[0]?.stats).toMatchObject({ delivered: 1, truncated: 1 })
    await waitUntil(async () => (await server2.raw()).length >= 2, 'rsyslog to split the message')
    expect((await server2.raw()).length).toBeGreaterThan(1)
  })
})
