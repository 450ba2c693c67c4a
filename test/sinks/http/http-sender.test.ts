import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { createRecord } from '../../../src/input/record.js'
import { createHttpSender, type HttpSender, type HttpSenderOptions } from '../../../src/sinks/http/http-sender.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { startHttpSink, type HttpSink } from '../../helpers/http-sink.js'

type FailureEvent = SenderEvents['failure'][0]
type RetryEvent = SenderEvents['retry'][0]

/** Every record the sender received is delivered, failed, dropped, queued or in flight. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

const line = (i: number): string => `{"level":30,"time":${1_700_000_000_000 + i},"msg":"m${i}","i":${i}}`

const sinks: HttpSink[] = []
const senders: HttpSender[] = []

async function sink(...args: Parameters<typeof startHttpSink>): Promise<HttpSink> {
  const started = await startHttpSink(...args)
  sinks.push(started)
  return started
}

/** A sender whose batches leave only on flush() (or a full batch), with fast retries. */
function sender(options: HttpSenderOptions): HttpSender {
  const created = createHttpSender({
    batch: { maxWaitMs: 60_000 },
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  })
  senders.push(created)
  return created
}

function sendLines(target: HttpSender, lines: readonly string[]): void {
  for (const text of lines) expect(target.send(createRecord(text))).toBe(true)
}

const servers: Server[] = []

afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
  await Promise.all(sinks.splice(0).map((s) => s.close()))
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

describe('HttpSender', () => {
  describe('body', () => {
    it('posts NDJSON byte-exact: every line as sent, each followed by a newline', async () => {
      const server = await sink()
      const http = sender({ url: server.url })
      const lines = [line(1), line(2), line(3)]
      sendLines(http, lines)
      await http.flush()

      expect(server.requests).toHaveLength(1)
      const request = server.requests[0]!
      expect(request.method).toBe('POST')
      expect(request.url).toBe('/logs')
      expect(request.headers['content-type']).toBe('application/x-ndjson')
      expect(request.headers['content-encoding']).toBeUndefined()
      expect(request.headers['user-agent']).toBe('pino-courier')
      expect(request.raw.equals(Buffer.from(`${lines[0]}\n${lines[1]}\n${lines[2]}\n`))).toBe(true)
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 3, delivered: 3, failed: 0, retried: 0, attempts: 1 })
      expect(stats.deliveredBytes).toBe(request.raw.length)
      expectLedger(stats)
    })

    it('posts a JSON array byte-exact: [line1,line2] with content-type application/json', async () => {
      const server = await sink()
      const http = sender({ url: server.url, format: 'json' })
      sendLines(http, [line(1), line(2)])
      await http.flush()

      expect(server.requests).toHaveLength(1)
      const request = server.requests[0]!
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.raw.toString('utf8')).toBe(`[${line(1)},${line(2)}]`)
      expect(server.records()).toEqual([JSON.parse(line(1)), JSON.parse(line(2))])
      expectLedger(http.stats())
    })

    it('forwards lines raw, never re-serialized (key order, spacing, escapes and number forms kept)', async () => {
      // JSON.parse + JSON.stringify would change every one of these lines.
      const odd = [
        '{"level":30, "msg" : "spaced out" ,"z":1,"a":0}',
        '{"msg":"level last","n":1.0,"e":1e3,"level":40}',
        '{"level":30,"msg":"caf\\u00e9 \\/ esc","nested":{"b":[3,1],"a":null}}',
        '{"level":30,"msg":"unicode é ☃ 𝄞"}',
      ]
      const ndjsonServer = await sink()
      const ndjson = sender({ url: ndjsonServer.url })
      sendLines(ndjson, odd)
      await ndjson.flush()
      expect(ndjsonServer.requests[0]!.raw.equals(Buffer.from(odd.map((l) => `${l}\n`).join('')))).toBe(true)
      expectLedger(ndjson.stats())

      const jsonServer = await sink()
      const json = sender({ url: jsonServer.url, format: 'json' })
      sendLines(json, odd)
      await json.flush()
      expect(jsonServer.requests[0]!.raw.equals(Buffer.from(`[${odd.join(',')}]`))).toBe(true)
      expect(json.stats()).toMatchObject({ received: 4, delivered: 4 })
      expectLedger(json.stats())
    })

    it('gzips: content-encoding gzip, and the body gunzips to the exact NDJSON', async () => {
      const server = await sink()
      const http = sender({ url: server.url, gzip: true })
      const lines = [line(1), line(2)]
      sendLines(http, lines)
      await http.flush()

      const request = server.requests[0]!
      expect(request.headers['content-encoding']).toBe('gzip')
      expect(request.headers['content-type']).toBe('application/x-ndjson')
      expect([request.raw[0], request.raw[1]]).toEqual([0x1f, 0x8b])
      expect(gunzipSync(request.raw).toString('utf8')).toBe(`${lines[0]}\n${lines[1]}\n`)
      expect(http.stats()).toMatchObject({ received: 2, delivered: 2 })
      expectLedger(http.stats())
    })

    it('sends one request per batch when batch.maxRecords splits the queue, in order with one connection', async () => {
      const server = await sink()
      const http = sender({ url: server.url, batch: { maxRecords: 2, maxWaitMs: 60_000 }, pool: { concurrency: 1 } })
      const lines = [line(1), line(2), line(3), line(4), line(5)]
      sendLines(http, lines)
      await http.flush()

      expect(server.requests.map((r) => r.body)).toEqual([
        `${lines[0]}\n${lines[1]}\n`,
        `${lines[2]}\n${lines[3]}\n`,
        `${lines[4]}\n`,
      ])
      expect(http.stats()).toMatchObject({ received: 5, delivered: 5, attempts: 3 })
      expectLedger(http.stats())
    })
  })

  describe('request', () => {
    it('sends custom headers (names lower-cased, values as given)', async () => {
      const server = await sink()
      const http = sender({
        url: server.url,
        headers: { Authorization: 'Bearer t0k3n', 'X-Api-Key': 'k-123', 'content-type': 'application/vnd.logs+ndjson' },
      })
      sendLines(http, [line(1)])
      await http.flush()

      const { headers } = server.requests[0]!
      expect(headers.authorization).toBe('Bearer t0k3n')
      expect(headers['x-api-key']).toBe('k-123')
      // Headers given by the user override the defaults.
      expect(headers['content-type']).toBe('application/vnd.logs+ndjson')
      expectLedger(http.stats())
    })

    it('uses PUT when told to', async () => {
      const server = await sink()
      const http = sender({ url: server.url, method: 'PUT' })
      sendLines(http, [line(1)])
      await http.flush()

      expect(server.requests.map((r) => r.method)).toEqual(['PUT'])
      expect(server.records()).toEqual([JSON.parse(line(1))])
      expectLedger(http.stats())
    })

    it('keeps 8 requests in flight by default, and as many as pool.concurrency says', async () => {
      const server = await sink(() => ({ hang: true }))
      const http = sender({ url: server.url, batch: { maxRecords: 1 } })
      expect(http.options.pool.concurrency).toBe(8)
      sendLines(http, Array.from({ length: 10 }, (_, i) => line(i)))
      await server.waitFor(() => server.requests.length === 8)
      expect(http.stats()).toMatchObject({ inFlight: 8, queued: 2 })
      await http.close({ timeoutMs: 50 })

      // A transport-wide default (the context's layer) and the sender's own option both win over it.
      const layered = createHttpSender({ url: server.url }, { defaults: [{ pool: { concurrency: 2 } }] })
      expect(layered.options.pool.concurrency).toBe(2)
      expect(sender({ url: server.url, pool: { concurrency: 1 } }).options.pool.concurrency).toBe(1)
      await layered.close()
    })

    it('reuses one keep-alive connection for sequential batches', async () => {
      const server = await sink()
      const http = sender({ url: server.url })
      for (let i = 1; i <= 4; i++) {
        sendLines(http, [line(i)])
        await http.flush()
      }

      expect(server.requests).toHaveLength(4)
      expect(server.connections).toBe(1)
      expect(http.stats()).toMatchObject({ received: 4, delivered: 4, attempts: 4 })
      expectLedger(http.stats())
    })
  })

  describe('credentials', () => {
    it('turns credentials in the URL into a Basic authorization header and strips them from the URL', async () => {
      const server = await sink()
      const http = sender({ url: `http://us%40er:p%3Ass@127.0.0.1:${server.port}/logs?tenant=a` })
      sendLines(http, [line(1)])
      await http.flush()

      const request = server.requests[0]!
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`)
      expect(request.url).toBe('/logs?tenant=a')
      expect(http.endpoint).toBe(`http://127.0.0.1:${server.port}`)
      expectLedger(http.stats())
    })

    it('redacts the URL\'s path, query and credentials from a quoted error body', async () => {
      // Like Express's default 404 page: the server echoes what was requested.
      const server = await sink((request) => ({ status: 404, body: `Cannot POST ${request.url} (user s3cretUser)` }))
      const failures: FailureEvent[] = []
      const http = sender({
        url: `http://s3cretUser:s3cretPass@127.0.0.1:${server.port}/ingest/SECRET-TOKEN?api_key=KEY123`,
        retry: { maxAttempts: 1 },
      })
      http.on('failure', (f) => failures.push(f))
      sendLines(http, [line(1)])
      await http.flush()
      expect(server.requests[0]?.url).toBe('/ingest/SECRET-TOKEN?api_key=KEY123')
      expect(failures).toHaveLength(1)
      const message = failures[0]?.error ?? ''
      expect(message).toBe(`DeliveryError: HTTP 404 from http://127.0.0.1:${server.port}: Cannot POST … (user …)`)
      for (const secret of ['SECRET-TOKEN', 'KEY123', 'ingest', 's3cretUser']) {
        expect(message).not.toContain(secret)
        expect(JSON.stringify(http.stats())).not.toContain(secret)
      }
      expectLedger(http.stats())
      await http.close()
    })

    it('never puts credentials, path or query in error messages (HTTP errors and network errors)', async () => {
      const secrets = ['s3cretUser', 's3cretPass', Buffer.from('s3cretUser:s3cretPass').toString('base64'), '/logs', 'tok=']
      const server = await sink(() => ({ status: 500 }))
      const failures: FailureEvent[] = []
      const retries: RetryEvent[] = []
      const http = sender({
        url: `http://s3cretUser:s3cretPass@127.0.0.1:${server.port}/logs?tok=abc`,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      })
      http.on('failure', (f) => failures.push(f))
      http.on('retry', (r) => retries.push(r))
      sendLines(http, [line(1)])
      await http.flush()

      // Same sender shape against a closed port: a network error.
      const closed = await startHttpSink()
      const port = closed.port
      await closed.close()
      const offline = sender({
        url: `http://s3cretUser:s3cretPass@127.0.0.1:${port}/logs?tok=abc`,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      })
      offline.on('failure', (f) => failures.push(f))
      offline.on('retry', (r) => retries.push(r))
      sendLines(offline, [line(2)])
      await offline.flush()

      expect(failures).toHaveLength(2)
      expect(retries).toHaveLength(2)
      const messages = [
        ...failures.map((f) => f.error),
        ...retries.map((r) => r.error),
        ...http.stats().recentFailures.map((f) => f.error),
        ...offline.stats().recentFailures.map((f) => f.error),
      ]
      expect(messages[0]).toContain(`HTTP 500 from http://127.0.0.1:${server.port}`)
      expect(messages[1]).toContain(`request to http://127.0.0.1:${port} failed`)
      for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret)
      for (const s of [http.endpoint, offline.endpoint]) for (const secret of secrets) expect(s).not.toContain(secret)
      expectLedger(http.stats())
      expectLedger(offline.stats())
    })

    it('exposes only scheme and host as the endpoint', () => {
      const http = sender({ url: 'https://user:pw@logs.example.test:8443/v1/ingest?key=abc#frag' })
      expect(http.endpoint).toBe('https://logs.example.test:8443')
      const plain = sender({ url: 'http://127.0.0.1:9/a/b' })
      expect(plain.endpoint).toBe('http://127.0.0.1:9')
      expectLedger(http.stats())
    })
  })

  describe('retries', () => {
    it('503 then 200: delivered exactly once, retried = batch size, failed 0', async () => {
      const server = await sink((_req, index) => (index === 0 ? { status: 503, body: 'busy' } : undefined))
      const retries: RetryEvent[] = []
      const http = sender({ url: server.url })
      http.on('retry', (r) => retries.push(r))
      const lines = [line(1), line(2), line(3)]
      sendLines(http, lines)
      await http.flush()

      expect(server.requests).toHaveLength(2)
      expect(server.requests[1]!.body).toBe(server.requests[0]!.body)
      // The retry is recognisable as the same batch.
      const key = server.requests[0]!.headers['idempotency-key']
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(server.requests[1]!.headers['idempotency-key']).toBe(key)
      expect(server.records()).toEqual(lines.map((l) => JSON.parse(l) as unknown))
      expect(retries).toHaveLength(1)
      expect(retries[0]).toMatchObject({ sender: 'http', records: 3, attempt: 1 })
      expect(retries[0]!.error).toContain('HTTP 503')
      expect(retries[0]!.error).toContain('busy')
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 3, delivered: 3, retried: 3, failed: 0, attempts: 2 })
      expect(stats.recentFailures).toEqual([])
      expectLedger(stats)
    })

    it('gives every batch its own idempotency key, under the configured header name or none', async () => {
      const server = await sink()
      const http = sender({ url: server.url, batch: { maxRecords: 1 } })
      sendLines(http, [line(1), line(2), line(3)])
      await http.flush()
      const keys = server.requests.map((r) => r.headers['idempotency-key'])
      expect(new Set(keys).size).toBe(3)

      const named = sender({ url: server.url, idempotencyHeader: 'X-Batch-Id' })
      sendLines(named, [line(4)])
      await named.flush()
      expect(server.requests.at(-1)!.headers['x-batch-id']).toMatch(/^[0-9a-f-]{36}$/)
      expect(server.requests.at(-1)!.headers).not.toHaveProperty('idempotency-key')

      const none = sender({ url: server.url, idempotencyHeader: false })
      sendLines(none, [line(5)])
      await none.flush()
      expect(server.requests.at(-1)!.headers).not.toHaveProperty('idempotency-key')
      expect(server.requests).toHaveLength(5)
    })

    it('429 with Retry-After: 1 waits at least the told delay before retrying (real server)', async () => {
      const server = await sink((_req, index) =>
        index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : undefined,
      )
      const retries: RetryEvent[] = []
      // Backoff alone would retry within 5 ms: only Retry-After explains the wait.
      const http = sender({ url: server.url, retry: { baseDelayMs: 5, maxDelayMs: 5 } })
      http.on('retry', (r) => retries.push(r))
      sendLines(http, [line(1), line(2)])
      await http.flush()

      expect(server.requests).toHaveLength(2)
      expect(retries.map((r) => r.delayMs)).toEqual([1000])
      expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950)
      expect(server.records()).toHaveLength(2)
      expect(http.stats()).toMatchObject({ received: 2, delivered: 2, retried: 2, failed: 0 })
      expectLedger(http.stats())
    })

    it('429 with Retry-After: 30 does not retry a moment before 30 s (fake timers, real sockets)', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
      const server = await sink((_req, index) =>
        index === 0 ? { status: 429, headers: { 'retry-after': '30' } } : undefined,
      )
      const http = sender({ url: server.url, retry: { baseDelayMs: 5, maxDelayMs: 5 } })
      const retried = once(http, 'retry') as Promise<[RetryEvent]>
      sendLines(http, [line(1)])
      const flushed = http.flush()

      const [retry] = await retried
      expect(retry.delayMs).toBe(30_000)
      expect(http.stats().attempts).toBe(1)
      await vi.advanceTimersByTimeAsync(29_999)
      expect(http.stats().attempts).toBe(1)
      expect(server.requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(http.stats().attempts).toBe(2)
      await flushed
      expect(server.requests).toHaveLength(2)
      expect(server.records()).toEqual([JSON.parse(line(1))])
      expect(http.stats()).toMatchObject({ received: 1, delivered: 1, retried: 1, failed: 0 })
      expectLedger(http.stats())
    })

    it('429 with maxAttempts 1: a failure event with status 429, reason exhausted', async () => {
      const server = await sink(() => ({ status: 429, headers: { 'retry-after': '5' }, body: 'slow down' }))
      const failures: FailureEvent[] = []
      const http = sender({ url: server.url, retry: { maxAttempts: 1 } })
      http.on('failure', (f) => failures.push(f))
      sendLines(http, [line(1), line(2)])
      await http.flush()

      expect(server.requests).toHaveLength(1)
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ sender: 'http', records: 2, attempts: 1, reason: 'exhausted', status: 429 })
      expect(failures[0]!.error).toBe(`DeliveryError: HTTP 429 from http://127.0.0.1:${server.port}: slow down`)
      expect(http.stats()).toMatchObject({ received: 2, delivered: 0, failed: 2, retried: 0 })
      expectLedger(http.stats())
    })

    it('400 is permanent: one request, failed = batch size, status 400, reason permanent', async () => {
      const server = await sink(() => ({ status: 400, body: 'bad payload' }))
      const http = sender({ url: server.url })
      sendLines(http, [line(1), line(2), line(3)])
      await http.flush()

      expect(server.requests).toHaveLength(1)
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 3, delivered: 0, failed: 3, retried: 0, attempts: 1 })
      expect(stats.recentFailures).toHaveLength(1)
      expect(stats.recentFailures[0]).toMatchObject({ records: 3, attempts: 1, status: 400, reason: 'permanent' })
      expect(stats.recentFailures[0]!.error).toContain('bad payload')
      expect(server.records()).toEqual([])
      expectLedger(stats)
    })

    it('a network error (closed port) is retried, then counted failed/exhausted, naming only scheme+host', async () => {
      const closed = await startHttpSink()
      const port = closed.port
      await closed.close()
      const retries: RetryEvent[] = []
      const http = sender({ url: `http://127.0.0.1:${port}/logs/secret-path`, retry: { maxAttempts: 2 } })
      http.on('retry', (r) => retries.push(r))
      sendLines(http, [line(1), line(2)])
      await http.flush()

      expect(retries).toHaveLength(1)
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 2, delivered: 0, failed: 2, retried: 2, attempts: 2 })
      const failure = stats.recentFailures[0]!
      expect(failure).toMatchObject({ records: 2, attempts: 2, reason: 'exhausted' })
      expect(failure.status).toBeUndefined()
      expect(failure.error).toContain(`request to http://127.0.0.1:${port} failed`)
      expect(failure.error).toContain('ECONNREFUSED')
      expect(failure.error).not.toContain('/logs')
      expect(failure.error).not.toContain('secret-path')
      expectLedger(stats)
    })

    it('a connection reset on the first request, then 200: delivered once', async () => {
      const server = await sink((_req, index) => (index === 0 ? { destroy: true } : undefined))
      const http = sender({ url: server.url })
      const lines = [line(1), line(2)]
      sendLines(http, lines)
      await http.flush()

      expect(server.requests).toHaveLength(2)
      expect(server.records()).toEqual(lines.map((l) => JSON.parse(l) as unknown))
      expect(http.stats()).toMatchObject({ received: 2, delivered: 2, retried: 2, failed: 0, attempts: 2 })
      expectLedger(http.stats())
    })

    it('always 500 with maxAttempts 3: exactly 3 requests, then every record counted failed', async () => {
      const server = await sink(() => ({ status: 500 }))
      const http = sender({ url: server.url, retry: { maxAttempts: 3 } })
      sendLines(http, [line(1), line(2), line(3), line(4)])
      await http.flush()

      expect(server.requests).toHaveLength(3)
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 4, delivered: 0, failed: 4, retried: 8, attempts: 3 })
      expect(stats.recentFailures).toHaveLength(1)
      expect(stats.recentFailures[0]).toMatchObject({ records: 4, attempts: 3, reason: 'exhausted', status: 500 })
      expect(server.records()).toEqual([])
      expectLedger(stats)
    })

    it('times out on a server that never answers, fails after maxAttempts, and close() still resolves', async () => {
      const server = await sink(() => ({ hang: true }))
      const http = sender({ url: server.url, pool: { timeoutMs: 200 }, retry: { maxAttempts: 2 } })
      sendLines(http, [line(1), line(2)])
      await http.flush()

      const stats = http.stats()
      expect(stats).toMatchObject({ received: 2, delivered: 0, failed: 2, retried: 2, attempts: 2, inFlight: 0 })
      const failure = stats.recentFailures[0]!
      expect(failure).toMatchObject({ records: 2, attempts: 2, reason: 'exhausted' })
      expect(failure.error).toContain('timed out')
      expect(failure.error).toContain(`request to http://127.0.0.1:${server.port} failed`)
      expect(server.records()).toEqual([])

      const report = await http.close()
      expect(report).toMatchObject({ name: 'http', timedOut: false, abandonedAtDeadline: 0, undelivered: 2 })
      expectLedger(report.stats)
    })
  })

  describe('connections', () => {
    /** A raw server on port 0 whose handler sees how many requests came on the same connection. */
    async function rawServer(
      handler: (req: IncomingMessage, res: ServerResponse, nthOnSocket: number) => void,
    ): Promise<{ url: string; requests: () => number; connections: () => number }> {
      let requests = 0
      let connections = 0
      const perSocket = new WeakMap<object, number>()
      const server = createServer((req, res) => {
        requests++
        const nth = (perSocket.get(req.socket) ?? 0) + 1
        perSocket.set(req.socket, nth)
        handler(req, res, nth)
      })
      server.on('connection', () => connections++)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      servers.push(server)
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/logs`,
        requests: () => requests,
        connections: () => connections,
      }
    }

    it('counts a 2xx whose body stalls past pool.timeoutMs as delivered, once, without a retry', async () => {
      const server = await rawServer((req, res) => {
        req.resume()
        res.writeHead(200, { 'content-length': '100' })
        res.write('x') // and never the other 99 bytes
      })
      const http = sender({ url: server.url, pool: { timeoutMs: 200 } })
      sendLines(http, [line(1), line(2)])
      await http.flush()
      expect(http.stats()).toMatchObject({ delivered: 2, failed: 0, retried: 0, attempts: 1 })
      expect(server.requests()).toBe(1)
    })

    it('counts a 2xx whose body is cut off by a reset as delivered, once', async () => {
      const server = await rawServer((req, res) => {
        req.resume()
        res.writeHead(200, { 'content-length': '100' })
        res.write('x', () => res.socket?.destroy())
      })
      const http = sender({ url: server.url })
      sendLines(http, [line(1)])
      await http.flush()
      expect(http.stats()).toMatchObject({ delivered: 1, failed: 0, retried: 0, attempts: 1 })
      expect(server.requests()).toBe(1)
    })

    it('sends again on a fresh connection, without using up an attempt, when the server drops a reused one', async () => {
      // The server closes each connection when a second request arrives on it, as a server whose idle
      // timeout has just passed does: that request was never handled, so it is safe to send again.
      const keys: unknown[] = []
      const server = await rawServer((req, res, nth) => {
        keys.push(req.headers['idempotency-key'])
        if (nth > 1) {
          req.socket.destroy()
          return
        }
        req.resume()
        req.on('end', () => res.end())
      })
      const http = sender({ url: server.url, retry: { maxAttempts: 1 } })
      for (let i = 1; i <= 3; i++) {
        sendLines(http, [line(i)])
        await http.flush()
      }
      expect(http.stats()).toMatchObject({ delivered: 3, failed: 0, retried: 0, attempts: 3 })
      // Every batch after the first found its connection dropped and went out on a new one.
      expect(server.requests()).toBe(5)
      expect(server.connections()).toBe(3)
      // A batch sent again carries the key it went with the first time.
      expect(keys[1]).toBe(keys[2])
      expect(keys[3]).toBe(keys[4])
      expect(new Set(keys).size).toBe(3)
    })
  })

  describe('close', () => {
    it('sends what is queued once, then counts later sends as dropped (closed)', async () => {
      const server = await sink()
      const http = sender({ url: server.url })
      sendLines(http, [line(1), line(2)])
      const report = await http.close()
      expect(report).toMatchObject({ timedOut: false, undelivered: 0 })
      expect(server.requests).toHaveLength(1)
      expect(server.records()).toHaveLength(2)

      expect(http.send(createRecord(line(3)))).toBe(true)
      const stats = http.stats()
      expect(stats).toMatchObject({ received: 3, delivered: 2, dropped: { closed: 1, overflow: 0, oversize: 0 } })
      expect(server.requests).toHaveLength(1)
      expect(await http.close()).toBe(report)
      expectLedger(stats)
    })
  })

  describe('options', () => {
    const configError = (options: unknown): ConfigError => {
      try {
        createHttpSender(options as HttpSenderOptions)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return error as ConfigError
      }
      throw new Error('expected a ConfigError')
    }

    it('rejects a URL that is not one, naming `url`', () => {
      const error = configError({ url: 'not a url' })
      expect(error.paths).toEqual(['url'])
      expect(error.message).toMatch(/^pino-courier: invalid options: url: /)
    })

    it('rejects schemes other than http and https', () => {
      const error = configError({ url: 'ftp://127.0.0.1/logs' })
      expect(error.paths).toEqual(['url'])
      expect(error.message).toContain('url: ')
      expect(sender({ url: 'https://127.0.0.1/logs' }).endpoint).toBe('https://127.0.0.1')
    })

    it('rejects unknown keys and bad values, naming each', () => {
      expect(configError({ url: 'http://127.0.0.1/logs', bogus: 1 }).message).toContain('bogus')
      const nested = configError({ url: 'http://127.0.0.1/logs', method: 'GET', retry: { maxAttempts: 0 } })
      expect(nested.paths).toEqual(expect.arrayContaining(['method', 'retry.maxAttempts']))
      expect(configError({ url: 'http://127.0.0.1/logs', headers: { a: 1 } }).paths).toEqual(['headers.a'])
      expect(configError({}).paths).toEqual(['url'])
      expect(configError({ url: 'http://127.0.0.1/logs', idempotencyHeader: 'bad header' }).paths).toEqual([
        'idempotencyHeader',
      ])
      expect(configError({ url: 'http://127.0.0.1/logs', idempotencyHeader: true }).paths).toEqual(['idempotencyHeader'])
    })
  })
})
