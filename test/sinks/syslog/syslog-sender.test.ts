import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { describe, expect, it } from 'vitest'
import type { ConfigError } from '../../../src/config/config-error.js'
import { LogRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { createSenders } from '../../../src/sinks/registry.js'
import { createSyslogSender, type SyslogSender, type SyslogSenderOptions } from '../../../src/sinks/syslog/syslog-sender.js'
import { fixture, waitUntil } from '../../fixtures/integration.js'
import { runNode } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { configErrorOf } from '../../helpers/config-error.js'
import { CLIENT_CERT, CLIENT_KEY } from './tls-material.js'
import { startFakeTcpSyslog, startFakeUdpSyslog, type FakeTcpOptions, type FakeTcpSyslog } from './fake-syslog.js'

const { defer, tempDir } = useCleanups()

/** Fast retries, and enough of them for a receiver a test starts late. */
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 1000 }

function sender(options: SyslogSenderOptions): SyslogSender {
  const created = createSyslogSender({ batch: { maxWaitMs: 5 }, retry: FAST_RETRY, ...options })
  defer(() => created.close({ timeoutMs: 2000 }))
  return created
}

async function tcp(options: FakeTcpOptions = {}): Promise<FakeTcpSyslog> {
  const fake = await startFakeTcpSyslog(options)
  defer(() => fake.close())
  return fake
}

function record(fields: Record<string, unknown>, level = 30): LogRecord {
  return new LogRecord(JSON.stringify({ level, time: Date.now(), ...fields }), level)
}

/** A port nothing listens on (taken and given back). */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const ids = (messages: readonly string[]): number[] => messages.map((m) => (JSON.parse(m.slice(m.indexOf('{'))) as { i: number }).i)

describe('options', () => {
  const error = (options: Record<string, unknown>) => configErrorOf(() => createSyslogSender({ url: 'tcp://127.0.0.1:514', ...options } as SyslogSenderOptions))

  it('refuses URLs that are not udp://, tcp:// or tls://, or carry credentials, a path or a query, without quoting them', () => {
    expect(error({ url: 'http://h:1' }).paths).toEqual(['url'])
    expect(error({ url: 'not a url' }).paths).toEqual(['url'])
    const secret = error({ url: 'tcp://user:s3cret@h:1' })
    expect(secret.paths).toEqual(['url'])
    expect(secret.message).not.toContain('s3cret')
    expect(error({ url: 'tcp://h:1/x' }).paths).toEqual(['url'])
    expect(error({ url: 'udp://h:1?x=1' }).paths).toEqual(['url'])
    expect(error({ url: 'udp://h:0' }).paths).toEqual(['url'])
    expect(error({ url: 'tcp://ex%61mple.com:514' }).paths).toEqual(['url'])
  })

  it('refuses LF framing with TLS, TLS settings without a tls:// URL, and unreadable TLS files', () => {
    expect(error({ url: 'tls://h:6514', framing: 'lf' }).paths).toEqual(['framing'])
    expect(error({ tls: { rejectUnauthorized: false } }).paths).toEqual(['tls'])
    expect(error({ url: 'tls://h:6514', tls: { caFile: '/nonexistent/ca.pem' } }).paths).toEqual(['tls.caFile'])
    expect(error({ url: 'tls://h:6514', tls: { ca: 'x', caFile: '/etc/hostname' } }).paths).toEqual(['tls.caFile'])
    expect(error({ url: 'tls://h:6514', tls: { verify: true } }).paths).toEqual(['tls.verify'])
  })

  it('refuses TLS material that would fail every connection, naming the option and never the key or the passphrase', async () => {
    const url = 'tls://h:6514'
    const passphrase = 'pass-W0rd-never-shown'
    const encrypted = createPrivateKey(CLIENT_KEY).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    const keyFile = join(await tempDir(), 'key.pem')
    writeFileSync(keyFile, 'not a key\n')
    const secretFree = (e: ConfigError): ConfigError => {
      expect(e.message).not.toContain(passphrase)
      expect(e.message).not.toContain(encrypted.split('\n')[1] as string)
      expect(e.message).not.toContain(CLIENT_KEY.split('\n')[1] as string)
      return e
    }
    const wrong = secretFree(error({ url, tls: { cert: CLIENT_CERT, key: encrypted, passphrase: 'not-it' } }))
    expect(wrong.paths).toEqual(['tls.passphrase'])
    expect(secretFree(error({ url, tls: { cert: CLIENT_CERT, key: encrypted } })).paths).toEqual(['tls.key'])
    expect(secretFree(error({ url, tls: { cert: CLIENT_CERT, key: other } })).paths).toEqual(['tls.key'])
    expect(secretFree(error({ url, tls: { cert: CLIENT_CERT, keyFile } })).paths).toEqual(['tls.keyFile'])
    expect(error({ url, tls: { cert: 'not a certificate', key: CLIENT_KEY } }).paths).toEqual(['tls.cert'])
    expect(error({ url, tls: { cert: CLIENT_CERT } }).paths).toEqual(['tls.cert'])
    expect(secretFree(error({ url, tls: { key: CLIENT_KEY } })).paths).toEqual(['tls.key'])
    expect(error({ url, tls: { ca: 'not a certificate' } }).paths).toEqual(['tls.ca'])
    expect(error({ url, tls: { ca: CLIENT_CERT.replace(/\n[A-Za-z0-9+/]{20}/, '\n') } }).paths).toEqual(['tls.ca'])
    // What works is taken: the key with its passphrase and certificate, a CA bundle.
    const fine = createSyslogSender({ url, tls: { cert: CLIENT_CERT, key: encrypted, passphrase, ca: [CLIENT_CERT, CLIENT_CERT] } })
    defer(() => fine.close({ timeoutMs: 100 }))
  })

  it('checks header fields: printable US-ASCII and RFC 5424 lengths, an RFC 3164 TAG, the SD-ID and PARAM-NAMEs', () => {
    expect(error({ appName: 'my app' }).paths).toEqual(['appName'])
    expect(error({ appName: 'a'.repeat(49) }).paths).toEqual(['appName'])
    expect(error({ hostname: 'hé' }).paths).toEqual(['hostname'])
    expect(error({ msgId: 'm'.repeat(33) }).paths).toEqual(['msgId'])
    expect(error({ format: 'rfc3164', appName: 'a:b' }).paths).toEqual(['appName'])
    expect(error({ format: 'rfc3164', appName: 'a'.repeat(33) }).paths).toEqual(['appName'])
    expect(error({ format: 'rfc3164', structuredData: { id: 'x@1', keys: ['a'] } }).paths).toEqual(['structuredData'])
    expect(error({ format: 'rfc3164', msgId: 'm' }).paths).toEqual(['msgId'])
    expect(error({ structuredData: { id: 'nopen', keys: ['a'] } }).paths).toEqual(['structuredData.id'])
    expect(error({ structuredData: { id: 'x@1', keys: ['a', 'b=c'] } }).paths).toEqual(['structuredData.keys[1]'])
    // No field at all: every record would go without structured data.
    expect(error({ structuredData: { id: 'x@1', keys: {} } }).paths).toEqual(['structuredData.keys'])
    expect(error({ structuredData: { id: 'x@1', keys: [] } }).paths).toEqual(['structuredData.keys'])
    expect(error({ facility: 'local8' }).paths).toEqual(['facility'])
    expect(error({ facility: 24 }).paths).toEqual(['facility'])
  })

  it('checks maxMessageBytes: at least 480, at most 65507 over UDP', () => {
    expect(error({ maxMessageBytes: 479 }).paths).toEqual(['maxMessageBytes'])
    expect(error({ url: 'udp://h:514', maxMessageBytes: 65_508 }).paths).toEqual(['maxMessageBytes'])
    expect(() => createSyslogSender({ url: 'udp://h:514', maxMessageBytes: 65_507 }).close()).not.toThrow()
  })

  it('names the sender in the path through the registry', async () => {
    await expect(createSenders([{ type: 'syslog', url: 'tls://h:1', framing: 'lf' }], {})).rejects.toMatchObject({ paths: ['senders[0].framing'] })
    await expect(createSenders([{ type: 'syslog', url: 'tcp://h:1', bogus: 1 }], {})).rejects.toMatchObject({ paths: ['senders[0].bogus'] })
  })

  it('names the receiver without anything but scheme, host and port, the default port filled in', () => {
    expect(sender({ url: 'tls://logs.example.com' }).endpoint).toBe('tls://logs.example.com:6514')
    expect(sender({ url: 'udp://[::1]:5514' }).endpoint).toBe('udp://[::1]:5514')
  })
})

describe('over TCP', () => {
  it('sends every record once, in order, framed by octet counting on one connection', async () => {
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}`, appName: 'unit', hostname: 'box' })
    for (let i = 0; i < 500; i++) s.send(record({ i, msg: 'é' }))
    await s.flush()
    expect(s.stats()).toMatchObject({ received: 500, delivered: 500, failed: 0, retried: 0 })
    await waitUntil(() => fake.messages.length === 500, '500 messages')
    expect(ids(fake.messages)).toEqual(Array.from({ length: 500 }, (_, i) => i))
    expect(fake.messages[0]).toMatch(new RegExp(`^<14>1 \\S+Z box unit ${process.pid} - - \\{"level":30,`))
    expect(fake.accepted).toBe(1)
    expect(s.connections).toBe(1)
  })

  it('shares the connection among many deliveries at once without a MaxListenersExceededWarning', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`)
    process.on('warning', onWarning)
    defer(() => void process.off('warning', onWarning))
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}`, pool: { concurrency: 16 }, batch: { maxRecords: 5, maxWaitMs: 5 } })
    for (let i = 0; i < 2000; i++) s.send(record({ i }))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 2000, failed: 0 })
    await waitUntil(() => fake.messages.length === 2000, '2000 messages')
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.filter((w) => w.includes('[Socket]'))).toEqual([])
  })

  it('lets an app with an in-process sender it never closed exit: the idle connection does not hold the process', async () => {
    const fake = await tcp()
    const result = await runNode(fixture('syslog-app.mjs'), [`tcp://127.0.0.1:${fake.port}`, '10', 'idle'], { timeoutMs: 30_000 })
    // Held open, the child would be killed at its timeout (SIGKILL) instead.
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null })
    expect(result.stdout).toMatch(/^flushed .*"delivered":10,/m)
    await waitUntil(() => fake.messages.length === 10, '10 messages')
  })

  it('frames with LF when asked, an LF inside a message written as \\n', async () => {
    const fake = await tcp({ framing: 'lf' })
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}`, framing: 'lf', messageOnly: true })
    s.send(record({ msg: 'first\nline' }))
    s.send(record({ msg: 'second' }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 2, '2 messages')
    expect(fake.messages[0]).toMatch(/ - - first\\nline$/)
    expect(fake.messages[1]).toMatch(/ - - second$/)
  })

  it('notices a receiver that ended the connection and sends the next batch on a new one', async () => {
    // The receiver ends each connection after its first message, as a stopping rsyslog does.
    const fake = await tcp({ onMessage: (_m, socket: Socket) => socket.end() })
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}` })
    s.send(record({ i: 0 }))
    await s.flush()
    // The receiver's side closes only once the sender has seen the end and closed its own.
    await waitUntil(() => fake.accepted === 1 && fake.open === 0, 'the sender to close the ended connection')
    s.send(record({ i: 1 }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 2, '2 messages')
    expect(ids(fake.messages)).toEqual([0, 1])
    expect(fake.accepted).toBe(2)
    expect(s.stats()).toMatchObject({ delivered: 2, failed: 0 })
  })

  it('makes the connection again after a reset, and sends what followed', async () => {
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}` })
    s.send(record({ i: 0 }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 1, 'the first message')
    fake.resetAll()
    await waitUntil(() => fake.open === 0, 'the reset')
    // Whatever the sender learns first (the reset, or an EPIPE on the next write), nothing is lost.
    for (let i = 1; i <= 50; i++) s.send(record({ i }))
    await s.flush()
    await waitUntil(() => new Set(ids(fake.messages)).size === 51, 'all 51 ids')
    expect(s.stats()).toMatchObject({ delivered: 51, failed: 0 })
    expect(fake.accepted).toBe(2)
  })

  it('does not count a batch delivered that was written after the receiver closed, its FIN not read yet: it goes again on a new connection', async () => {
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}`, batch: { maxRecords: 1, maxWaitMs: 5 } })
    s.send(record({ i: 0 }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 1, 'the first message')
    // The receiver closes its connection, and in the same event-loop turn (as in a busy worker, before
    // the sender's loop has read the FIN) a batch is written: the kernel takes the bytes, the closed
    // socket answers them with a reset. They went nowhere.
    fake.destroyAll()
    s.send(record({ i: 1 }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 2, 'the second message, sent again on a new connection')
    expect(ids(fake.messages)).toEqual([0, 1])
    expect(s.stats()).toMatchObject({ delivered: 2, failed: 0 })
    expect(s.stats().retried).toBeGreaterThanOrEqual(1)
    expect(fake.accepted).toBe(2)
  })

  it('gives up on a write a receiver that stopped reading never completes: the connection is dropped, the batch goes again on a new one, nothing lost once it reads', async () => {
    // Accepts and reads nothing until told: the kernel's buffers fill and the write never calls back.
    const sockets = new Set<Socket>()
    let reading = false
    const received = new Set<number>()
    const read = (socket: Socket): void => {
      socket.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString('latin1').matchAll(/"i":(\d+)/g)) received.add(Number(match[1]))
      })
      socket.resume()
    }
    const stalled = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined)
      if (reading) read(socket)
      else socket.pause()
    })
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => stalled.close(resolve))
    })
    const { port } = stalled.address() as { port: number }
    const s = sender({ url: `tcp://127.0.0.1:${port}`, pool: { timeoutMs: 300 }, maxMessageBytes: 65_536 })
    const retries: SenderEvents['retry'][0][] = []
    s.on('retry', (r) => retries.push(r))
    // 600 kB at a time until the kernel's buffers of the connection are full (a few MB on loopback,
    // whatever this machine's limits) and a write times out.
    const pad = 'x'.repeat(60_000)
    let sent = 0
    while (retries.length === 0) {
      if (sent >= 2000) throw new Error('120 MB written and no write ever stalled')
      for (let k = 0; k < 10; k++) s.send(record({ i: sent++, pad }))
      await waitUntil(() => retries.length > 0 || (s.stats().queued === 0 && s.stats().inFlight === 0), 'the records written, or a write timed out')
    }
    await waitUntil(() => s.connections >= 2, 'a new connection')
    expect(retries[0]?.error).toMatch(/timed out/)
    reading = true
    for (const socket of sockets) read(socket)
    await s.flush()
    expect(s.stats()).toMatchObject({ received: sent, delivered: sent, failed: 0 })
    await waitUntil(() => received.size === sent, 'every record at the receiver')
    // The connections given up on were ended by the sender (their bytes delivered first): one is left.
    await waitUntil(() => sockets.size === 1, 'the abandoned connections to close')
  })

  it('retries while nothing listens (ECONNREFUSED, naming the receiver), and delivers once the receiver is up', async () => {
    const port = await deadPort()
    const s = sender({ url: `tcp://127.0.0.1:${port}` })
    const retries: SenderEvents['retry'][0][] = []
    s.on('retry', (r) => retries.push(r))
    for (let i = 0; i < 10; i++) s.send(record({ i }))
    await waitUntil(() => retries.length > 0, 'a retry')
    expect(retries[0]?.error).toMatch(new RegExp(`syslog: cannot connect to tcp://127.0.0.1:${port}: .*ECONNREFUSED`))
    const fake = await tcp({ port })
    await s.flush()
    await waitUntil(() => fake.messages.length === 10, '10 messages')
    expect(ids(fake.messages)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect(s.stats()).toMatchObject({ delivered: 10, failed: 0 })
  })

  it('gives up on a connection the attempt timeout ends (a TLS handshake that never answers), and fails after its attempts', async () => {
    // Accepts and says nothing: the TLS handshake waits until pool.timeoutMs aborts it.
    const silent = await tcp({ ignore: true })
    const s = sender({ url: `tls://127.0.0.1:${silent.port}`, pool: { timeoutMs: 200 }, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } })
    s.send(record({ i: 0 }))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 1, attempts: 2 })
    expect(s.stats().recentFailures[0]?.error).toMatch(/timed out/)
    // Each attempt's socket was destroyed at its abort.
    await waitUntil(() => silent.open === 0, 'the abandoned connections to close')
  })

  it('turns a TLS failure into a retried error naming it (a plain receiver answering a TLS client)', async () => {
    const sockets = new Set<Socket>()
    const plain = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
      socket.end('not tls at all\n')
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => plain.close(resolve))
    })
    const { port } = plain.address() as { port: number }
    const s = sender({ url: `tls://127.0.0.1:${port}`, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } })
    s.send(record({ i: 0 }))
    await s.flush()
    expect(s.stats()).toMatchObject({ failed: 1, attempts: 2 })
    expect(s.stats().recentFailures[0]).toMatchObject({ reason: 'exhausted' })
    expect(s.stats().recentFailures[0]?.error).toMatch(new RegExp(`syslog: cannot connect to tls://127.0.0.1:${port}: `))
  })

  it('closes within its deadline and releases the connection, once, even with the receiver gone', async () => {
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}` })
    s.send(record({ i: 0 }))
    await s.flush()
    await fake.close()
    s.send(record({ i: 1 }))
    const closing = s.close({ timeoutMs: 500 })
    expect(s.close()).toBe(closing)
    const report = await closing
    expect(report.stats.received).toBe(2)
    // The second record was written nowhere: it is not counted delivered.
    expect(report.stats.delivered).toBe(1)
    expect(report.stats.failed + report.stats.dropped.closed).toBe(1)
    s.send(record({ i: 2 }))
    expect(s.stats().dropped.closed).toBeGreaterThanOrEqual(1)
  })
})

describe('over TLS 1.3', () => {
  /** A TLS 1.3 receiver (the test certificate as its own), keeping what arrives as text. */
  async function tlsReceiver(options: { requireClientCert: boolean }): Promise<{ port: number; text: () => string; refused: () => number }> {
    const chunks: string[] = []
    let refused = 0
    const sockets = new Set<TLSSocket>()
    const server = createTlsServer(
      { key: CLIENT_KEY, cert: CLIENT_CERT, minVersion: 'TLSv1.3', requestCert: options.requireClientCert, rejectUnauthorized: options.requireClientCert },
      (socket) => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => undefined)
        socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')))
      },
    )
    server.on('tlsClientError', () => refused++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve(undefined)))
    })
    return { port: (server.address() as { port: number }).port, text: () => chunks.join(''), refused: () => refused }
  }

  it('does not count records delivered on a connection the server refuses after the handshake (a client certificate it does not trust)', async () => {
    // TLS 1.3: the client's handshake ends before the server has checked its certificate; the refusal
    // comes after, when the batch was already written.
    const receiver = await tlsReceiver({ requireClientCert: true })
    const s = sender({
      url: `tls://127.0.0.1:${receiver.port}`,
      tls: { rejectUnauthorized: false, cert: CLIENT_CERT, key: CLIENT_KEY },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    })
    for (let i = 0; i < 5; i++) s.send(record({ i }))
    await s.flush()
    expect(receiver.refused()).toBeGreaterThan(0)
    expect(receiver.text()).toBe('')
    expect(s.stats()).toMatchObject({ received: 5, delivered: 0, failed: 5 })
    expect(s.stats().recentFailures[0]?.error).toMatch(/the receiver closed the connection before it accepted the TLS session/)
  })

  it('delivers on one connection once the server has accepted the session', async () => {
    const receiver = await tlsReceiver({ requireClientCert: false })
    const s = sender({ url: `tls://127.0.0.1:${receiver.port}`, tls: { rejectUnauthorized: false } })
    for (let i = 0; i < 20; i++) s.send(record({ i }))
    await s.flush()
    expect(s.stats()).toMatchObject({ received: 20, delivered: 20, failed: 0 })
    await waitUntil(() => (receiver.text().match(/"i":\d+/g) ?? []).length === 20, '20 messages')
    expect(s.connections).toBe(1)
  })
})

describe('maxMessageBytes', () => {
  it('cuts longer messages by default and counts them in the truncated stat (8096 over TCP, rsyslog’s default limit)', async () => {
    const fake = await tcp()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}` })
    expect(s.stats().truncated).toBeUndefined()
    s.send(record({ i: 0, pad: 'x'.repeat(20_000) }))
    s.send(record({ i: 1 }))
    s.send(record({ i: 2, pad: '€'.repeat(5000) }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 3, '3 messages')
    expect(Buffer.byteLength(fake.messages[0] as string)).toBe(8096)
    expect(Buffer.byteLength(fake.messages[2] as string)).toBeLessThanOrEqual(8096)
    expect(fake.messages[2]).not.toContain('\uFFFD')
    expect(s.stats()).toMatchObject({ delivered: 3, failed: 0, truncated: 2 })
  })

  it("refuses them for good with oversize: 'reject' (failed, dead-lettered) and sends the rest", async () => {
    const fake = await tcp()
    const dir = await tempDir()
    const s = sender({ url: `tcp://127.0.0.1:${fake.port}`, oversize: 'reject', maxMessageBytes: 1000, deadLetter: { path: `${dir}/dead.ndjson` } })
    s.send(record({ i: 0 }))
    s.send(record({ i: 1, pad: 'x'.repeat(2000) }))
    s.send(record({ i: 2 }))
    await s.flush()
    await waitUntil(() => fake.messages.length === 2, '2 messages')
    expect(ids(fake.messages)).toEqual([0, 2])
    expect(s.stats()).toMatchObject({ delivered: 2, failed: 1, deadLettered: 1 })
    expect(s.stats().recentFailures[0]?.error).toMatch(/syslog message of \d+ bytes is longer than maxMessageBytes \(1000\)/)
    expect(s.stats().truncated).toBeUndefined()
  })

  it('defaults to 1024 for RFC 3164 and 2048 over UDP', async () => {
    const fake = await tcp()
    const bsd = sender({ url: `tcp://127.0.0.1:${fake.port}`, format: 'rfc3164' })
    bsd.send(record({ pad: 'x'.repeat(3000) }))
    await bsd.flush()
    await waitUntil(() => fake.messages.length === 1, 'the message')
    expect(Buffer.byteLength(fake.messages[0] as string)).toBe(1024)

    const udp = await startFakeUdpSyslog()
    defer(() => udp.close())
    const u = sender({ url: `udp://127.0.0.1:${udp.port}` })
    u.send(record({ pad: 'x'.repeat(3000) }))
    await u.flush()
    await waitUntil(() => udp.messages.length === 1, 'the datagram')
    expect(Buffer.byteLength(udp.messages[0] as string)).toBe(2048)
    expect(u.stats().truncated).toBe(1)
  })
})

describe('over UDP', () => {
  it('sends one datagram per record', async () => {
    const udp = await startFakeUdpSyslog()
    defer(() => udp.close())
    const s = sender({ url: `udp://127.0.0.1:${udp.port}`, format: 'rfc3164', appName: 'tag' })
    for (let i = 0; i < 100; i++) s.send(record({ i }, 50))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 100, failed: 0 })
    await waitUntil(() => udp.messages.length === 100, '100 datagrams')
    expect(ids(udp.messages).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(udp.messages[0]).toMatch(new RegExp(`^<11>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ tag\\[${process.pid}\\]: \\{`))
  })

  it('does not count records delivered while the port refuses them (ICMP port unreachable → ECONNREFUSED): retried, then failed', async () => {
    const port = await deadPort()
    const s = sender({ url: `udp://127.0.0.1:${port}`, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }, batch: { maxRecords: 20, maxWaitMs: 5 } })
    for (let i = 0; i < 20; i++) s.send(record({ i }))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 20, attempts: 3 })
    expect(s.stats().recentFailures[0]?.error).toMatch(new RegExp(`syslog: sending to udp://127.0.0.1:${port} failed: .*ECONNREFUSED`))
  })

  it('retries a host name that does not resolve, naming it', async () => {
    const s = sender({ url: 'udp://no-such-host.invalid:514', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } })
    s.send(record({ i: 0 }))
    await s.flush()
    expect(s.stats()).toMatchObject({ failed: 1, attempts: 2 })
    expect(s.stats().recentFailures[0]?.error).toMatch(/syslog: cannot reach udp:\/\/no-such-host.invalid:514: .*(ENOTFOUND|EAI_AGAIN)/)
  })
})
