/**
 * The NATS sender in-process against a real nats-server (-js): JetStream publishes acknowledged and
 * de-duplicated by Nats-Msg-Id, the stream's limits mapped to outcomes, a subject no stream captures
 * told apart from JetStream not answering, templated subjects, core NATS, credentials and the
 * server's max_payload.
 */
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'
import { createNatsSender, loadNatsClient, type NatsSender, type NatsSenderOptions } from '../../../src/sinks/nats/nats-sender.js'
import { NatsSink } from '../../../src/sinks/nats/nats-sink.js'
import { SubjectTemplate } from '../../../src/sinks/nats/nats-subject.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { countById, NatsServer, waitUntil } from './nats-server.js'

type FailureEvent = SenderEvents['failure'][0]

const { defer, tempDir } = useCleanups()

async function server(options: Parameters<typeof NatsServer.start>[1] = {}): Promise<NatsServer> {
  const started = await NatsServer.start(await tempDir(), options)
  defer(() => started.stop())
  return started
}

/** A sender whose batches leave on flush() (or a full batch), with fast retries. */
function sender(options: NatsSenderOptions): NatsSender {
  const created = createNatsSender({ batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...options })
  defer(() => created.close({ timeoutMs: 2000 }))
  return created
}

const line = (i: number, extra = ''): string => `{"level":30,"time":${1_700_000_000_000 + i},"msg":"m${i}","i":${i}${extra}}`

function send(target: NatsSender, from: number, to: number, extra: (i: number) => string = () => ''): void {
  for (let i = from; i < to; i++) expect(target.send(createRecord(line(i, extra(i))))).toBe(true)
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

function failures(target: NatsSender): FailureEvent[] {
  const seen: FailureEvent[] = []
  target.on('failure', (failure) => seen.push(failure))
  return seen
}

describe('NatsSender against nats-server', () => {
  it('publishes each record to JetStream once, acknowledged, with its identity as Nats-Msg-Id', async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'])
    const s = sender({ servers: nats.url, subject: 'logs.app' })
    send(s, 0, 5000)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 5000, failed: 0 })
    const stored = await nats.readAll('LOGS')
    expect(stored).toHaveLength(5000)
    expect([...countById(stored).values()].every((n) => n === 1)).toBe(true)
    // Stream order is the order of the records (one batch in flight).
    expect(stored.map((m) => (JSON.parse(m.data) as { i: number }).i)).toEqual(Array.from({ length: 5000 }, (_, i) => i))
    expect(new Set(stored.map((m) => m.msgId)).size).toBe(5000)
    expect(stored[0]?.msgId).toMatch(/^[0-9a-f-]{36}:0$/)
    expect(stored[0]?.subject).toBe('logs.app')
  })

  it('a batch published again is stored once, also after a server restart: the PubAcks say duplicate and count delivered', async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'])
    const sink = new NatsSink({
      servers: [nats.url],
      serverNames: nats.url,
      subject: SubjectTemplate.parse('logs.app') as SubjectTemplate,
      mode: 'jetstream',
      missingStream: 'fail',
      auth: {},
      connectionName: 'test',
      connectTimeoutMs: 5000,
      fields: new RecordFields(),
      load: loadNatsClient,
    })
    defer(() => sink.close())
    const records = Array.from({ length: 10 }, (_, i) => createRecord(line(i)))
    // The same records with the same identities, as a retry after a lost PubAck or a spool replay sends them.
    const batch = { id: 'b', records, bytes: 0, recordId: (i: number) => `b:${i}` }
    const signal = new AbortController().signal
    await expect(sink.deliver(batch, { signal, attempt: 1 })).resolves.toBeUndefined()
    expect(sink.duplicates).toBe(0)
    await expect(sink.deliver({ ...batch, id: 'b~1' }, { signal, attempt: 2 })).resolves.toBeUndefined()
    expect(sink.duplicates).toBe(10)
    // The duplicate window outlives a restart of the server (on the same store): a new connection, still once.
    await nats.restart()
    // As the engine would: an attempt on the connection the restart closed (if not noticed yet) goes again.
    await expect(sink.deliver({ ...batch, id: 'b~2' }, { signal, attempt: 3 }).catch(() => sink.deliver({ ...batch, id: 'b~3' }, { signal, attempt: 4 }))).resolves.toBeUndefined()
    expect(sink.duplicates).toBe(20)
    const stored = await nats.readAll('LOGS')
    expect(stored.map((m) => m.msgId)).toEqual(Array.from({ length: 10 }, (_, i) => `b:${i}`))
  })

  it('fills a subject template from each record: {service}, {level} as its name, a fallback for a missing field, unsafe characters made _', async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'])
    const s = sender({ servers: nats.url, subject: 'logs.{service}.{level}' })
    expect(s.send(createRecord('{"level":30,"service":"api","i":0}'))).toBe(true)
    expect(s.send(createRecord('{"level":50,"service":"billing svc.v2","i":1}'))).toBe(true)
    expect(s.send(createRecord('{"level":40,"i":2}'))).toBe(true)
    expect(s.send(createRecord('{"level":30,"service":"a*>b","i":3}'))).toBe(true)
    await s.flush()
    const stored = await nats.readAll('LOGS')
    expect(stored.map((m) => m.subject)).toEqual(['logs.api.info', 'logs.billing_svc_v2.error', 'logs.unknown.warn', 'logs.a__b.info'])
  })

  it("a subject no stream captures fails for good with an error naming it (missingStream: 'fail', the default); other records are delivered", async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.api.>'])
    const deadLetter = join(await tempDir(), 'dead.ndjson')
    const s = sender({ servers: nats.url, subject: 'logs.{service}.x', deadLetter: { path: deadLetter } })
    const seen = failures(s)
    send(s, 0, 10, (i) => `,"service":"${i % 2 === 0 ? 'api' : 'web'}"`)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 5, failed: 5, deadLettered: 5, retried: 0 })
    expectLedger(s.stats())
    const dead = (await readFile(deadLetter, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i)
    expect(dead).toEqual([1, 3, 5, 7, 9])
    expect(seen.map((f) => f.error).join('\n')).toContain("no JetStream stream captures subject 'logs.web.x': create a stream capturing it")
    expect(await nats.messageCount('LOGS')).toBe(5)
  })

  it("with missingStream: 'retry' the records wait for the stream an operator creates later", async () => {
    const nats = await server()
    const s = sender({ servers: nats.url, subject: 'logs.app', missingStream: 'retry', retry: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000, maxRetryTimeMs: 60_000 } })
    send(s, 0, 100)
    const flushed = s.flush()
    await waitUntil(() => s.stats().attempts >= 3, 'a few failed attempts')
    expect(s.stats().lastError?.message).toContain("no JetStream stream captures subject 'logs.app'")
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 0 })
    await nats.addStream('LOGS', ['logs.>'])
    await flushed
    expect(s.stats()).toMatchObject({ delivered: 100, failed: 0 })
    expect(await nats.messageCount('LOGS')).toBe(100)
  })

  it('JetStream not answering (a server without -js) is retried, not failed: the same port with JetStream and the stream delivers', async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'])
    await nats.restart({ jetstream: false })
    const s = sender({ servers: nats.url, subject: 'logs.app', retry: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000, maxRetryTimeMs: 60_000 } })
    send(s, 0, 100)
    const flushed = s.flush()
    await waitUntil(() => s.stats().attempts >= 3, 'a few failed attempts')
    expect(s.stats().lastError?.message).toContain('JetStream is not answering')
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 0 })
    await nats.restart()
    await flushed
    expect(s.stats()).toMatchObject({ delivered: 100, failed: 0 })
    expect(await nats.messageCount('LOGS')).toBe(100)
  })

  it("a stream full with discard new is retried; the stream's max_msg_size fails the record for good", async () => {
    const nats = await server()
    await nats.addStream('FULL', ['full.>'], { max_msgs: 5, discard: 'new' as never })
    await nats.addStream('SMALL', ['small.>'], { max_msg_size: 200 })
    const full = sender({ servers: nats.url, subject: 'full.x', retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 } })
    const seen = failures(full)
    send(full, 0, 8)
    await full.flush()
    expect(full.stats()).toMatchObject({ delivered: 5, failed: 3 })
    expect(full.stats().retried).toBeGreaterThanOrEqual(3)
    expect(seen.map((f) => f.error).join('\n')).toContain('maximum messages exceeded (err_code 10077, status 503)')

    // Retried, not failed, while the stream is full: room made meanwhile (here a purge) lets them in.
    const waiting = sender({ servers: nats.url, subject: 'full.y', retry: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000, maxRetryTimeMs: 60_000 } })
    send(waiting, 100, 103)
    const flushed = waiting.flush()
    await waitUntil(() => waiting.stats().attempts >= 3, 'attempts refused by the full stream')
    expect(waiting.stats()).toMatchObject({ delivered: 0, failed: 0 })
    await nats.manage((jsm) => jsm.streams.purge('FULL'))
    await flushed
    expect(waiting.stats()).toMatchObject({ delivered: 3, failed: 0 })

    const small = sender({ servers: nats.url, subject: 'small.x' })
    const smallSeen = failures(small)
    send(small, 0, 4, (i) => (i === 2 ? `,"pad":"${'x'.repeat(300)}"` : ''))
    await small.flush()
    expect(small.stats()).toMatchObject({ delivered: 3, failed: 1, retried: 0 })
    expect(smallSeen.map((f) => f.error).join('\n')).toContain('message size exceeds maximum allowed (err_code 10054, status 400)')
  })

  it("a record over the server's max_payload is refused without being sent; the rest are delivered", async () => {
    const nats = await server({ config: 'max_payload: 2048\n' })
    await nats.addStream('LOGS', ['logs.>'])
    const s = sender({ servers: nats.url, subject: 'logs.app' })
    const seen = failures(s)
    send(s, 0, 5, (i) => (i === 3 ? `,"pad":"${'x'.repeat(3000)}"` : ''))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 4, failed: 1, retried: 0 })
    expect(seen.map((f) => f.error).join('\n')).toMatch(/over the server's max_payload of 2048 bytes: not sent/)
    expect(await nats.messageCount('LOGS')).toBe(4)
  })

  it('core NATS: published and flushed, a subscriber gets every record', async () => {
    const nats = await server()
    const nc = await nats.connect()
    defer(() => nc.close())
    const got: string[] = []
    const ids: (string | undefined)[] = []
    const sub = nc.subscribe('core.>', {
      callback: (_e, m) => {
        got.push(m.string())
        ids.push(m.headers?.get('Nats-Msg-Id'))
      },
    })
    await nc.flush()
    const s = sender({ servers: nats.url, subject: 'core.app', mode: 'core' })
    send(s, 0, 2000)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 2000, failed: 0 })
    await waitUntil(() => got.length >= 2000, 'the subscriber to get 2000')
    expect(got.map((m) => (JSON.parse(m) as { i: number }).i)).toEqual(Array.from({ length: 2000 }, (_, i) => i))
    // The header goes in core mode too (a stream capturing the subject would de-duplicate by it).
    expect(new Set(ids).size).toBe(2000)
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}:0$/)
    sub.unsubscribe()
  })

  it('a server without header support (no_header_support): core publishes go without Nats-Msg-Id and arrive; JetStream fails for good, saying why', async () => {
    // nats.js sent HPUB anyway, and the server closed the connection on it: every attempt was lost.
    const nats = await server({ jetstream: false, config: 'no_header_support: true\n' })
    const nc = await nats.connect()
    defer(() => nc.close())
    const got: string[] = []
    nc.subscribe('core.>', {
      callback: (_e, m) => {
        got.push(m.string())
      },
    })
    await nc.flush()
    const s = sender({ servers: nats.url, subject: 'core.app', mode: 'core', retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } })
    send(s, 0, 50)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 50, failed: 0, retried: 0 })
    await waitUntil(() => got.length >= 50, 'the subscriber to get 50')
    const js = sender({ servers: nats.url, subject: 'core.app', retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } })
    const seen = failures(js)
    send(js, 0, 5)
    await js.flush()
    expect(js.stats()).toMatchObject({ delivered: 0, failed: 5, retried: 0 })
    expect(seen.map((f) => f.error).join('\n')).toContain('the server takes no message headers')
  })

  it.each(['core', 'jetstream'] as const)('%s: a publish the server does not permit fails for good (not counted delivered)', async (mode) => {
    const nats = await server({
      config: 'authorization { users = [ { user: u, password: p, permissions: { publish: { allow: ["ok.>", "_INBOX.>", "$JS.API.>"] } } } ] }\n',
    })
    await nats.addStream('LOGS', ['ok.>', 'denied.>'], {}, { user: 'u', pass: 'p' })
    const s = sender({ servers: nats.url, user: 'u', pass: 'p', subject: '{where}.app', mode })
    const seen = failures(s)
    send(s, 0, 6, (i) => `,"where":"${i % 2 === 0 ? 'ok' : 'denied'}"`)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 3, failed: 3, retried: 0 })
    expect(seen.map((f) => f.error).join('\n')).toContain("not permitted: the server refused a publish to 'denied.app'")
    if (mode === 'jetstream') expect(await nats.messageCount('LOGS', { user: 'u', pass: 'p' })).toBe(3)
  })

  it('credentials: a wrong password fails for good with a message that does not show it; user/pass in the URL work', async () => {
    const nats = await server({ args: ['--user', 'u', '--pass', 'sesame-secret-1'] })
    await nats.addStream('LOGS', ['logs.>'], {}, { user: 'u', pass: 'sesame-secret-1' })
    const bad = sender({ servers: nats.url, user: 'u', pass: 'wrong-secret-2', subject: 'logs.app' })
    const seen = failures(bad)
    send(bad, 0, 3)
    await bad.flush()
    expect(bad.stats()).toMatchObject({ delivered: 0, failed: 3, retried: 0 })
    const text = JSON.stringify(seen) + JSON.stringify(bad.stats())
    expect(text).toContain('the server refused the credentials')
    expect(text).not.toContain('wrong-secret-2')

    const good = sender({ servers: `nats://u:sesame-secret-1@127.0.0.1:${nats.port}`, subject: 'logs.app' })
    expect(good.endpoint).toBe(`nats://127.0.0.1:${nats.port}`)
    send(good, 0, 3)
    await good.flush()
    expect(good.stats()).toMatchObject({ delivered: 3 })
  })

  it('token authentication', async () => {
    const nats = await server({ args: ['--auth', 'tok-secret-3'] })
    await nats.addStream('LOGS', ['logs.>'], {}, { token: 'tok-secret-3' })
    const s = sender({ servers: nats.url, token: 'tok-secret-3', subject: 'logs.app' })
    send(s, 0, 3)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 3 })
  })

  it("a record sent again after the stream's duplicate window is stored twice (the documented limit of a long outage)", async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'], { duplicate_window: 300_000_000 }) // 300 ms, in ns
    const sink = new NatsSink({
      servers: [nats.url],
      serverNames: nats.url,
      subject: SubjectTemplate.parse('logs.app') as SubjectTemplate,
      mode: 'jetstream',
      missingStream: 'fail',
      auth: {},
      connectionName: 'test',
      connectTimeoutMs: 5000,
      fields: new RecordFields(),
      load: loadNatsClient,
    })
    defer(() => sink.close())
    const records = Array.from({ length: 5 }, (_, i) => createRecord(line(i)))
    const batch = { id: 'w', records, bytes: 0, recordId: (i: number) => `w:${i}` }
    const signal = new AbortController().signal
    await sink.deliver(batch, { signal, attempt: 1 })
    await sink.deliver(batch, { signal, attempt: 2 })
    expect(await nats.messageCount('LOGS')).toBe(5)
    expect(sink.duplicates).toBe(5)
    await new Promise((r) => setTimeout(r, 1_000))
    await sink.deliver(batch, { signal, attempt: 3 })
    expect(sink.duplicates).toBe(5)
    expect(await nats.messageCount('LOGS')).toBe(10)
  })

  it('TLS: a server requiring it, its CA given as caFile; without the CA the connection is refused and retried', async () => {
    const dir = await tempDir()
    const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=pino-courier test CA')
    run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
    await writeFile(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf')
    const nats = await server({ config: `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}" }\n` })
    const tls = { caFile: join(dir, 'ca.pem') }
    await nats.addStream('LOGS', ['logs.>'], {}, { tls })
    const s = sender({ servers: `tls://127.0.0.1:${nats.port}`, subject: 'logs.app', tls })
    send(s, 0, 20)
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 20 })
    expect(await nats.messageCount('LOGS', { tls })).toBe(20)

    const untrusted = sender({ servers: `tls://127.0.0.1:${nats.port}`, subject: 'logs.app', retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 } })
    send(untrusted, 0, 3)
    await untrusted.flush()
    expect(untrusted.stats()).toMatchObject({ delivered: 0, failed: 3, attempts: 2 })
    expect(untrusted.stats().lastError?.message).toMatch(/cannot connect/)
  })

  it('a server that is down: attempts fail and are retried until it is up; close() is bounded with the server gone', async () => {
    const nats = await server()
    await nats.addStream('LOGS', ['logs.>'])
    await nats.stop()
    const s = sender({ servers: nats.url, subject: 'logs.app', retry: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000, maxRetryTimeMs: 60_000 } })
    send(s, 0, 50)
    const flushed = s.flush()
    await waitUntil(() => s.stats().attempts >= 2, 'failed attempts')
    expect(s.stats().lastError?.message).toMatch(/cannot connect: connection refused/)
    await nats.restart()
    await flushed
    expect(s.stats()).toMatchObject({ delivered: 50 })
    await nats.stop()
    send(s, 50, 60)
    const started = Date.now()
    const report = await s.close({ timeoutMs: 1500 })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(report).toBeDefined()
  })
})
