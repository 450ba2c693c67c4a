/**
 * The Redis sink against a fake client: the commands it sends, how each command's reply becomes the
 * records' outcome, the connection's handshake and its loss, the attempt's signal, and close.
 */
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import type { Batch, DeliveryResult } from '../../../src/sinks/sink.js'
import { recordLines } from '../../../src/sinks/ndjson.js'
import { RedisSink, LIST_PUSH_CHUNK, type RedisSinkOptions } from '../../../src/sinks/redis/redis-sink.js'
import { fakeFactory, replyError, socketError, type FakeBehaviour } from './fake-redis.js'

const line = (i: number): string => `{"level":30,"i":${i}}`

/** A batch as the engine makes them: NDJSON in runs of several lines, stable record ids. */
function batch(n: number, id = 'b1'): Batch {
  const records = Array.from({ length: n }, (_, i) => createRecord(line(i)))
  const text = records.map((r) => `${r.line}\n`).join('')
  // Two runs, cut between records, as the record log gives them.
  const cut = Buffer.byteLength(records.slice(0, Math.floor(n / 2)).map((r) => `${r.line}\n`).join(''))
  const all = Buffer.from(text)
  return {
    id,
    records,
    bytes: all.length,
    recordId: (index) => `${id}:${index}`,
    ndjson: () => [all.subarray(0, cut), all.subarray(cut)].filter((b) => b.length > 0),
  }
}

function sink(options: Partial<RedisSinkOptions> = {}, behaviour: FakeBehaviour = {}) {
  const factory = fakeFactory(behaviour)
  const created = new RedisSink(
    { host: '127.0.0.1', port: 6379, key: 'logs', mode: 'stream', field: 'line', idField: 'id', endpoint: 'redis://127.0.0.1:6379', ...options },
    factory,
  )
  return { sink: created, factory, client: () => factory.clients[0] }
}

const attempt = (signal = new AbortController().signal) => ({ signal, attempt: 1 })
const text = (args: readonly unknown[]): string[] => args.map((a) => (Buffer.isBuffer(a) ? a.toString() : String(a)))

async function rejection(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeliveryError)
  return error as DeliveryError
}

describe('recordLines (the lines the redis sink sends)', () => {
  it('gives each record its line, without the newline, across the runs the log gives', () => {
    expect(recordLines(batch(7), { copy: false }).map(String)).toEqual(Array.from({ length: 7 }, (_, i) => line(i)))
  })

  it('keeps one line per record when a record made in-process has a raw newline in its JSON whitespace', async () => {
    // createRecord accepts JSON with a newline between its tokens: the NDJSON then has one more line
    // than the batch has records, and a split by newline would send two fragments for one record and
    // shift every later record's reply (and identity) by one.
    const lines = [line(0), '{"level":30,\n"i":1}', line(2)]
    const records = lines.map((l) => createRecord(l))
    expect(records[1]?.line).toContain('\n')
    const all = Buffer.from(records.map((r) => `${r.line}\n`).join(''))
    const made: Batch = { id: 'nl', records, bytes: all.length, recordId: (i) => `nl:${i}`, ndjson: () => [all] }
    expect(recordLines(made, { copy: false }).map(String)).toEqual(lines)
    const { sink: s, client } = sink({}, { command: (_args, index) => (index === 2 ? replyError('WRONGTYPE Operation against a key holding the wrong kind of value') : undefined) })
    const result = (await s.deliver(made, attempt())) as DeliveryResult
    expect(client()?.pipelines[0]?.map((c) => text(c).slice(4))).toEqual(lines.map((l, i) => [l, 'id', `nl:${i}`]))
    expect(result.rejected).toEqual([{ index: 2, error: 'WRONGTYPE Operation against a key holding the wrong kind of value' }])
  })

  it('reads hand-made batches (no ndjson) too', () => {
    const records = [createRecord(line(0)), createRecord(line(1))]
    expect(recordLines({ id: 'x', records, bytes: 0 }, { copy: false }).map(String)).toEqual([line(0), line(1)])
  })
})

describe('deliver: stream mode', () => {
  it('sends one XADD per record in one pipeline: the line in `line`, the record id in `id`, a server-made entry id', async () => {
    const { sink: s, client } = sink()
    await expect(s.deliver(batch(3), attempt())).resolves.toBeUndefined()
    expect(client()?.pipelines).toHaveLength(1)
    expect(client()?.pipelines[0]?.map(text)).toEqual([0, 1, 2].map((i) => ['xadd', 'logs', '*', 'line', line(i), 'id', `b1:${i}`]))
  })

  it('trims with MAXLEN ~ when maxLen is set, names its fields as told, and leaves the id out when asked', async () => {
    const { sink: s, client } = sink({ maxLen: 1000, field: 'msg', idField: undefined })
    await s.deliver(batch(1), attempt())
    expect(client()?.pipelines[0]?.map(text)).toEqual([['xadd', 'logs', 'MAXLEN', '~', '1000', '*', 'msg', line(0)]])
  })

  it('maps each reply to its record: OOM retried, WRONGTYPE refused for good, the rest delivered', async () => {
    const { sink: s } = sink(
      {},
      { command: (_args, index) => (index === 1 ? replyError("OOM command not allowed when used memory > 'maxmemory'.") : index === 3 ? replyError('WRONGTYPE Operation against a key holding the wrong kind of value') : undefined) },
    )
    const result = (await s.deliver(batch(5), attempt())) as DeliveryResult
    expect(result.retry).toEqual([{ index: 1, error: "OOM command not allowed when used memory > 'maxmemory'." }])
    expect(result.rejected).toEqual([{ index: 3, error: 'WRONGTYPE Operation against a key holding the wrong kind of value' }])
  })

  it('one transient error for every record: a retryable error for the batch, naming the server and key', async () => {
    const { sink: s } = sink({}, { command: () => replyError("OOM command not allowed when used memory > 'maxmemory'.") })
    const error = await rejection(s.deliver(batch(4), attempt()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe("redis redis://127.0.0.1:6379: XADD logs: OOM command not allowed when used memory > 'maxmemory'.")
  })

  it('one permanent error for every record: a failure for good (WRONGTYPE)', async () => {
    const { sink: s } = sink({}, { command: () => replyError('WRONGTYPE Operation against a key holding the wrong kind of value') })
    const error = await rejection(s.deliver(batch(4), attempt()))
    expect(error.permanent).toBe(true)
    expect(error.message).toMatch(/XADD logs: WRONGTYPE/)
  })

  it('READONLY (a replica after a failover) is retried on a new connection', async () => {
    let readonly = true
    const { sink: s, client } = sink({}, { command: () => (readonly ? replyError("READONLY You can't write against a read only replica.") : undefined) })
    const error = await rejection(s.deliver(batch(2), attempt()))
    expect(error.permanent).toBe(false)
    expect(client()?.disconnects).toBe(1)
    readonly = false
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
    expect(client()?.connects).toBe(2)
  })
})

describe('deliver: list mode', () => {
  it(`sends RPUSH key line…, at most ${LIST_PUSH_CHUNK} lines a command, all in one pipeline`, async () => {
    const { sink: s, client } = sink({ mode: 'list' })
    const n = LIST_PUSH_CHUNK * 2 + 5
    await expect(s.deliver(batch(n), attempt())).resolves.toBeUndefined()
    const commands = client()?.pipelines[0]?.map(text) ?? []
    expect(commands.map((c) => c.length)).toEqual([LIST_PUSH_CHUNK + 2, LIST_PUSH_CHUNK + 2, 7])
    expect(commands.every((c) => c[0] === 'rpush' && c[1] === 'logs')).toBe(true)
    expect(commands.flatMap((c) => c.slice(2))).toEqual(Array.from({ length: n }, (_, i) => line(i)))
  })

  it('a failed RPUSH retries its own records only: the others were pushed (each RPUSH is all or nothing)', async () => {
    const { sink: s } = sink({ mode: 'list' }, { command: (_args, index) => (index === 1 ? replyError("OOM command not allowed when used memory > 'maxmemory'.") : 5) })
    const result = (await s.deliver(batch(LIST_PUSH_CHUNK * 2 + 5), attempt())) as DeliveryResult
    expect(result.retry?.map((r) => r.index)).toEqual(Array.from({ length: LIST_PUSH_CHUNK }, (_, k) => LIST_PUSH_CHUNK + k))
    expect(result.rejected).toEqual([])
  })
})

describe('the connection', () => {
  it('connects on first use, authenticates with the username and password, selects the db, names itself; once', async () => {
    const { sink: s, client } = sink({ username: 'logger', password: 's3cret-pw', db: 3 })
    await s.deliver(batch(1), attempt())
    await s.deliver(batch(1), attempt())
    expect(client()?.connects).toBe(1)
    expect(client()?.calls.map((c) => [c.command, ...text(c.args)])).toEqual([
      ['AUTH', 'logger', 's3cret-pw'],
      ['SELECT', '3'],
      ['CLIENT', 'SETNAME', 'pino-courier'],
    ])
    expect(client()?.listeners('error')).toBe(1)
  })

  it('a refused connection is retried, with the socket error; the next attempt connects again', async () => {
    let up = false
    const { sink: s, client } = sink({}, { connect: () => {
      if (!up) throw socketError('ECONNREFUSED')
    } })
    const error = await rejection(s.deliver(batch(1), attempt()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('redis redis://127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379')
    up = true
    await expect(s.deliver(batch(1), attempt())).resolves.toBeUndefined()
    expect(client()?.connects).toBe(2)
  })

  it('a wrong password fails for good, with the server\'s words and never the password', async () => {
    const { sink: s } = sink({ password: 'hunter2-very-secret' }, { call: (command) => {
      if (command === 'AUTH') throw replyError('WRONGPASS invalid username-password pair or user is disabled. (hunter2-very-secret)')
    } })
    const error = await rejection(s.deliver(batch(1), attempt()))
    expect(error.permanent).toBe(true)
    expect(error.message).toMatch(/^redis redis:\/\/127\.0\.0\.1:6379: WRONGPASS invalid username-password pair/)
    expect(error.message).not.toContain('hunter2')
    expect(error.cause).toBeUndefined()
  })

  it('a password given to a server without one is no error', async () => {
    const { sink: s } = sink({ password: 'pw12' }, { call: (command) => {
      if (command === 'AUTH') throw replyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?')
    } })
    await expect(s.deliver(batch(1), attempt())).resolves.toBeUndefined()
  })

  it('a server that refuses the connection in its first reply (max clients): retried with the server\'s words, nothing sent', async () => {
    let full = true
    const { sink: s, client } = sink({}, { call: (command) => {
      if (command === 'CLIENT' && full) {
        // Redis answers the first command with this error and closes the connection.
        client()?.disconnect()
        throw replyError('ERR max number of clients reached')
      }
    } })
    const error = await rejection(s.deliver(batch(2), attempt()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('redis redis://127.0.0.1:6379: ERR max number of clients reached')
    expect(client()?.pipelines).toHaveLength(0)
    full = false
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
    expect(client()?.connects).toBe(2)
  })

  it('a connection closed during the handshake (no reply to CLIENT SETNAME): the attempt fails with the socket\'s reason, nothing sent', async () => {
    let closing = true
    const { sink: s, client } = sink({}, { call: (command) => {
      if (command === 'CLIENT' && closing) {
        // Not a Redis server (an HTTP port): the client's parser gives up and the connection closes.
        client()?.emit('error', new Error('Protocol error, got "H" as reply type byte'))
        client()?.disconnect()
        throw new Error('Connection is closed.')
      }
    } })
    const error = await rejection(s.deliver(batch(2), attempt()))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe('redis redis://127.0.0.1:6379: Protocol error, got "H" as reply type byte')
    expect(client()?.pipelines).toHaveLength(0)
    closing = false
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
  })

  it.each([
    "NOPERM User logger has no permissions to run the 'client|setname' command",
    "ERR unknown command 'CLIENT', with args beginning with: 'SETNAME' 'pino-courier' ",
    "ERR unknown subcommand 'SETNAME'. Try CLIENT HELP.",
  ])('a CLIENT SETNAME the server or the ACL refuses is no error: %s', async (message) => {
    const { sink: s, client } = sink({}, { call: (command) => {
      if (command === 'CLIENT') throw replyError(message)
    } })
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
    expect(client()?.pipelines).toHaveLength(1)
  })

  it('a server that refuses every client (protected mode: DENIED, then it closes) fails the attempt at connect with its words', async () => {
    // The reply is read before the connection's close: the client still says 'ready'.
    const denied = 'DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.'
    const { sink: s, client } = sink({}, { call: (command) => {
      if (command === 'CLIENT') throw replyError(denied)
    } })
    const error = await rejection(s.deliver(batch(2), attempt()))
    expect(error.message).toBe(`redis redis://127.0.0.1:6379: ${denied}`)
    expect(error.permanent).toBe(true)
    expect(client()?.pipelines).toHaveLength(0)
  })

  it('a connection lost under the pipeline: the records without a reply are retried', async () => {
    const { sink: s } = sink({}, { command: (_args, index) => (index >= 2 ? new Error('Connection is closed.') : undefined) })
    const result = (await s.deliver(batch(4), attempt())) as DeliveryResult
    expect(result.retry).toEqual([
      { index: 2, error: 'Connection is closed.' },
      { index: 3, error: 'Connection is closed.' },
    ])
  })

  it('the attempt\'s signal: a hung pipeline is given up, the connection dropped, the reason thrown; the next attempt reconnects', async () => {
    let release = (): void => undefined
    const behaviour: FakeBehaviour = { hold: new Promise<void>((resolve) => (release = resolve)) }
    const { sink: s, client } = sink({}, behaviour)
    const abort = new AbortController()
    const pending = s.deliver(batch(2), attempt(abort.signal))
    await new Promise((r) => setTimeout(r, 10))
    abort.abort(new Error('delivery attempt timed out after 10000 ms'))
    const error = await rejection(pending)
    expect(error.permanent).toBe(false)
    expect(error.message).toMatch(/XADD logs: delivery attempt timed out/)
    expect(client()?.disconnects).toBe(1)
    delete behaviour.hold
    release()
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
    expect(client()?.connects).toBe(2)
  })

  it('a connect cut off by the attempt\'s signal (a blackholed address): the next attempt connects anew, not failed by the old one', async () => {
    let hang = true
    const { sink: s, client } = sink({}, { connectHold: () => (hang ? new Promise<void>(() => undefined) : undefined) })
    const abort = new AbortController()
    const pending = s.deliver(batch(2), attempt(abort.signal))
    await new Promise((r) => setTimeout(r, 10))
    abort.abort(new Error('delivery attempt timed out after 10000 ms'))
    expect((await rejection(pending)).message).toMatch(/timed out/)
    // The next attempt, at once: it must make a connection of its own, not wait on the one given up.
    hang = false
    await expect(s.deliver(batch(2), attempt())).resolves.toBeUndefined()
    expect(client()?.connects).toBe(2)
    expect(client()?.pipelines).toHaveLength(1)
  })

  it('the socket holds the process open only while a pipeline waits for its replies', async () => {
    let release = (): void => undefined
    const behaviour: FakeBehaviour = {}
    const { sink: s, client } = sink({}, behaviour)
    // Idle after a first batch: unref'd (the fake's socket starts ref'd, as Node's do).
    await s.deliver(batch(1), attempt())
    expect(client()?.stream.referenced).toBe(false)
    behaviour.hold = new Promise<void>((resolve) => (release = resolve))
    const pending = s.deliver(batch(2), attempt())
    await new Promise((r) => setTimeout(r, 10))
    expect(client()?.pipelines).toHaveLength(2)
    expect(client()?.stream.referenced).toBe(true)
    release()
    await pending
    expect(client()?.stream.referenced).toBe(false)
  })

  it('close drops the connection, is idempotent, and a delivery after it fails', async () => {
    const { sink: s, client } = sink()
    await s.deliver(batch(1), attempt())
    await Promise.all([s.close(), s.close()])
    await s.close()
    expect(client()?.status).toBe('end')
    expect(client()?.disconnects).toBe(1)
    await expect(s.deliver(batch(1), attempt())).rejects.toThrow(/closed/)
  })

  it('close before any delivery makes no connection', async () => {
    const { sink: s, factory } = sink()
    await s.close()
    expect(factory.clients).toHaveLength(0)
  })
})
