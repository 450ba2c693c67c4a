/**
 * The OTLP sender against the fake collector, in process: every answer a collector gives has a
 * defined outcome (retried, failed for good, split, partly rejected) and the ledger adds up; the
 * credentials it sends never appear in a message or a stat.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { RecordParser, type FailureRecord, type SenderStats } from '../../../src/index.js'
import { readPartialSuccess, readStatusMessage } from '../../../src/sinks/otlp/otlp-answer.js'
import { OtlpSender, type OtlpSenderOptions } from '../../../src/sinks/otlp/otlp-sender.js'
import { BODY_TOO_LARGE, startCollector, type CollectorOptions, type CollectorResponder, type FakeCollector } from './fake-collector.js'
import { encodeResponse, encodeStatus } from './otlp-proto.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function collector(responder?: CollectorResponder, options?: CollectorOptions): Promise<FakeCollector> {
  const started = await startCollector(responder, options)
  cleanups.push(() => started.close())
  return started
}

/** A sender with quick retries and batches, and a record of its failure and retry events. */
function sender(options: OtlpSenderOptions) {
  const otlp = new OtlpSender({ batch: { maxWaitMs: 5 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options }, {}, undefined, {})
  const failures: FailureRecord[] = []
  const retries: { delayMs: number; error: string }[] = []
  otlp.on('failure', (failure) => failures.push(failure))
  otlp.on('retry', (retry) => retries.push(retry))
  cleanups.push(() => otlp.close({ timeoutMs: 1000 }))
  return { otlp, failures, retries }
}

const parser = new RecordParser()

function send(target: OtlpSender, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) target.send(parser.parse(JSON.stringify({ level: 30, time: Date.now(), msg: 'm', i })))
}

function ledger(stats: SenderStats): { received: number; delivered: number; failed: number } {
  return { received: stats.received, delivered: stats.delivered, failed: stats.failed }
}

describe('answers', () => {
  it('delivers a batch in one request to /v1/logs with the protobuf content type', async () => {
    const otel = await collector()
    const { otlp } = sender({ url: otel.url })
    send(otlp, 20)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 20, delivered: 20, failed: 0 })
    expect(otel.requests).toHaveLength(1)
    expect(otel.requests[0]).toMatchObject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': 'application/x-protobuf' } })
    expect(otel.accepted().map((r) => r.attributes.i)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)))
  })

  it('retries 429 after the Retry-After it names, then delivers', async () => {
    const otel = await collector((_, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : undefined))
    const { otlp, retries, failures } = sender({ url: otel.url })
    send(otlp, 10)
    await otlp.flush()
    expect(retries).toHaveLength(1)
    expect(retries[0]?.delayMs).toBe(1000)
    expect(retries[0]?.error).toMatch(/HTTP 429 from http:\/\/127\.0\.0\.1:\d+/)
    expect(failures).toHaveLength(0)
    expect(ledger(otlp.stats())).toEqual({ received: 10, delivered: 10, failed: 0 })
    expect(otel.accepted()).toHaveLength(10)
  })

  it.each([502, 503, 504])('retries %i, then delivers', async (status) => {
    const otel = await collector((_, index) => (index < 2 ? { status, body: 'unavailable' } : undefined))
    const { otlp } = sender({ url: otel.url })
    send(otlp, 10)
    await otlp.flush()
    expect(otel.requests).toHaveLength(3)
    expect(ledger(otlp.stats())).toEqual({ received: 10, delivered: 10, failed: 0 })
  })

  it.each([400, 401, 403, 404, 408, 500, 501])('fails the batch for good on %i, with the status and the collector’s reason', async (status) => {
    const otel = await collector(() => ({ status, body: `rejected with ${status}` }))
    const { otlp, failures } = sender({ url: otel.url })
    send(otlp, 10)
    await otlp.flush()
    expect(otel.requests).toHaveLength(1)
    expect(ledger(otlp.stats())).toEqual({ received: 10, delivered: 0, failed: 10 })
    expect(failures).toMatchObject([{ records: 10, attempts: 1, reason: 'permanent', status, error: expect.stringContaining(`HTTP ${status}`) }])
    expect(failures[0]?.error).toContain(`rejected with ${status}`)
  })

  it('splits a batch the collector finds too large (413) until the parts fit, each record once', async () => {
    const otel = await collector((request) => (request.records.length > 3 ? { status: 413, body: 'request entity too large' } : undefined))
    const { otlp } = sender({ url: otel.url, batch: { maxRecords: 10, maxWaitMs: 5 } })
    send(otlp, 10)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 10, delivered: 10, failed: 0 })
    expect(otel.accepted().map((r) => Number(r.attributes.i)).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect(Math.max(...otel.requests.filter((r) => r.records.length <= 3).map((r) => r.records.length))).toBeLessThanOrEqual(3)
  })

  it('fails alone a single record the collector finds too large', async () => {
    const otel = await collector((request) => (request.records.some((r) => r.attributes.i === 4n) ? { status: 413 } : undefined))
    const { otlp, failures } = sender({ url: otel.url })
    send(otlp, 8)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 8, delivered: 7, failed: 1 })
    expect(failures[0]?.error).toMatch(/record too large for the server/)
    expect(otel.accepted().map((r) => r.attributes.i)).not.toContain(4n)
  })

  it('retries a request that times out (a hung collector), then delivers', async () => {
    const otel = await collector((_, index) => (index === 0 ? { hang: true } : undefined))
    const { otlp, retries } = sender({ url: otel.url, pool: { timeoutMs: 200 } })
    send(otlp, 5)
    await otlp.flush()
    expect(retries[0]?.error).toMatch(/timed out/)
    expect(ledger(otlp.stats())).toEqual({ received: 5, delivered: 5, failed: 0 })
  })

  it.each(['http/protobuf', 'http/json'] as const)(
    'splits a batch over the collector’s max_request_body_size (its 400 “request body too large”, never 413) until the parts fit (%s)',
    async (protocol) => {
      // The whole batch's size as sent, learnt from an unlimited collector; the limit is a quarter of it.
      const probe = await collector()
      const first = sender({ url: probe.url, protocol, batch: { maxRecords: 16, maxWaitMs: 5 } })
      send(first.otlp, 16)
      await first.otlp.flush()
      expect(probe.requests).toHaveLength(1)
      const otel = await collector(undefined, { maxRequestBodySize: (probe.requests[0] as { raw: Buffer }).raw.length >> 2 })
      const { otlp, failures } = sender({ url: otel.url, protocol, batch: { maxRecords: 16, maxWaitMs: 5 } })
      send(otlp, 16)
      await otlp.flush()
      expect(failures).toEqual([])
      expect(ledger(otlp.stats())).toEqual({ received: 16, delivered: 16, failed: 0 })
      expect(otel.accepted().map((r) => Number(r.attributes.i)).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i))
      expect(otel.requests.length).toBeGreaterThan(2)
    },
  )

  it('fails alone a record over the collector’s limit, quoting its decoded message', async () => {
    const otel = await collector(undefined, { maxRequestBodySize: 1500 })
    const { otlp, failures } = sender({ url: otel.url })
    send(otlp, 3)
    otlp.send(parser.parse(JSON.stringify({ level: 30, time: Date.now(), msg: 'big', i: 3, pad: 'x'.repeat(3000) })))
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 4, delivered: 3, failed: 1 })
    expect(failures).toHaveLength(1)
    expect(failures[0]?.error).toMatch(/record too large for the server: HTTP 400 from http:\/\/127\.0\.0\.1:\d+: http: request body too large \(413\)$/)
  })

  it.each(['http/protobuf', 'http/json'] as const)('quotes the message of the collector’s google.rpc.Status, decoded (%s)', async (protocol) => {
    const otel = await collector(() => ({ status: 400, error: 'ResourceLogs 0: log record 3 has an invalid trace id' }))
    const { otlp, failures } = sender({ url: otel.url, protocol })
    send(otlp, 5)
    await otlp.flush()
    expect(failures).toMatchObject([{ records: 5, reason: 'permanent', status: 400 }])
    expect(failures[0]?.error).toMatch(/^DeliveryError: HTTP 400 from http:\/\/127\.0\.0\.1:\d+: ResourceLogs 0: log record 3 has an invalid trace id$/)
  })

  it('keeps the words of the standard path in a collector’s message (“logs” is not a secret)', async () => {
    const otel = await collector(() => ({ status: 501, error: 'unknown service opentelemetry.proto.collector.logs.v1.LogsService at /v1/logs' }))
    const { otlp, failures } = sender({ url: otel.url })
    send(otlp, 2)
    await otlp.flush()
    expect(failures[0]?.error).toContain(': unknown service opentelemetry.proto.collector.logs.v1.LogsService at /v1/logs')
  })

  it('retries a 503 Status after its Retry-After, with the decoded message', async () => {
    const otel = await collector((_, index) => (index === 0 ? { status: 503, error: 'sending queue is full', headers: { 'retry-after': '1' } } : undefined))
    const { otlp, retries } = sender({ url: otel.url })
    send(otlp, 4)
    await otlp.flush()
    expect(retries).toMatchObject([{ delayMs: 1000 }])
    expect(retries[0]?.error).toMatch(/^DeliveryError: HTTP 503 from http:\/\/127\.0\.0\.1:\d+: sending queue is full$/)
    expect(ledger(otlp.stats())).toEqual({ received: 4, delivered: 4, failed: 0 })
  })

  it('says where OTLP log endpoints end on a 404 from a URL that does not end in /v1/logs (Loki 3’s /otlp)', async () => {
    const otel = await collector()
    const { otlp, failures } = sender({ url: `${otel.url}/otlp` })
    send(otlp, 2)
    await otlp.flush()
    expect(otel.requests).toHaveLength(0) // the collector's mux answered: no logs request reached it
    expect(failures).toMatchObject([{ records: 2, reason: 'permanent', status: 404 }])
    expect(failures[0]?.error).toMatch(/^DeliveryError: HTTP 404 from http:\/\/127\.0\.0\.1:\d+: 404 page not found \(OTLP\/HTTP log endpoints usually end in \/v1\/logs/)
    expect(failures[0]?.error).toContain('http://loki:3100/otlp/v1/logs')
    // At the standard path a 404 is the server's own business: no hint.
    const other = await collector(() => ({ status: 404, body: 'tenant not found' }))
    const second = sender({ url: other.url })
    send(second.otlp, 1)
    await second.otlp.flush()
    expect(second.failures[0]?.error).toMatch(/: tenant not found$/)
  })

  it('counts a 2xx whose answer breaks off as delivered, without sending it again (a 200 means accepted)', async () => {
    const otel = await collector(() => ({ breakOff: true }))
    const { otlp, retries } = sender({ url: otel.url })
    send(otlp, 5)
    await otlp.flush()
    expect(retries).toEqual([])
    expect(otel.requests).toHaveLength(1)
    expect(ledger(otlp.stats())).toEqual({ received: 5, delivered: 5, failed: 0 })
  })

  it('counts a 2xx whose answer is over the size read as delivered, without sending it again', async () => {
    const otel = await collector(() => ({ body: Buffer.alloc(2 * 1024 * 1024, 0x20) }))
    const { otlp, retries } = sender({ url: otel.url })
    send(otlp, 5)
    await otlp.flush()
    expect(retries).toEqual([])
    expect(otel.requests).toHaveLength(1)
    expect(ledger(otlp.stats())).toEqual({ received: 5, delivered: 5, failed: 0 })
  })

  it('counts a 2xx whose answer is not OTLP (a proxy’s page) as delivered', async () => {
    const otel = await collector(() => ({ body: '<html>ok</html>' }))
    const { otlp } = sender({ url: otel.url })
    send(otlp, 5)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 5, delivered: 5, failed: 0 })
  })
})

describe('partial success', () => {
  it.each(['http/protobuf', 'http/json'] as const)('counts rejectedLogRecords failed with the errorMessage, and does not resend them (%s)', async (protocol) => {
    const otel = await collector((request) => (request.records.length === 10 ? { partial: { rejected: 3, message: 'log records too old' } } : undefined))
    const { otlp, failures } = sender({ url: otel.url, protocol })
    send(otlp, 10)
    await otlp.flush()
    expect(otel.requests).toHaveLength(1)
    expect(otel.requests[0]?.json).toBe(protocol === 'http/json')
    const stats = otlp.stats()
    expect(ledger(stats)).toEqual({ received: 10, delivered: 7, failed: 3 })
    expect(stats.retried).toBe(0)
    expect(failures[0]?.error).toMatch(/rejected 3 of 10 log records: log records too old/)
  })

  it('takes a partial success that rejects nothing (a warning) as full delivery', async () => {
    const otel = await collector(() => ({ partial: { rejected: 0, message: 'some attributes dropped' } }))
    const { otlp } = sender({ url: otel.url })
    send(otlp, 4)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 4, delivered: 4, failed: 0 })
  })

  it('reads the answer in either encoding, whatever was sent, and ignores what it cannot read', () => {
    expect(readPartialSuccess(encodeResponse({ rejected: 5, message: 'bad' }))).toEqual({ rejected: 5, errorMessage: 'bad' })
    expect(readPartialSuccess(encodeResponse())).toBeUndefined()
    expect(readPartialSuccess(Buffer.from(' {"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"x"}}'))).toEqual({ rejected: 2, errorMessage: 'x' })
    expect(readPartialSuccess(Buffer.from('{"partial_success":{"rejected_log_records":4}}'))).toEqual({ rejected: 4, errorMessage: '' })
    expect(readPartialSuccess(Buffer.from('{}'))).toBeUndefined()
    expect(readPartialSuccess(Buffer.from('{"partialSuccess":'))).toBeUndefined()
    expect(readPartialSuccess(Buffer.from([0x0a, 0x05, 0x08]))).toBeUndefined() // cut short
    // Unknown fields are skipped, as protobuf decoders do.
    const withExtra = Buffer.concat([Buffer.from([0x10, 0x01, 0x1d, 1, 2, 3, 4]), encodeResponse({ rejected: 1 })])
    expect(readPartialSuccess(withExtra)).toEqual({ rejected: 1, errorMessage: '' })
  })

  it('reads a protobuf answer from its first byte: a 123-byte partial success starts 0a 7b, a newline and a “{”', () => {
    const answer = encodeResponse({ rejected: 3, message: 'x'.repeat(119) })
    expect([...answer.subarray(0, 4)]).toEqual([0x0a, 0x7b, 0x08, 0x03])
    expect(readPartialSuccess(answer)).toEqual({ rejected: 3, errorMessage: 'x'.repeat(119) })
    // Whatever the request's encoding: a JSON request may get a protobuf answer.
    expect(readPartialSuccess(answer, true)).toEqual({ rejected: 3, errorMessage: 'x'.repeat(119) })
    // And a JSON answer with leading whitespace is still JSON, for either request.
    const json = Buffer.from('\n {"partialSuccess":{"rejectedLogRecords":"2"}}')
    expect(readPartialSuccess(json)).toEqual({ rejected: 2, errorMessage: '' })
    expect(readPartialSuccess(json, true)).toEqual({ rejected: 2, errorMessage: '' })
  })

  it('counts the 123-byte partial success through the sender', async () => {
    const otel = await collector(() => ({ partial: { rejected: 3, message: 'x'.repeat(119) } }))
    const { otlp, failures } = sender({ url: otel.url })
    send(otlp, 10)
    await otlp.flush()
    expect(ledger(otlp.stats())).toEqual({ received: 10, delivered: 7, failed: 3 })
    expect(failures[0]?.error).toContain(`rejected 3 of 10 log records: ${'x'.repeat(100)}`)
  })

  it('reads a google.rpc.Status message in either encoding, and nothing from text that is not one', () => {
    expect(readStatusMessage(encodeStatus(3, BODY_TOO_LARGE))).toBe(BODY_TOO_LARGE)
    expect(readStatusMessage(encodeStatus(3, BODY_TOO_LARGE), true)).toBe(BODY_TOO_LARGE)
    expect(readStatusMessage(encodeStatus(14, 'queue full', [Buffer.from([0x0a, 0x01, 0x41])]))).toBe('queue full')
    expect(readStatusMessage(Buffer.from('{"code":3,"message":"bad json"}'))).toBe('bad json')
    expect(readStatusMessage(Buffer.from('{"code":3,"message":"bad json"}'), true)).toBe('bad json')
    expect(readStatusMessage(Buffer.from('404 page not found\n'))).toBeUndefined()
    expect(readStatusMessage(Buffer.from('<html><body>Bad Gateway</body></html>'))).toBeUndefined()
    expect(readStatusMessage(Buffer.from('rejected with 400'))).toBeUndefined()
    expect(readStatusMessage(encodeStatus(3, ''))).toBeUndefined()
    expect(readStatusMessage(Buffer.alloc(0))).toBeUndefined()
  })
})

describe('credentials', () => {
  it('sends URL credentials as Basic auth and headers as given, and never shows either', async () => {
    const secrets = ['s3cret-pass', 'k3y-abcdef-123456', 'Bearer t0ken-xyz']
    const otel = await collector((request, index) => {
      // A collector that echoes what it got, as error pages do.
      const echo = `bad credentials: ${request.headers.authorization} ${request.headers['x-api-key']} ${request.headers['x-token']}`
      return index === 0 ? { partial: { rejected: 1, message: echo } } : { status: 401, body: echo }
    })
    const { otlp, failures, retries } = sender({
      url: `http://user:s3cret-pass@127.0.0.1:${otel.port}/`,
      headers: { 'x-api-key': 'k3y-abcdef-123456', 'X-Token': 'Bearer t0ken-xyz' },
    })
    send(otlp, 3)
    await otlp.flush()
    send(otlp, 3, 3)
    await otlp.flush()
    expect(otel.requests[0]?.headers).toMatchObject({
      authorization: `Basic ${Buffer.from('user:s3cret-pass').toString('base64')}`,
      'x-api-key': 'k3y-abcdef-123456',
      'x-token': 'Bearer t0ken-xyz',
    })
    expect(ledger(otlp.stats())).toEqual({ received: 6, delivered: 2, failed: 4 })
    const shown = JSON.stringify({ stats: otlp.stats(), failures, retries, endpoint: otlp.endpoint })
    for (const secret of [...secrets, Buffer.from('user:s3cret-pass').toString('base64')]) expect(shown).not.toContain(secret)
    expect(failures.map((f) => f.error).join('\n')).toMatch(/bad credentials/)
  })
})
