/**
 * The redis sender against a real redis-server, through the real transport (pino.transport in a
 * worker thread, in this process or in a child app): what it wrote is read back from the server and
 * checked record by record (`i`), and the transport's own close report is held against it.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { CourierCloseReport, CourierWarning, TransportOptions } from '../../../src/index.js'
import type { SenderStats } from '../../../src/stats/delivery-stats.js'
import { endTransport, fixture, flushLogger, nextEvent, waitUntil } from '../../fixtures/integration.js'
import { runCommand, runNode } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { freePort } from '../helpers/free-port.js'
import { missingAndDuplicates, RedisServer, type RedisServerOptions } from './redis-server.js'

const REDIS_APP = fixture('redis-app.mjs')
const { defer, tempDir } = useCleanups()
const servers = new Set<RedisServer>()

afterEach(async () => {
  for (const server of servers) await server.kill()
  servers.clear()
})

async function redis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options)
  servers.add(server)
  return server
}

/** How long a condition is waited for: generous for a loaded machine (polled, so no slower when all is well), within the 120 s a test has. */
const WAIT = 90_000

/** Fast retries, enough of them for any outage a test makes. */
const RETRY = { baseDelayMs: 20, maxDelayMs: 300, maxAttempts: 10_000, maxRetryTimeMs: 120_000 }

interface Running {
  logger: pino.Logger
  warnings: CourierWarning[]
  /** Flushes (unless told not to), ends the transport and resolves with its close report. */
  finish(options?: { flush?: boolean }): Promise<CourierCloseReport>
}

/** The transport in this process (its worker thread) with one redis sender named "redis". */
function transport(sender: Record<string, unknown>): Running {
  const stream = pino.transport<TransportOptions>({
    target: 'pino-courier',
    options: { senders: [{ type: 'redis', name: 'redis', retry: RETRY, ...sender } as never], stderr: false },
  })
  const closed = nextEvent<CourierCloseReport>(stream, 'courier:close', 120_000)
  closed.catch(() => undefined)
  // The worker up: ending the stream before it is makes thread-stream wait for it synchronously,
  // at most 10 s, which a worker starting on a loaded machine can take.
  const ready = nextEvent(stream, 'ready', 120_000)
  ready.catch(() => undefined)
  const warnings: CourierWarning[] = []
  stream.on('courier:warning', (warning: CourierWarning) => warnings.push(warning))
  const logger = pino(stream)
  let finished: Promise<CourierCloseReport> | undefined
  const finish = ({ flush = true } = {}): Promise<CourierCloseReport> =>
    (finished ??= (async () => {
      if (flush) await flushLogger(logger)
      else await ready
      await endTransport(stream, 120_000)
      return closed
    })())
  defer(() => finish().catch(() => undefined))
  return { logger, warnings, finish }
}

function statsOf(report: CourierCloseReport): SenderStats {
  return report.senders[0]?.stats as SenderStats
}

/** The `i` of every entry of a stream (its `line` field), in stream order. */
async function streamIds(server: RedisServer, key: string, field = 'line'): Promise<number[]> {
  return (await server.xrange(key)).map((entry) => (JSON.parse(entry[field] as string) as { i: number }).i)
}

async function listIds(server: RedisServer, key: string): Promise<number[]> {
  return (await server.client().lrange(key, 0, -1)).map((line) => (JSON.parse(line) as { i: number }).i)
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, k) => from + k)

function log(logger: pino.Logger, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) logger.info({ i }, 'record')
}

describe('the redis sender against redis-server', () => {
  it('stream: 20,000 records arrive once each, in order, each with its line and its own record id', async () => {
    const server = await redis()
    const n = 20_000
    const run = transport({ url: server.url, key: 'logs' })
    const started = Date.now()
    log(run.logger, n)
    const report = await run.finish()
    const ms = Date.now() - started
    console.log(`redis stream: ${n} records through the transport in ${ms} ms, the worker's start included (not asserted)`)

    expect(statsOf(report)).toMatchObject({ received: n, delivered: n, failed: 0, retried: 0, queued: 0, inFlight: 0 })
    const entries = await server.xrange('logs')
    expect(entries).toHaveLength(n)
    // One batch in flight (the default): the stream holds them in the order they were logged.
    expect(entries.map((e) => (JSON.parse(e.line as string) as { i: number }).i)).toEqual(range(n))
    expect(JSON.parse(entries[0]?.line as string)).toMatchObject({ level: 30, i: 0, msg: 'record' })
    expect(new Set(entries.map((e) => e.id)).size).toBe(n)
    expect(Object.keys(entries[0] ?? {})).toEqual(['line', 'id'])
  })

  it('list: 20,000 records RPUSHed once each, in order, the JSON line as the element (LRANGE)', async () => {
    const server = await redis()
    const n = 20_000
    const run = transport({ url: server.url, key: 'logstash', mode: 'list' })
    log(run.logger, n)
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(await server.client().type('logstash')).toBe('list')
    expect(await listIds(server, 'logstash')).toEqual(range(n))
  })

  it('maxLen: the stream is trimmed to about maxLen (MAXLEN ~), the newest entries kept', async () => {
    const server = await redis()
    const n = 20_000
    const maxLen = 1000
    const run = transport({ url: server.url, key: 'capped', maxLen })
    log(run.logger, n)
    expect(statsOf(await run.finish())).toMatchObject({ delivered: n })
    const length = await server.client().xlen('capped')
    // Approximate trimming removes whole listpack nodes (stream-node-max-entries, 100 by default):
    // never below maxLen, at most a node above it.
    expect(length).toBeGreaterThanOrEqual(maxLen)
    expect(length).toBeLessThanOrEqual(maxLen + 100)
    const ids = await streamIds(server, 'capped')
    expect(ids).toEqual(range(length, n - length))
  })

  it('killed (SIGKILL) mid-burst and restarted: nothing acknowledged is lost, duplicates at most one batch', async () => {
    const dir = await tempDir()
    const server = await redis({ persistDir: dir })
    const port = server.port
    const maxRecords = 500
    const run = transport({ url: server.url, key: 'logs', batch: { maxRecords, maxWaitMs: 20 } })
    const n = 20_000
    let restarted: RedisServer | undefined
    for (let burst = 0; burst < n / 500; burst++) {
      log(run.logger, 500, burst * 500)
      await new Promise((r) => setTimeout(r, 15))
      if (burst === 10) {
        // While batches flow: wait until some are in, then crash the server under them.
        await waitUntil(async () => (await server.client().xlen('logs')) > 0, 'the first entries', WAIT)
        await server.kill()
      }
      if (burst === 25) restarted = await redis({ port, persistDir: dir })
    }
    const report = await run.finish()
    expect(run.warnings.some((w) => w.kind === 'retrying')).toBe(true)
    expect(statsOf(report)).toMatchObject({ received: n, delivered: n, failed: 0 })
    const { missing, duplicates, unexpected } = missingAndDuplicates((await streamIds(restarted as RedisServer, 'logs')).map((i) => ({ i })), n)
    expect(missing).toEqual([])
    expect(unexpected).toEqual([])
    // Only the batch whose replies died with the connection can have been written and sent again
    // (one batch in flight): documented in docs/redis.md.
    console.log(`redis kill -9 mid-burst: ${duplicates} duplicate(s) of ${n} (bound ${maxRecords})`)
    expect(duplicates).toBeLessThanOrEqual(maxRecords)
    expect(duplicates).toBeLessThanOrEqual(statsOf(report).retried)
  })

  it('rides out a server that is not up yet: connection refused is retried until it is', async () => {
    const port = await freePort()
    const run = transport({ url: `redis://127.0.0.1:${port}`, key: 'logs' })
    log(run.logger, 1000)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying'), 'a retrying warning', WAIT)
    expect(run.warnings.find((w) => w.kind === 'retrying')?.error).toMatch(/ECONNREFUSED/)
    const server = await redis({ port })
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 1000, delivered: 1000, failed: 0 })
    expect(await streamIds(server, 'logs')).toEqual(range(1000))
  })

  it('a hung server (SIGSTOP): the attempt times out, the connection is dropped, and all arrive after SIGCONT', async () => {
    const server = await redis()
    await server.client().ping()
    const pid = server.process.pid as number
    process.kill(pid, 'SIGSTOP')
    let stopped = true
    defer(() => {
      if (stopped && server.process.running) process.kill(pid, 'SIGCONT')
    })
    const run = transport({ url: server.url, key: 'logs', pool: { timeoutMs: 500 } })
    log(run.logger, 200)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying' && /timed out/.test(w.error ?? '')), 'a timed-out attempt', WAIT)
    process.kill(pid, 'SIGCONT')
    stopped = false
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 200, delivered: 200, failed: 0 })
    const { missing, duplicates } = missingAndDuplicates((await streamIds(server, 'logs')).map((i) => ({ i })), 200)
    expect(missing).toEqual([])
    // The server read the abandoned pipelines from its socket when it woke: their entries may be
    // there twice, at most once per record and attempt given up (what `retried` counts).
    console.log(`redis SIGSTOP: ${duplicates} duplicate(s) of 200, ${statsOf(report).retried} record attempts given up`)
    expect(duplicates).toBeLessThanOrEqual(statsOf(report).retried)
  })

  it('close is bounded with a hung server: what could not be written is counted, the connection let go', async () => {
    const server = await redis()
    const pid = server.process.pid as number
    process.kill(pid, 'SIGSTOP')
    defer(() => {
      if (server.process.running) process.kill(pid, 'SIGCONT')
    })
    // Attempts that would wait 60 s: only the close deadline (1 s) ends them.
    const run = transport({ url: server.url, key: 'logs', pool: { timeoutMs: 60_000 }, closeTimeoutMs: 1000 })
    log(run.logger, 100)
    // No flush (it would wait for the server): the end of the stream, as an exiting app's.
    const report = await run.finish({ flush: false })
    expect(report.timedOut).toBe(true)
    expect(report.undelivered).toBe(100)
    expect(statsOf(report)).toMatchObject({ received: 100, delivered: 0, inFlight: 0, queued: 0 })
  })

  it('process.exit() right after a burst: every record delivered (a child app)', async () => {
    const server = await redis()
    const n = 20_000
    const result = await runNode(REDIS_APP, [server.url, 'logs', String(n)])
    expect(result.code, result.stderr).toBe(0)
    // Nothing on stderr: no warning, no close report of undelivered records, no word from ioredis.
    expect(result.stderr).toBe('')
    expect(await streamIds(server, 'logs')).toEqual(range(n))
  })

  it('an app that never closes an in-process sender still exits: the idle connection does not hold it', async () => {
    const server = await redis()
    const code = [
      "import { createRecord, createRedisSender } from 'pino-courier'",
      `const sender = createRedisSender({ url: '${server.url}', key: 'logs' })`,
      'for (let i = 0; i < 100; i++) sender.send(createRecord(JSON.stringify({ level: 30, i })))',
      'await sender.flush()',
      "console.log('delivered', sender.stats().delivered)",
    ].join('\n')
    const result = await runCommand(process.execPath, ['--input-type=module', '--eval', code], { timeoutMs: 30_000 })
    expect(result.signal, result.stderr).toBeNull()
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('delivered 100\n')
    expect(await streamIds(server, 'logs')).toEqual(range(100))
  })

  it('spool: records logged during an outage wait on disk across the app\'s exit; the next start delivers them once', async () => {
    const data = await tempDir()
    const spool = await tempDir()
    const server = await redis({ persistDir: data })
    const port = server.port
    const options = JSON.stringify({ sender: { spool: { dir: spool, fsync: 'always' }, retry: RETRY } })
    // Up: the first 2,000 go straight in.
    const first = await runNode(REDIS_APP, [server.url, 'logs', '2000', '0', options])
    expect(first.code, first.stderr).toBe(0)
    expect(await server.client().xlen('logs')).toBe(2000)
    // Down: the next 3,000 are spooled when the app exits.
    await server.kill()
    const second = await runNode(REDIS_APP, [`redis://127.0.0.1:${port}`, 'logs', '3000', '2000', options])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toMatch(/3000 left in the spool for the next start/)
    expect(second.stderr).toMatch(/ECONNREFUSED/)
    // Back (its data kept), and a new start of the transport with the same spool delivers them.
    const back = await redis({ port, persistDir: data })
    const run = transport({ url: back.url, key: 'logs', spool: { dir: spool } })
    await waitUntil(async () => (await back.client().xlen('logs')) >= 5000, '5,000 entries', WAIT)
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ recovered: 3000, delivered: 3000, spooled: 0, failed: 0 })
    expect(await streamIds(back, 'logs')).toEqual(range(5000))
  })

  it('OOM at maxmemory (noeviction) is retried; once maxmemory is raised, every record arrives once', async () => {
    const server = await redis({ args: ['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction'] })
    const n = 10_000
    const run = transport({ url: server.url, key: 'logs', batch: { maxRecords: 1000, maxWaitMs: 20 } })
    log(run.logger, n)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying' && /OOM command not allowed/.test(w.error ?? '')), 'an OOM retry', WAIT)
    await server.client().config('SET', 'maxmemory', '0')
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: n, delivered: n, failed: 0 })
    expect(statsOf(report).retried).toBeGreaterThan(0)
    // An OOM is a refusal: nothing refused was written, so nothing is there twice.
    const ids = await streamIds(server, 'logs')
    expect(missingAndDuplicates(ids.map((i) => ({ i })), n)).toEqual({ missing: [], duplicates: 0, unexpected: [] })
  })

  it('maxclients reached: retried with the server\'s words (not a closed stream), delivered once a slot frees', async () => {
    const server = await redis({ args: ['--maxclients', '1'] })
    // The test's own client takes the one slot.
    await server.client().ping()
    const run = transport({ url: server.url, key: 'logs' })
    log(run.logger, 500)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying'), 'a retrying warning', WAIT)
    expect(run.warnings.find((w) => w.kind === 'retrying')?.error).toMatch(/ERR max number of clients reached/)
    await server.client().config('SET', 'maxclients', '10')
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 500, delivered: 500, failed: 0 })
    expect(await streamIds(server, 'logs')).toEqual(range(500))
  })

  it('WRONGTYPE (the key holds a string): failed for good at once and dead-lettered, never retried', async () => {
    const server = await redis()
    await server.client().set('logs', 'not a stream')
    const dir = await tempDir()
    const deadLetter = join(dir, 'dead.ndjson')
    const run = transport({ url: server.url, key: 'logs', deadLetter: { path: deadLetter } })
    log(run.logger, 300)
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 300, delivered: 0, failed: 300, retried: 0, deadLettered: 300 })
    expect(statsOf(report).recentFailures[0]?.error).toMatch(/XADD logs: WRONGTYPE Operation against a key holding the wrong kind of value/)
    const dead = (await readFile(deadLetter, 'utf8')).trim().split('\n')
    expect(dead).toHaveLength(300)
    expect(await server.client().get('logs')).toBe('not a stream')
  })

  it('READONLY (a replica) is retried; after REPLICAOF NO ONE every record arrives', async () => {
    const primary = await redis()
    const replica = await redis()
    await replica.client().replicaof('127.0.0.1', String(primary.port))
    await waitUntil(async () => /master_link_status:up/.test(await replica.client().info('replication')), 'the replica in sync', WAIT)
    const run = transport({ url: replica.url, key: 'logs', mode: 'list' })
    log(run.logger, 500)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying' && /READONLY/.test(w.error ?? '')), 'a READONLY retry', WAIT)
    await replica.client().replicaof('NO', 'ONE')
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 500, delivered: 500, failed: 0 })
    expect(await listIds(replica, 'logs')).toEqual(range(500))
    expect(await primary.client().exists('logs')).toBe(0)
  })

  it('requirepass: the right password delivers; a wrong one fails for good with WRONGPASS, no password anywhere', async () => {
    const password = 'right-Pa55word-9f3k'
    const server = await redis({ args: ['--requirepass', password], password })
    const good = transport({ url: `redis://:${password}@127.0.0.1:${server.port}/2`, key: 'logs' })
    log(good.logger, 100)
    expect(statsOf(await good.finish())).toMatchObject({ delivered: 100 })
    await server.client().select(2)
    expect(await streamIds(server, 'logs')).toEqual(range(100))

    const wrong = 'wrong-Pa55word-7x1q'
    const bad = transport({ url: `redis://127.0.0.1:${server.port}`, password: wrong, key: 'logs' })
    log(bad.logger, 100)
    const report = await bad.finish()
    expect(statsOf(report)).toMatchObject({ delivered: 0, failed: 100, retried: 0 })
    expect(statsOf(report).recentFailures[0]?.error).toBe(`DeliveryError: redis redis://127.0.0.1:${server.port}: WRONGPASS invalid username-password pair or user is disabled.`)
    const everything = JSON.stringify({ report, warnings: bad.warnings })
    expect(everything).not.toContain(wrong)
    expect(everything).not.toContain(password)

    const none = transport({ url: server.url, key: 'logs' })
    log(none.logger, 10)
    const noAuth = await none.finish()
    expect(statsOf(noAuth)).toMatchObject({ delivered: 0, failed: 10, retried: 0 })
    expect(statsOf(noAuth).recentFailures[0]?.error).toMatch(/NOAUTH Authentication required/)
  })

  it('NOPERM (an ACL user barred from the key): failed for good at once, never retried', async () => {
    const server = await redis()
    await server.client().call('ACL', 'SETUSER', 'shipper', 'on', '>shipper-pw-1', '~other:*', '+@all')
    const run = transport({ url: `redis://shipper:shipper-pw-1@127.0.0.1:${server.port}`, key: 'logs' })
    log(run.logger, 50)
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 50, delivered: 0, failed: 50, retried: 0 })
    expect(statsOf(report).recentFailures[0]?.error).toMatch(/XADD logs: NOPERM/)
    expect(JSON.stringify(report)).not.toContain('shipper-pw-1')
  })

  it('BUSY (a script holds the server) is retried; after SCRIPT KILL every record arrives', async () => {
    const server = await redis({ args: ['--busy-reply-threshold', '100'] })
    // A script that never ends, on a connection of its own (its reply never comes).
    const blocker = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0 })
    blocker.on('error', () => undefined)
    defer(() => blocker.disconnect())
    blocker.eval('while true do end', 0).catch(() => undefined)
    await waitUntil(async () => /BUSY/.test(await server.client().ping().then(String, String)), 'the server busy', WAIT)
    const run = transport({ url: server.url, key: 'logs' })
    log(run.logger, 300)
    await waitUntil(() => run.warnings.some((w) => w.kind === 'retrying' && /BUSY/.test(w.error ?? '')), 'a BUSY retry', WAIT)
    await server.client().script('KILL')
    const report = await run.finish()
    expect(statsOf(report)).toMatchObject({ received: 300, delivered: 300, failed: 0 })
    expect(await streamIds(server, 'logs')).toEqual(range(300))
  })

  it('TLS (rediss://): verified against the CA given in tls.ca', async () => {
    const dir = await tempDir()
    makeCertificates(dir)
    const tlsPort = await freePort()
    const server = await redis({
      args: [
        '--tls-port', String(tlsPort),
        '--tls-cert-file', join(dir, 'server.crt'),
        '--tls-key-file', join(dir, 'server.key'),
        '--tls-ca-cert-file', join(dir, 'ca.crt'),
        '--tls-auth-clients', 'no',
      ],
    })
    const ca = await readFile(join(dir, 'ca.crt'), 'utf8')
    const run = transport({ url: `rediss://localhost:${tlsPort}`, key: 'logs', tls: { ca } })
    log(run.logger, 1000)
    expect(statsOf(await run.finish())).toMatchObject({ received: 1000, delivered: 1000 })
    expect(await streamIds(server, 'logs')).toEqual(range(1000))
  })
})

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it, made with openssl. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pino-courier test CA', '-keyout', 'ca.key', '-out', 'ca.crt')
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.crt')
}
