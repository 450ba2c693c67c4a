/**
 * NatsSink with a stubbed client: the outcomes a real server cannot be made to give on demand (a
 * PubAck lost, some records of a batch failing, timeouts, a connection closed under a publish),
 * with the client's own error classes.
 */
import { jserrors, JetStreamApiError } from '@nats-io/jetstream/internal'
import { errors } from '@nats-io/transport-node'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import type { NatsClientApi, NatsConnectionLike, NatsSinkOptions, PubAckLike } from '../../../src/sinks/nats/nats-sink.js'
import { NatsSink } from '../../../src/sinks/nats/nats-sink.js'
import { SubjectTemplate } from '../../../src/sinks/nats/nats-subject.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'
import type { Batch, DeliveryResult } from '../../../src/sinks/sink.js'

type Status = { type: string; error?: unknown }

class FakeConnection implements NatsConnectionLike {
  info: { max_payload: number } | undefined = { max_payload: 1024 * 1024 }
  readonly published: { subject: string; payload: string; msgId: string | undefined }[] = []
  closeCalls = 0
  closing: Promise<void> = Promise.resolve()
  flushResult: () => Promise<void> = () => Promise.resolve()
  #closed = false
  #resolveClosed!: () => void
  readonly #closedPromise = new Promise<void>((resolve) => (this.#resolveClosed = resolve))
  readonly #statuses: Status[] = []
  #wake: (() => void) | undefined

  publish(subject: string, payload: Uint8Array, options?: { headers?: unknown }): void {
    if (this.#closed) throw new errors.ClosedConnectionError()
    this.published.push({ subject, payload: Buffer.from(payload).toString(), msgId: (options?.headers as FakeHeaders | undefined)?.values.get('Nats-Msg-Id') })
  }

  flush(): Promise<void> {
    return this.flushResult()
  }

  close(): Promise<void> {
    this.closeCalls++
    this.#closed = true
    this.#resolveClosed()
    this.#wake?.()
    return this.closing
  }

  closed(): Promise<void> {
    return this.#closedPromise
  }

  isClosed(): boolean {
    return this.#closed
  }

  /** Closes it as the server going away does (no close() call from the sink). */
  lose(): void {
    this.#closed = true
    this.#resolveClosed()
    this.#wake?.()
  }

  emitStatus(status: Status): void {
    this.#statuses.push(status)
    this.#wake?.()
  }

  async *status(): AsyncIterable<Status> {
    for (;;) {
      while (this.#statuses.length > 0) yield this.#statuses.shift() as Status
      if (this.#closed) return
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }
}

class FakeHeaders {
  readonly values = new Map<string, string>()
  set(name: string, value: string): void {
    this.values.set(name, value)
  }
}

type Publish = (subject: string, payload: string, msgId: string, n: number) => Promise<PubAckLike>

interface Stub {
  client: NatsClientApi
  connections: FakeConnection[]
  connectOptions: Record<string, unknown>[]
  publishes: { subject: string; msgId: string; timeout: number }[]
  finds: string[]
}

function stub(
  publish: Publish = () => Promise.resolve({ stream: 'LOGS', seq: 1, duplicate: false }),
  find: (subject: string) => Promise<string> = () => Promise.resolve('LOGS'),
  connect: (n: number) => Promise<FakeConnection> = () => Promise.resolve(new FakeConnection()),
): Stub {
  const s: Stub = { connections: [], connectOptions: [], publishes: [], finds: [], client: undefined as unknown as NatsClientApi }
  s.client = {
    async connect(options) {
      s.connectOptions.push(options)
      const nc = await connect(s.connectOptions.length)
      s.connections.push(nc)
      return nc
    },
    headers: () => new FakeHeaders(),
    credsAuthenticator: (creds) => ({ creds }),
    jetstream: () => ({
      publish(subject, payload, options) {
        s.publishes.push({ subject, msgId: options.msgID, timeout: options.timeout })
        return publish(subject, Buffer.from(payload).toString(), options.msgID, s.publishes.length)
      },
    }),
    jetstreamManager: () =>
      Promise.resolve({
        streams: {
          find(subject: string) {
            s.finds.push(subject)
            return find(subject)
          },
        },
      }),
  }
  return s
}

const sinks: NatsSink[] = []
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close()
})

function sink(client: Stub, options: Partial<NatsSinkOptions> & { subjectPattern?: string } = {}): NatsSink {
  const { subjectPattern, ...rest } = options
  const created = new NatsSink({
    servers: ['nats://127.0.0.1:4222'],
    serverNames: 'nats://127.0.0.1:4222',
    subject: SubjectTemplate.parse(subjectPattern ?? 'logs.app') as SubjectTemplate,
    mode: 'jetstream',
    missingStream: 'fail',
    auth: {},
    connectionName: 'pino-courier',
    connectTimeoutMs: 5000,
    fields: new RecordFields(),
    load: () => Promise.resolve(client.client),
    ...rest,
  })
  sinks.push(created)
  return created
}

function batch(n: number, line: (i: number) => string = (i) => `{"level":30,"i":${i}}`): Batch {
  const records = Array.from({ length: n }, (_, i) => createRecord(line(i)))
  return {
    id: 'B',
    records,
    bytes: records.reduce((sum, r) => sum + r.bytes, 0),
    recordId: (i) => `B:${i}`,
    ndjson: () => [Buffer.from(records.map((r) => `${r.line}\n`).join(''))],
  }
}

const context = (signal = new AbortController().signal) => ({ signal, attempt: 1 })
const ack = (duplicate = false): Promise<PubAckLike> => Promise.resolve({ stream: 'LOGS', seq: 1, duplicate })
const apiError = (err_code: number, code: number, description: string) => new JetStreamApiError({ err_code, code, description })
const noResponders = (subject: string) =>
  new jserrors.JetStreamNotEnabled('jetstream is not enabled', {
    cause: new errors.RequestError(`no responders: '${subject}'`, { cause: new errors.NoRespondersError(subject) }),
  })

async function rejection(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeliveryError)
  return error as DeliveryError
}

describe('NatsSink JetStream publish', () => {
  it('publishes every record with its identity as msgID and the line without its newline; resolves when all are acknowledged', async () => {
    const s = stub()
    const target = sink(s)
    target.ackTimeoutMs = 1234
    await expect(target.deliver(batch(3), context())).resolves.toBeUndefined()
    expect(s.publishes).toEqual([
      { subject: 'logs.app', msgId: 'B:0', timeout: 1234 },
      { subject: 'logs.app', msgId: 'B:1', timeout: 1234 },
      { subject: 'logs.app', msgId: 'B:2', timeout: 1234 },
    ])
  })

  it('splits the engine’s chunks (runs of lines) into one payload per record', async () => {
    const payloads: string[] = []
    const s = stub((_subject, payload) => {
      payloads.push(payload)
      return ack()
    })
    const b = batch(3)
    const lines = b.records.map((r) => `${r.line}\n`)
    await sink(s).deliver({ ...b, ndjson: () => [Buffer.from(lines[0] as string), Buffer.from((lines[1] as string) + (lines[2] as string))] }, context())
    expect(payloads).toEqual(b.records.map((r) => r.line))
  })

  it('has every publish of the batch in flight before any PubAck is awaited', async () => {
    const pending: (() => void)[] = []
    const s = stub(() => new Promise((resolve) => pending.push(() => resolve({ stream: 'LOGS', seq: 1, duplicate: false }))))
    const delivered = sink(s).deliver(batch(50), context())
    await vi.waitFor(() => expect(pending).toHaveLength(50))
    for (const release of pending) release()
    await expect(delivered).resolves.toBeUndefined()
  })

  it('counts duplicate PubAcks and treats them as delivered', async () => {
    const s = stub((_s, _p, _id, n) => ack(n % 2 === 0))
    const target = sink(s)
    await expect(target.deliver(batch(4), context())).resolves.toBeUndefined()
    expect(target.duplicates).toBe(2)
  })

  it('names the records to try again when only some PubAcks failed; the acknowledged ones are delivered', async () => {
    const s = stub((_s, _p, id) => (id === 'B:1' || id === 'B:3' ? Promise.reject(new errors.TimeoutError()) : ack()))
    const result = (await sink(s).deliver(batch(5), context())) as DeliveryResult
    expect(result.rejected).toBeUndefined()
    expect(result.retry?.map((r) => r.index)).toEqual([1, 3])
    expect(result.retry?.[0]?.error).toContain('no PubAck in time')
  })

  it('refuses for good the records the stream refuses (max_msg_size), retries the ones a full stream refused', async () => {
    const s = stub((_s, _p, id) => {
      if (id === 'B:0') return Promise.reject(apiError(10054, 400, 'message size exceeds maximum allowed'))
      if (id === 'B:2') return Promise.reject(apiError(10077, 503, 'maximum messages exceeded'))
      return ack()
    })
    const result = (await sink(s).deliver(batch(3), context())) as DeliveryResult
    expect(result.rejected).toEqual([{ index: 0, error: 'message size exceeds maximum allowed (err_code 10054, status 400)', status: 400 }])
    expect(result.retry).toEqual([{ index: 2, error: 'maximum messages exceeded (err_code 10077, status 503)', status: 503 }])
  })

  it('rejects with a transient error when every record is to be tried again (the engine backs off)', async () => {
    const s = stub(() => Promise.reject(apiError(10077, 503, 'maximum bytes exceeded')))
    const error = await rejection(sink(s).deliver(batch(3), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('NATS nats://127.0.0.1:4222: maximum bytes exceeded (err_code 10077, status 503) (all 3 records)')
    expect(error.status).toBe(503)
  })

  it('rejects with a permanent error when every record is refused for the same reason', async () => {
    const s = stub(() => Promise.reject(apiError(10054, 400, 'message size exceeds maximum allowed')))
    const error = await rejection(sink(s).deliver(batch(2), context()))
    expect(error.permanent).toBe(true)
  })

  it("refuses a record over the server's max_payload (with its header) without publishing it", async () => {
    const nc = new FakeConnection()
    const s = stub(undefined, undefined, () => Promise.resolve(nc))
    const target = sink(s)
    // Record 1 is 56 bytes; with 'NATS/1.0\r\nNats-Msg-Id: B:1\r\n\r\n' (30 bytes) 86: at the limit it goes.
    const b = batch(3, (i) => (i === 1 ? `{"i":1,"pad":"${'x'.repeat(40)}"}` : `{"i":${i}}`))
    nc.info = { max_payload: 86 }
    await expect(target.deliver(b, context())).resolves.toBeUndefined()
    expect(s.publishes).toHaveLength(3)
    nc.info = { max_payload: 85 }
    const result = (await target.deliver(b, context())) as DeliveryResult
    expect(result.rejected).toEqual([
      { index: 1, error: "record of 56 bytes (86 with its Nats-Msg-Id header) is over the server's max_payload of 85 bytes: not sent" },
    ])
    expect(s.publishes.slice(3).map((p) => p.msgId)).toEqual(['B:0', 'B:2'])
  })

  it('makes one connection, made on first use, and keeps it; a new one after it is lost', async () => {
    const s = stub()
    const target = sink(s)
    expect(s.connections).toHaveLength(0)
    await target.deliver(batch(1), context())
    await target.deliver(batch(1), context())
    expect(s.connections).toHaveLength(1)
    expect(s.connectOptions[0]).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      reconnect: false,
      debug: false,
      name: 'pino-courier',
      timeout: 5000,
    })
    s.connections[0]?.lose()
    await new Promise((r) => setImmediate(r))
    await target.deliver(batch(1), context())
    expect(s.connections).toHaveLength(2)
  })

  it('concurrent first attempts share one connect', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const s = stub(undefined, undefined, async () => {
      await gate
      return new FakeConnection()
    })
    const target = sink(s)
    const both = Promise.all([target.deliver(batch(1), context()), target.deliver(batch(1), context())])
    release()
    await both
    expect(s.connections).toHaveLength(1)
  })

  it('a connection that cannot be made is retried, naming the server only', async () => {
    const s = stub(undefined, undefined, () => Promise.reject(new errors.ConnectionError('connection refused', { cause: new Error('connect ECONNREFUSED') })))
    const error = await rejection(sink(s).deliver(batch(1), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('NATS nats://127.0.0.1:4222: cannot connect: connection refused')
  })

  it('refused credentials fail for good, and the secret is not in the message', async () => {
    const s = stub(undefined, undefined, () => Promise.reject(new errors.AuthorizationError('Authorization Violation')))
    const target = sink(s, { auth: { user: 'u', pass: 'hunter2-secret' } })
    const error = await rejection(target.deliver(batch(1), context()))
    expect(error.permanent).toBe(true)
    expect(error.message).toBe('NATS nats://127.0.0.1:4222: the server refused the credentials: Authorization Violation')
    expect(error.message).not.toContain('hunter2')
    expect(s.connectOptions[0]).toMatchObject({ user: 'u', pass: 'hunter2-secret' })
  })

  it('a lost connection under the publishes retries them and drops the connection', async () => {
    const s = stub(() => Promise.reject(new errors.RequestError('connection disconnected')))
    const target = sink(s)
    const error = await rejection(target.deliver(batch(2), context()))
    expect(error.message).toContain('connection lost')
    expect(s.connections[0]?.closeCalls).toBe(1)
    await rejection(target.deliver(batch(2), context()))
    expect(s.connections).toHaveLength(2)
  })

  it('honours the signal: rejects with its reason, and drops a connection that gave no PubAck at all', async () => {
    const s = stub(() => new Promise<PubAckLike>(() => undefined))
    const target = sink(s)
    const abort = new AbortController()
    const delivering = target.deliver(batch(3), context(abort.signal))
    await vi.waitFor(() => expect(s.publishes).toHaveLength(3))
    abort.abort(new Error('attempt timed out'))
    await expect(delivering).rejects.toThrow('attempt timed out')
    expect(s.connections[0]?.closeCalls).toBe(1)
  })

  it('keeps the connection when an aborted attempt had PubAcks (a slow server, not a dead one)', async () => {
    const s = stub((_s, _p, _id, n) => (n === 1 ? ack() : new Promise<PubAckLike>(() => undefined)))
    const target = sink(s)
    const abort = new AbortController()
    const delivering = target.deliver(batch(3), context(abort.signal))
    await vi.waitFor(() => expect(s.publishes).toHaveLength(3))
    await new Promise((r) => setImmediate(r))
    abort.abort(new Error('attempt timed out'))
    await expect(delivering).rejects.toThrow('attempt timed out')
    expect(s.connections[0]?.closeCalls).toBe(0)
  })

  it('a signal already aborted publishes nothing', async () => {
    const s = stub()
    const abort = new AbortController()
    abort.abort(new Error('closed'))
    await expect(sink(s).deliver(batch(2), context(abort.signal))).rejects.toThrow('closed')
    expect(s.publishes).toHaveLength(0)
  })
})

describe('NatsSink no responders', () => {
  it("a subject no stream captures: JetStream's API answers 'no stream matches': failed for good, naming the subject; the API is asked once per subject", async () => {
    const s = stub(
      (subject) => (subject === 'logs.web' ? Promise.reject(noResponders(subject)) : ack()),
      () => Promise.reject(new jserrors.StreamNotFoundError({ err_code: 10059, code: 404, description: 'no stream matches subject' })),
    )
    const target = sink(s, { subjectPattern: 'logs.{service}' })
    const result = (await target.deliver(batch(4, (i) => `{"level":30,"service":"${i < 2 ? 'api' : 'web'}"}`), context())) as DeliveryResult
    expect(result.rejected?.map((r) => r.index)).toEqual([2, 3])
    expect(result.rejected?.[0]?.error).toBe(
      "no JetStream stream captures subject 'logs.web': create a stream capturing it (e.g. nats stream add LOGS --subjects 'logs.>')",
    )
    expect(s.finds).toEqual(['logs.web'])
  })

  it("with missingStream: 'retry' the same records are tried again", async () => {
    const s = stub(
      (subject) => Promise.reject(noResponders(subject)),
      () => Promise.reject(new jserrors.StreamNotFoundError({ err_code: 10059, code: 404, description: 'no stream matches subject' })),
    )
    const error = await rejection(sink(s, { missingStream: 'retry' }).deliver(batch(2), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain("no JetStream stream captures subject 'logs.app'")
  })

  it('JetStream not answering its API either (starting, not enabled): retried', async () => {
    const s = stub(
      (subject) => Promise.reject(noResponders(subject)),
      () => Promise.reject(noResponders('$JS.API.STREAM.NAMES')),
    )
    const error = await rejection(sink(s).deliver(batch(2), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain("JetStream is not answering (starting after a restart, or not enabled on the server): no responders for 'logs.app'")
  })

  it('the API timing out is retried too', async () => {
    const s = stub(
      (subject) => Promise.reject(noResponders(subject)),
      () => Promise.reject(new errors.TimeoutError()),
    )
    expect((await rejection(sink(s).deliver(batch(1), context()))).permanent).toBe(false)
  })

  it('a stream found after all (created meanwhile): retried', async () => {
    const s = stub((subject) => Promise.reject(noResponders(subject)))
    const error = await rejection(sink(s).deliver(batch(1), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('though stream LOGS captures it')
  })
})

describe('NatsSink core NATS', () => {
  it('publishes each record with its Nats-Msg-Id header and flushes once: delivered', async () => {
    const nc = new FakeConnection()
    let flushes = 0
    nc.flushResult = () => {
      flushes++
      return Promise.resolve()
    }
    const target = sink(stub(undefined, undefined, () => Promise.resolve(nc)), { mode: 'core' })
    await expect(target.deliver(batch(3), context())).resolves.toBeUndefined()
    expect(nc.published).toEqual([0, 1, 2].map((i) => ({ subject: 'logs.app', payload: `{"level":30,"i":${i}}`, msgId: `B:${i}` })))
    expect(flushes).toBe(1)
  })

  it('a flush that fails (the connection lost before the server answered): the whole batch is retried', async () => {
    const nc = new FakeConnection()
    nc.flushResult = () => Promise.reject(new errors.RequestError('connection disconnected'))
    const target = sink(
      stub(undefined, undefined, () => Promise.resolve(nc)),
      { mode: 'core' },
    )
    const error = await rejection(target.deliver(batch(3), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('before the server confirmed the batch')
    expect(nc.closeCalls).toBe(1)
  })

  it('a publish the server does not permit (an -ERR reported as a status before the PONG) fails those records for good', async () => {
    const nc = new FakeConnection()
    nc.flushResult = () => {
      nc.emitStatus({ type: 'error', error: new errors.PermissionViolationError('Permissions Violation for Publish to "deny.app"', 'publish', 'deny.app') })
      return Promise.resolve()
    }
    const target = sink(
      stub(undefined, undefined, () => Promise.resolve(nc)),
      { mode: 'core', subjectPattern: '{where}.app' },
    )
    const result = (await target.deliver(batch(4, (i) => `{"where":"${i % 2 === 0 ? 'ok' : 'deny'}"}`), context())) as DeliveryResult
    expect(result.rejected?.map((r) => r.index)).toEqual([1, 3])
    expect(result.rejected?.[0]?.error).toContain("not permitted: the server refused a publish to 'deny.app'")
  })

  it('a closed connection refusing the publishes: retried', async () => {
    const nc = new FakeConnection()
    const target = sink(
      stub(undefined, undefined, () => Promise.resolve(nc)),
      { mode: 'core' },
    )
    await target.deliver(batch(1), context())
    // Closed between the check and the publish: the client throws ClosedConnectionError.
    vi.spyOn(nc, 'isClosed').mockReturnValue(false)
    nc.lose()
    const error = await rejection(target.deliver(batch(2), context()))
    expect(error.permanent).toBe(false)
  })
})

describe('NatsSink close', () => {
  it('is idempotent and closes the connection once', async () => {
    const s = stub()
    const target = sink(s)
    await target.deliver(batch(1), context())
    const first = target.close()
    expect(target.close()).toBe(first)
    await first
    expect(s.connections[0]?.closeCalls).toBe(1)
    await expect(target.deliver(batch(1), context())).rejects.toThrow('NATS sender closed')
  })

  it('is bounded when the connection never finishes closing', async () => {
    vi.useFakeTimers()
    try {
      const nc = new FakeConnection()
      nc.closing = new Promise(() => undefined)
      const target = sink(stub(undefined, undefined, () => Promise.resolve(nc)))
      await target.deliver(batch(1), context())
      let done = false
      const closing = target.close().then(() => (done = true))
      await vi.advanceTimersByTimeAsync(1_000)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(1_500)
      await closing
      expect(done).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('closes a connection that was still being made when close() was called', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const nc = new FakeConnection()
    const target = sink(
      stub(undefined, undefined, async () => {
        await gate
        return nc
      }),
    )
    const delivering = target.deliver(batch(1), context())
    await new Promise((r) => setImmediate(r))
    await target.close()
    release()
    await expect(delivering).rejects.toThrow('NATS sender closed')
    expect(nc.closeCalls).toBe(1)
  })

  it('reads a credsFile at connect and passes TLS options through', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'nats-creds-'))
    try {
      const file = join(dir, 'user.creds')
      await writeFile(file, 'CREDS')
      const s = stub()
      await sink(s, { auth: { credsFile: file }, tls: { caFile: '/ca.pem', rejectUnauthorized: false } }).deliver(batch(1), context())
      expect(Buffer.from((s.connectOptions[0]?.authenticator as { creds: Uint8Array }).creds).toString()).toBe('CREDS')
      expect(s.connectOptions[0]?.tls).toEqual({ caFile: '/ca.pem', rejectUnauthorized: false })
      const missing = stub()
      const error = await rejection(sink(missing, { auth: { credsFile: join(dir, 'nope.creds') } }).deliver(batch(1), context()))
      expect(error.permanent).toBe(true)
      expect(error.message).toBe('NATS: cannot read credsFile: ENOENT')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
