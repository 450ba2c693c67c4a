/**
 * NatsSender's options (ConfigErrors naming the option, at start-up), its defaults, and what it does
 * with no server to talk to (no nats-server needed: the client is installed, the port refuses).
 */
import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { createNatsSender, type NatsSender, type NatsSenderOptions } from '../../../src/sinks/nats/nats-sender.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { makeTempDir } from '../../helpers/temp-dir.js'
import { CLIENT_CERT, CLIENT_KEY, OTHER_KEY } from './tls-material.js'
import { configErrorOf as configError } from '../../helpers/config-error.js'

const { defer } = useCleanups()

/** A port nothing listens on: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function sender(options: NatsSenderOptions): NatsSender {
  const created = createNatsSender(options)
  defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

describe('NatsSender options', () => {
  it.each([
    { what: 'no servers', options: { servers: [] }, message: /servers:/ },
    { what: 'a websocket server', options: { servers: 'ws://h:80' }, message: /servers: has the scheme 'ws:': the NATS sender speaks nats:\/\/ and tls:\/\/ \(not websockets\)/ },
    { what: 'a server with a path', options: { servers: 'nats://h:4222/x' }, message: /servers: must be a scheme, host and port only/ },
    { what: 'a server that is no URL', options: { servers: 'nats://h:port' }, message: /servers: is not a server URL/ },
    { what: 'a bad server in a list', options: { servers: ['nats://a:4222', 'http://b'] }, message: /servers\[1\]: has the scheme 'http:'/ },
    { what: 'an empty subject', options: { subject: '' }, message: /subject: must not be empty/ },
    { what: 'a wildcard subject', options: { subject: 'logs.>' }, message: /subject: must not contain the wildcard token '>'/ },
    { what: 'an empty token', options: { subject: 'logs..x' }, message: /subject: must not have an empty token/ },
    { what: 'an unclosed placeholder', options: { subject: 'logs.{level' }, message: /subject: has a '\{' without its '\}'/ },
    { what: 'a fallback with a dot', options: { subjectFallback: 'a.b' }, message: /subjectFallback: "a\.b" is not a subject token/ },
    { what: 'an unknown mode', options: { mode: 'push' }, message: /mode: Invalid option: expected one of "jetstream"\|"core"/ },
    { what: 'an unknown missingStream', options: { missingStream: 'wait' }, message: /missingStream: Invalid option/ },
    { what: 'a misspelt option', options: { stream: 'LOGS' }, message: /stream: unknown option/ },
    { what: 'a TLS option the client does not take', options: { tls: { insecure: true } }, message: /tls\.insecure: unknown option/ },
  ])('refuses $what at start-up with a ConfigError naming the option', async ({ options, message }) => {
    const { createSenders } = await import('../../../src/sinks/registry.js')
    const spec = { type: 'nats', servers: 'nats://127.0.0.1:4222', subject: 'logs.app', ...options }
    await expect(createSenders([spec], {})).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(new RegExp(`senders\\[0\\]\\.${message.source}`)) })
    const direct = { servers: 'nats://127.0.0.1:4222', subject: 'logs.app', ...options } as unknown as NatsSenderOptions
    const error = configError(() => createNatsSender(direct))
    expect(error.message).toMatch(new RegExp(`^pino-courier: invalid options: ${message.source}`))
  })

  it.each([
    { what: 'user and token', options: { user: 'u', pass: 'p', token: 'secret-t' }, message: /token: set one of user\/pass, token and credsFile/, path: 'token' },
    { what: 'a password without a user', options: { pass: 'secret-p' }, message: /pass: a password needs a user/, path: 'pass' },
    { what: 'credentials in a URL and in the options', options: { servers: 'nats://u:secret-p@h:4222', token: 'secret-t' }, message: /servers: credentials are both in a server URL and in token/, path: 'servers' },
    { what: 'servers with different credentials', options: { servers: ['nats://u:secret-p@a:4222', 'nats://v:secret-q@b:4222'] }, message: /servers: the servers carry different credentials/, path: 'servers' },
  ])('refuses $what, without showing the secret', ({ options, message, path }) => {
    const error = configError(() => createNatsSender({ servers: 'nats://127.0.0.1:4222', subject: 'logs.app', ...options } as NatsSenderOptions))
    expect(error.message).toMatch(message)
    expect(error.paths).toEqual([path])
    expect(error.message).not.toMatch(/secret/)
  })

  describe('TLS material and creds files that cannot work are refused at start-up (they failed every connect as a transient error, retried for ever)', () => {
    const write = async (name: string, text: string): Promise<string> => {
      const { writeFile } = await import('node:fs/promises')
      const { join } = await import('node:path')
      const { dir, cleanup } = await makeTempDir('nats-tls-')
      defer(cleanup)
      const file = join(dir, name)
      await writeFile(file, text)
      return file
    }
    const base = { servers: 'nats://127.0.0.1:4222', subject: 'logs.app' }

    it.each([
      { what: 'a caFile that does not exist', tls: () => ({ caFile: '/nonexistent/ca.pem' }), path: 'tls.caFile', message: /tls\.caFile: cannot read the file: ENOENT/ },
      { what: 'a CA that holds no certificate', tls: () => ({ ca: 'not a pem' }), path: 'tls.ca', message: /tls\.ca: holds no PEM certificate/ },
      { what: 'a CA whose certificate does not parse', tls: () => ({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), path: 'tls.ca', message: /tls\.ca: a certificate in it does not parse/ },
      { what: 'ca and caFile both', tls: () => ({ ca: CLIENT_CERT, caFile: '/x.pem' }), path: 'tls.caFile', message: /tls\.caFile: give ca or caFile, not both/ },
      { what: 'a certificate without its key', tls: () => ({ cert: CLIENT_CERT }), path: 'tls.cert', message: /tls\.cert: a client certificate needs its key/ },
      { what: 'a key without its certificate', tls: () => ({ key: CLIENT_KEY }), path: 'tls.key', message: /tls\.key: a client key needs its certificate/ },
      { what: 'a key that does not parse', tls: () => ({ cert: CLIENT_CERT, key: '-----BEGIN PRIVATE KEY-----\nsecret-key-text\n-----END PRIVATE KEY-----\n' }), path: 'tls.key', message: /tls\.key: the key does not parse/ },
      { what: "a key that is not the certificate's", tls: () => ({ cert: CLIENT_CERT, key: OTHER_KEY }), path: 'tls.key', message: /tls\.key: the key is not the certificate's/ },
    ])('$what', ({ tls, path, message }) => {
      const error = configError(() => createNatsSender({ ...base, tls: tls() }))
      expect(error.message).toMatch(message)
      expect(error.paths).toEqual([path])
      expect(error.message).not.toMatch(/PRIVATE KEY|secret-key-text|MII|AAAA/)
    })

    it('names the file option when the material came from a file, and takes good material from files', async () => {
      const certFile = await write('cert.pem', CLIENT_CERT)
      const keyFile = await write('other.pem', OTHER_KEY)
      expect(configError(() => createNatsSender({ ...base, tls: { certFile, keyFile } })).paths).toEqual(['tls.keyFile'])
      const good = await write('key.pem', CLIENT_KEY)
      sender({ ...base, tls: { certFile, keyFile: good, caFile: certFile } })
    })

    it('a credsFile that cannot be read or holds no JWT and seed, without showing its contents', async () => {
      expect(configError(() => createNatsSender({ ...base, credsFile: '/nonexistent/u.creds' })).message).toMatch(/credsFile: cannot read the file: ENOENT/)
      const junk = await write('junk.creds', 'SUAsecret-seed-text with no blocks')
      const error = configError(() => createNatsSender({ ...base, credsFile: junk }))
      expect(error.paths).toEqual(['credsFile'])
      expect(error.message).toMatch(/credsFile: holds no user JWT and NKey seed/)
      expect(error.message).not.toContain('secret-seed-text')
    })
  })

  it('has the defaults: JetStream, one batch in flight, 10 s per attempt (PubAcks waited for 9 s of it); servers shown without credentials', () => {
    const s = sender({ servers: ['nats://u:pw-secret@127.0.0.1:4222', '127.0.0.1:4223', 'h'], subject: 'logs.{level}' })
    expect(s.name).toBe('nats')
    expect(s.mode).toBe('jetstream')
    expect(s.subject).toBe('logs.{level}')
    expect(s.endpoint).toBe('nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://h:4222')
    expect(s.options.pool).toMatchObject({ concurrency: 1, timeoutMs: 10_000 })
    expect(s.ackTimeoutMs).toBe(9_000)
    expect(s.options.batch).toMatchObject({ maxRecords: 5000, maxBytes: 1024 * 1024 })
    expect(s.duplicates).toBe(0)
  })
})

describe('NatsSender without a server', () => {
  it('send() never throws nor waits; a refused connection is retried, then counted failed; the message names the server only', async () => {
    const port = await refusingPort()
    const s = sender({
      servers: `nats://user:pw-secret@127.0.0.1:${port}`,
      subject: 'logs.app',
      retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 },
    })
    for (let i = 0; i < 10; i++) expect(s.send(createRecord(`{"level":30,"i":${i}}`))).toBe(true)
    await s.flush()
    const stats = s.stats()
    expect(stats).toMatchObject({ received: 10, delivered: 0, failed: 10, attempts: 3, retried: 20 })
    expect(stats.lastError?.message).toContain(`NATS nats://127.0.0.1:${port}: cannot connect: connection refused`)
    expect(JSON.stringify(stats)).not.toContain('pw-secret')
  })

  it('a tls:// server that offers no TLS gets no CONNECT (credentials are never sent in clear); the refusal is retried, saying why', async () => {
    // nats.js drops the scheme of a server URL: tls:// alone used to connect in plain text to a
    // server (or anything in between) that did not offer TLS, sending the password in its CONNECT.
    const received: Buffer[] = []
    const server = createServer((socket) => {
      socket.on('data', (data) => received.push(data))
      socket.on('error', () => undefined)
      socket.write('INFO {"server_id":"FAKE","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576}\r\n')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const { port } = server.address() as { port: number }
    const s = sender({
      servers: `tls://user:pw-secret@127.0.0.1:${port}`,
      subject: 'logs.app',
      connectTimeoutMs: 2000,
      retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 },
    })
    s.send(createRecord('{"level":30,"i":1}'))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 1 })
    expect(Buffer.concat(received).toString()).not.toContain('CONNECT')
    expect(s.stats().lastError?.message).toContain(`NATS tls://127.0.0.1:${port}: cannot connect: server does not support 'tls'`)
  })

  it('refuses a list that mixes tls:// and nats:// servers (the client applies one TLS setting to all)', () => {
    const error = configError(() => createNatsSender({ servers: ['tls://a:4222', 'nats://b:4222'], subject: 'logs.app' }))
    expect(error.paths).toEqual(['servers'])
    expect(error.message).toMatch(/servers: mixes tls:\/\/ and nats:\/\/ servers/)
  })

  it('a connect that times out before the server says INFO (a hung server) leaves no socket open behind it', async () => {
    // nats.js's close of a transport that never got connected did nothing: each timed-out connect
    // left its socket open for ever (a file descriptor per retry, and a process that cannot exit).
    const open = new Set<Socket>()
    let accepted = 0
    const server = createServer((socket) => {
      accepted++
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of open) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
    const { port } = server.address() as { port: number }
    const s = sender({ servers: `nats://127.0.0.1:${port}`, subject: 'logs.app', connectTimeoutMs: 200, retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } })
    s.send(createRecord('{"level":30,"i":1}'))
    await s.flush()
    expect(s.stats()).toMatchObject({ delivered: 0, failed: 1 })
    expect(s.stats().lastError?.message).toContain('cannot connect: no answer within 200 ms')
    expect(accepted).toBe(3)
    const deadline = Date.now() + 10_000
    while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(open.size).toBe(0)
  })

  it('close() with the server down is bounded and idempotent', async () => {
    const port = await refusingPort()
    const s = createNatsSender({ servers: `127.0.0.1:${port}`, subject: 'logs.app' })
    for (let i = 0; i < 10; i++) s.send(createRecord(`{"level":30,"i":${i}}`))
    const started = Date.now()
    const first = s.close({ timeoutMs: 500 })
    expect(s.close()).toBe(first)
    const report = await first
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(report.stats.received).toBe(10)
    expect(report.undelivered).toBe(10)
  })
})
