/**
 * NatsSink with a stubbed client: the outcomes a real server cannot be made to give on demand (a
 * PubAck lost, some records of a batch failing, timeouts, a connection closed under a publish),
 * with the client's own error classes.
 */
import { jserrors } from '@nats-io/jetstream/internal'
import { errors } from '@nats-io/transport-node'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import type { NatsClientApi, NatsConnectionLike, NatsMsgLike, NatsSinkOptions } from '../../../src/sinks/nats/nats-sink.js'
import { NatsSink } from '../../../src/sinks/nats/nats-sink.js'
import { SubjectTemplate } from '../../../src/sinks/nats/nats-subject.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'
import type { Batch, DeliveryResult } from '../../../src/sinks/sink.js'

type Status = { type: string; error?: unknown }

/** What the fake server answers a JetStream publish with. */
type Answer =
  | { stream: string; seq: number; duplicate?: boolean }
  | { error: { code: number; err_code: number; description: string } }
  | 'no-responders'
  | 'silence'

/** Decides the answer to the n-th publish (1-based); an Error is thrown by publish() itself. */
type Publish = (subject: string, payload: string, msgId: string, n: number) => Answer | Error | Promise<Answer>

const ACK: Answer = { stream: 'LOGS', seq: 1 }

class FakeConnection implements NatsConnectionLike {
  info: { max_payload: number; headers?: boolean } | undefined = { max_payload: 1024 * 1024 }
  readonly published: { subject: string; payload: string; msgId: string | undefined; reply: string | undefined }[] = []
  closeCalls = 0
  closing: Promise<void> = Promise.resolve()
  flushResult: () => Promise<void> = () => Promise.resolve()
  answer: Publish = () => ACK
  #subscriptions: { prefix: string; callback: (error: Error | null, msg: NatsMsgLike) => void }[] = []
  #closed = false
  #resolveClosed!: () => void
  readonly #closedPromise = new Promise<void>((resolve) => (this.#resolveClosed = resolve))
  readonly #statuses: Status[] = []
  #wake: (() => void) | undefined

  publish(subject: string, payload: Uint8Array, options?: { headers?: unknown; reply?: string }): void {
    if (this.#closed) throw new errors.ClosedConnectionError()
    const msgId = (options?.headers as FakeHeaders | undefined)?.values.get('Nats-Msg-Id')
    this.published.push({ subject, payload: Buffer.from(payload).toString(), msgId, reply: options?.reply })
    const reply = options?.reply
    if (reply === undefined) return
    const answer = this.answer(subject, Buffer.from(payload).toString(), msgId ?? '', this.published.length)
    if (answer instanceof Error) throw answer
    void Promise.resolve(answer).then((settled) => this.#reply(reply, settled))
  }

  #reply(reply: string, answer: Answer): void {
    if (answer === 'silence' || this.#closed) return
    const sub = this.#subscriptions.find((s) => reply.startsWith(s.prefix))
    if (sub === undefined) return
    const msg: NatsMsgLike =
      answer === 'no-responders'
        ? { subject: reply, data: new Uint8Array(0), headers: { code: 503, description: '' } }
        : { subject: reply, data: Buffer.from(JSON.stringify(answer)) }
    sub.callback(null, msg)
  }

  subscribe(subject: string, options: { callback: (error: Error | null, msg: NatsMsgLike) => void }): unknown {
    this.#subscriptions.push({ prefix: subject.replace(/\*$/, ''), callback: options.callback })
    return {}
  }

  flush(): Promise<void> {
    return this.flushResult()
  }

  close(): Promise<void> {
    this.closeCalls++
    this.lose()
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

interface Stub {
  client: NatsClientApi
  connections: FakeConnection[]
  connectOptions: Record<string, unknown>[]
  /** Every publish on every connection, in order. */
  readonly publishes: { subject: string; payload: string; msgId: string | undefined; reply: string | undefined }[]
  finds: string[]
}

function stub(
  answer: Publish = () => ACK,
  find: (subject: string) => Promise<string> = () => Promise.resolve('LOGS'),
  connect: (n: number) => Promise<FakeConnection> = () => Promise.resolve(new FakeConnection()),
): Stub {
  let inboxes = 0
  const s: Stub = {
    connections: [],
    connectOptions: [],
    finds: [],
    get publishes() {
      return s.connections.flatMap((c) => c.published)
    },
    client: {
      async connect(options) {
        s.connectOptions.push(options)
        const nc = await connect(s.connectOptions.length)
        nc.answer = answer
        s.connections.push(nc)
        return nc
      },
      headers: () => new FakeHeaders(),
      createInbox: () => `_INBOX.test${inboxes++}`,
      credsAuthenticator: (creds) => ({ creds }),
      jetstreamManager: () =>
        Promise.resolve({
          streams: {
            find(subject: string) {
              s.finds.push(subject)
              return find(subject)
            },
          },
        }),
    },
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
const ack = (duplicate = false): Answer => ({ stream: 'LOGS', seq: 1, duplicate })
const apiError = (err_code: number, code: number, description: string): Answer => ({ error: { code, err_code, description } })
/** The JetStream API not answering, as the client's manager throws it. */
const apiNoResponders = (subject: string) =>
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
  it('publishes every record with its identity as Nats-Msg-Id, the line without its newline, a reply subject each; resolves when all are acknowledged', async () => {
    const s = stub()
    await expect(sink(s).deliver(batch(3), context())).resolves.toBeUndefined()
    expect(s.publishes).toEqual([0, 1, 2].map((i) => ({ subject: 'logs.app', payload: `{"level":30,"i":${i}}`, msgId: `B:${i}`, reply: `_INBOX.test0.${i}` })))
  })

  it('splits the engine’s chunks (runs of lines) into one payload per record', async () => {
    const s = stub()
    const b = batch(3)
    const lines = b.records.map((r) => `${r.line}\n`)
    await sink(s).deliver({ ...b, ndjson: () => [Buffer.from(lines[0] as string), Buffer.from((lines[1] as string) + (lines[2] as string))] }, context())
    expect(s.publishes.map((p) => p.payload)).toEqual(b.records.map((r) => r.line))
  })

  it('keeps one payload, subject and Nats-Msg-Id per record when a record made in-process has a raw newline in its JSON', async () => {
    // createRecord accepts JSON with a newline between its tokens: the NDJSON then has one more line
    // than the batch has records. Split by newline, the fragments went as records of their own and
    // every later record took the next one's Nats-Msg-Id: the stream then dropped a real record as a
    // "duplicate" of a fragment.
    const lines = ['{"level":30,"i":0}', '{"level":30,\n"i":1}', '{"level":30,"i":2}']
    const records = lines.map((l) => createRecord(l))
    expect(records[1]?.line).toContain('\n')
    const all = Buffer.from(records.map((r) => `${r.line}\n`).join(''))
    const made: Batch = { id: 'NL', records, bytes: all.length, recordId: (i) => `NL:${i}`, ndjson: () => [all] }
    const s = stub((_subject, _payload, msgId) => (msgId === 'NL:2' ? { error: { code: 400, err_code: 10054, description: 'message size exceeds maximum allowed' } } : ACK))
    const result = (await sink(s).deliver(made, context())) as DeliveryResult
    expect(s.publishes.map((p) => [p.payload, p.msgId])).toEqual(lines.map((l, i) => [l, `NL:${i}`]))
    expect(result.rejected?.map((r) => r.index)).toEqual([2])
  })

  it('has every publish of the batch out before any PubAck comes', async () => {
    const pending: (() => void)[] = []
    const s = stub(() => new Promise<Answer>((resolve) => pending.push(() => resolve(ACK))))
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

  it('names the records whose PubAck did not come in time for a retry; the acknowledged ones are delivered; the connection is kept', async () => {
    const s = stub((_s, _p, id) => (id === 'B:1' || id === 'B:3' ? 'silence' : ACK))
    const target = sink(s)
    target.ackTimeoutMs = 50
    const result = (await target.deliver(batch(5), context())) as DeliveryResult
    expect(result.rejected).toBeUndefined()
    expect(result.retry).toEqual([
      { index: 1, error: "no PubAck within 50 ms of the attempt's start" },
      { index: 3, error: "no PubAck within 50 ms of the attempt's start" },
    ])
    expect(s.connections[0]?.closeCalls).toBe(0)
  })

  it('waits for PubAcks until ackTimeoutMs after the attempt started, the connect included', async () => {
    vi.useFakeTimers()
    try {
      const s = stub(
        () => 'silence',
        undefined,
        () => new Promise((resolve) => setTimeout(() => resolve(new FakeConnection()), 80)),
      )
      const target = sink(s)
      target.ackTimeoutMs = 100
      let settled = false
      const delivering = target.deliver(batch(1), context()).then(
        () => (settled = true),
        () => (settled = true),
      )
      await vi.advanceTimersByTimeAsync(80)
      expect(s.publishes).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(15)
      expect(settled).toBe(false)
      await vi.advanceTimersByTimeAsync(10)
      expect(settled).toBe(true)
      await delivering
    } finally {
      vi.useRealTimers()
    }
  })

  it('no PubAck at all within the time: all retried, and the connection dropped (it may be dead without knowing)', async () => {
    const s = stub(() => 'silence')
    const target = sink(s)
    target.ackTimeoutMs = 30
    const error = await rejection(target.deliver(batch(3), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe("NATS nats://127.0.0.1:4222: no PubAck within 30 ms of the attempt's start (all 3 records)")
    expect(s.connections[0]?.closeCalls).toBe(1)
  })

  it('a PubAck that comes after its batch gave up on it is ignored', async () => {
    const late: (() => void)[] = []
    const s = stub(() => new Promise<Answer>((resolve) => late.push(() => resolve(ACK))))
    const target = sink(s)
    target.ackTimeoutMs = 20
    await rejection(target.deliver(batch(2), context()))
    for (const release of late) release()
    await new Promise((r) => setImmediate(r))
    expect(target.duplicates).toBe(0)
  })

  it('refuses for good the records the stream refuses (max_msg_size), retries the ones a full stream refused', async () => {
    const s = stub((_s, _p, id) => {
      if (id === 'B:0') return apiError(10054, 400, 'message size exceeds maximum allowed')
      if (id === 'B:2') return apiError(10077, 503, 'maximum messages exceeded')
      return ACK
    })
    const result = (await sink(s).deliver(batch(3), context())) as DeliveryResult
    expect(result.rejected).toEqual([{ index: 0, error: 'message size exceeds maximum allowed (err_code 10054, status 400)', status: 400 }])
    expect(result.retry).toEqual([{ index: 2, error: 'maximum messages exceeded (err_code 10077, status 503)', status: 503 }])
  })

  it('rejects with a transient error when every record is to be tried again (the engine backs off)', async () => {
    const s = stub(() => apiError(10077, 503, 'maximum bytes exceeded'))
    const error = await rejection(sink(s).deliver(batch(3), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('NATS nats://127.0.0.1:4222: maximum bytes exceeded (err_code 10077, status 503) (all 3 records)')
    expect(error.status).toBe(503)
  })

  it('rejects with a permanent error when every record is refused for the same reason', async () => {
    const s = stub(() => apiError(10054, 400, 'message size exceeds maximum allowed'))
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

  it("a publish the client refuses at once (its own max_payload check, an invalid subject) fails that record for good", async () => {
    const s = stub((_s, _p, id) => (id === 'B:1' ? errors.InvalidArgumentError.format('payload', 'max_payload size exceeded') : ACK))
    const result = (await sink(s).deliver(batch(3), context())) as DeliveryResult
    expect(result.rejected).toEqual([{ index: 1, error: "'payload' max_payload size exceeded" }])
  })

  it('a publish the server does not permit (an -ERR the client reports as a status; no PubAck comes) fails those records for good', async () => {
    const s = stub((subject) => (subject === 'deny.app' ? 'silence' : ACK))
    const target = sink(s, { subjectPattern: '{where}.app' })
    target.ackTimeoutMs = 5_000
    const delivering = target.deliver(batch(4, (i) => `{"where":"${i % 2 === 0 ? 'ok' : 'deny'}"}`), context())
    await vi.waitFor(() => expect(s.publishes).toHaveLength(4))
    s.connections[0]?.emitStatus({ type: 'error', error: new errors.PermissionViolationError('Permissions Violation for Publish to "deny.app"', 'publish', 'deny.app') })
    const result = (await delivering) as DeliveryResult
    expect(result.rejected?.map((r) => r.index)).toEqual([1, 3])
    expect(result.rejected?.[0]?.error).toBe("not permitted: the server refused a publish to 'deny.app' (permissions violation)")
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

  it('a connect that times out is retried, saying so', async () => {
    const s = stub(undefined, undefined, () => Promise.reject(new errors.TimeoutError()))
    const error = await rejection(sink(s).deliver(batch(1), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('NATS nats://127.0.0.1:4222: cannot connect: no answer within 5000 ms')
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

  it('a connection lost while PubAcks are awaited: those records are retried at once (not at the deadline), and a new connection is made', async () => {
    const s = stub((_s, _p, id) => (id === 'B:0' ? ACK : 'silence'))
    const target = sink(s)
    target.ackTimeoutMs = 60_000
    const delivering = target.deliver(batch(3), context())
    await vi.waitFor(() => expect(s.publishes).toHaveLength(3))
    await new Promise((r) => setImmediate(r))
    s.connections[0]?.lose()
    const result = (await delivering) as DeliveryResult
    expect(result.retry).toEqual([
      { index: 1, error: 'connection lost before the PubAck' },
      { index: 2, error: 'connection lost before the PubAck' },
    ])
    await target.deliver(batch(1), context())
    expect(s.connections).toHaveLength(2)
  })

  it('honours the signal: rejects with its reason, and drops a connection that gave no PubAck at all', async () => {
    const s = stub(() => 'silence')
    const target = sink(s)
    const abort = new AbortController()
    const delivering = target.deliver(batch(3), context(abort.signal))
    await vi.waitFor(() => expect(s.publishes).toHaveLength(3))
    abort.abort(new Error('attempt timed out'))
    await expect(delivering).rejects.toThrow('attempt timed out')
    expect(s.connections[0]?.closeCalls).toBe(1)
  })

  it('keeps the connection when an aborted attempt had PubAcks (a slow server, not a dead one)', async () => {
    const s = stub((_s, _p, _id, n) => (n === 1 ? ACK : 'silence'))
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
  const streamNotFound = () => Promise.reject(new jserrors.StreamNotFoundError({ err_code: 10059, code: 404, description: 'no stream matches subject' }))

  it("a subject no stream captures: JetStream's API answers 'no stream matches': failed for good, naming the subject; the API is asked once per subject", async () => {
    const s = stub((subject) => (subject === 'logs.web' ? 'no-responders' : ACK), streamNotFound)
    const target = sink(s, { subjectPattern: 'logs.{service}' })
    const result = (await target.deliver(batch(4, (i) => `{"level":30,"service":"${i < 2 ? 'api' : 'web'}"}`), context())) as DeliveryResult
    expect(result.rejected?.map((r) => r.index)).toEqual([2, 3])
    expect(result.rejected?.[0]?.error).toBe(
      "no JetStream stream captures subject 'logs.web': create a stream capturing it (e.g. nats stream add LOGS --subjects 'logs.>')",
    )
    expect(s.finds).toEqual(['logs.web'])
  })

  it("with missingStream: 'retry' the same records are tried again", async () => {
    const s = stub(() => 'no-responders', streamNotFound)
    const error = await rejection(sink(s, { missingStream: 'retry' }).deliver(batch(2), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain("no JetStream stream captures subject 'logs.app'")
  })

  it('JetStream not answering its API either (starting, not enabled): retried', async () => {
    const s = stub(
      () => 'no-responders',
      () => Promise.reject(apiNoResponders('$JS.API.STREAM.NAMES')),
    )
    const error = await rejection(sink(s).deliver(batch(2), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain("JetStream is not answering (starting after a restart, or not enabled on the server): no responders for 'logs.app'")
  })

  it('the API timing out is retried too', async () => {
    const s = stub(
      () => 'no-responders',
      () => Promise.reject(new errors.TimeoutError()),
    )
    expect((await rejection(sink(s).deliver(batch(1), context()))).permanent).toBe(false)
  })

  it('the API refused by permissions: retried (a missing stream and JetStream not ready cannot be told apart), naming the permission', async () => {
    const violation = new errors.PermissionViolationError('Permissions Violation for Publish to "$JS.API.STREAM.NAMES"', 'publish', '$JS.API.STREAM.NAMES')
    const s = stub(
      () => 'no-responders',
      () => Promise.reject(new errors.RequestError(violation.message, { cause: violation })),
    )
    const error = await rejection(sink(s).deliver(batch(1), context()))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('the user needs publish permission on $JS.API.STREAM.NAMES')
  })

  it('a stream found after all (created meanwhile): retried', async () => {
    const s = stub(() => 'no-responders')
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

  it('a server that takes no headers (headers: false in its INFO) gets core publishes without Nats-Msg-Id; JetStream mode fails for good, saying why', async () => {
    // nats.js sent the HPUB anyway and the server closed the connection on it: every attempt was
    // "connection lost", retried until the records failed (for ever with a spool).
    const nc = new FakeConnection()
    nc.info = { max_payload: 1024 * 1024, headers: false }
    const core = stub(undefined, undefined, () => Promise.resolve(nc))
    await sink(core, { mode: 'core' }).deliver(batch(2), context())
    expect(nc.published.map((p) => p.msgId)).toEqual([undefined, undefined])
    const js = new FakeConnection()
    js.info = { max_payload: 1024 * 1024, headers: false }
    const error = await rejection(sink(stub(undefined, undefined, () => Promise.resolve(js)), {}).deliver(batch(2), context()))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('the server takes no message headers')
    expect(js.published).toHaveLength(0)
  })

  it('a connection lost while the flush waits for its PONG: retried at once (nats.js never settles that flush)', async () => {
    // With reconnection off, nats.js closes the connection without rejecting a flush() under way:
    // the attempt waited for its whole time limit before the batch went again.
    const nc = new FakeConnection()
    nc.flushResult = () => new Promise<void>(() => undefined)
    const target = sink(
      stub(undefined, undefined, () => Promise.resolve(nc)),
      { mode: 'core' },
    )
    let settled: unknown
    const attempt = target.deliver(batch(3), context()).then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = error),
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(nc.published).toHaveLength(3)
    nc.lose()
    for (let i = 0; i < 20 && settled === undefined; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBeInstanceOf(DeliveryError)
    expect((settled as DeliveryError).permanent).toBe(false)
    expect((settled as DeliveryError).message).toContain('connection lost before the server confirmed the batch')
    void attempt
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
      const { nkeys } = await import('@nats-io/transport-node')
      const seed = new TextDecoder().decode(nkeys.createUser().getSeed())
      const creds = (jwt: string, key: string): string =>
        `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n\n-----BEGIN USER NKEY SEED-----\n${key}\n------END USER NKEY SEED------\n\n*************************************************************\n`
      await writeFile(file, creds('eyJ0eXAiOiJKV1QifQ.e30.sig', seed))
      const s = stub()
      await sink(s, { auth: { credsFile: file }, tls: { caFile: '/ca.pem', rejectUnauthorized: false } }).deliver(batch(1), context())
      expect(Buffer.from((s.connectOptions[0]?.authenticator as { creds: Uint8Array }).creds).toString()).toContain(seed)
      expect(s.connectOptions[0]?.tls).toEqual({ caFile: '/ca.pem', rejectUnauthorized: false })
      // A file rotated into one the client cannot use fails for good, where the client's own failure
      // inside its connect was retried for ever; its contents are never shown.
      const real = { ...stub().client, credsAuthenticator: (await import('@nats-io/transport-node')).credsAuthenticator }
      await writeFile(file, 'SUsecret-seed-text, no blocks')
      const junk = await rejection(sink({ ...stub(), client: real }, { auth: { credsFile: file } }).deliver(batch(1), context()))
      expect(junk.permanent).toBe(true)
      expect(junk.message).toMatch(/^NATS: credsFile holds no user JWT and NKey seed/)
      await writeFile(file, creds('eyJ0eXAiOiJKV1QifQ.e30.sig', 'SUAsecretnotaseed'))
      const bad = await rejection(sink({ ...stub(), client: real }, { auth: { credsFile: file } }).deliver(batch(1), context()))
      expect(bad.permanent).toBe(true)
      expect(bad.message).toBe('NATS: credsFile: its NKey seed does not decode')
      expect(`${junk.message}${bad.message}`).not.toMatch(/secret/)
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
