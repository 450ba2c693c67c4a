/**
 * The Redis sender's options (checked at start-up, with the option's path) and its outcomes through
 * the engine, against a fake client: retried, failed for good and dead-lettered, never a secret shown.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { createRedisSender, RedisSender, type RedisSenderOptions } from '../../../src/sinks/redis/redis-sender.js'
import { parseRedisUrl } from '../../../src/sinks/redis/redis-url.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { configErrorOf as configError } from '../../helpers/config-error.js'
import { fakeFactory, replyError, type FakeBehaviour } from './fake-redis.js'

const { defer, tempDir } = useCleanups()

function sender(options: Partial<RedisSenderOptions> = {}, behaviour: FakeBehaviour = {}) {
  const factory = fakeFactory(behaviour)
  const created = new RedisSender(
    { url: 'redis://127.0.0.1:6379', key: 'logs', batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...options },
    {},
    undefined,
    factory,
  )
  defer(() => created.close({ timeoutMs: 1000 }))
  return { sender: created, factory }
}

function send(target: RedisSender, n: number): void {
  for (let i = 0; i < n; i++) expect(target.send(createRecord(`{"level":30,"i":${i}}`))).toBe(true)
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

describe('options', () => {
  it.each([
    { what: 'no key', options: { key: undefined }, message: /key: Invalid input: expected string/ },
    { what: 'an empty key', options: { key: '' }, message: /key: Too small/ },
    { what: 'an http URL', options: { url: 'http://redis:6379' }, message: /url: Invalid URL \(expected redis:\/\/ or rediss:\/\/\)/ },
    { what: 'a URL that is no URL', options: { url: 'redis:6379' }, message: /url: the URL names no host|url: Invalid URL/ },
    { what: 'a URL with a query', options: { url: 'redis://redis:6379?db=2' }, message: /url: the URL takes no query/ },
    { what: 'a URL whose path is no db', options: { url: 'redis://redis:6379/logs' }, message: /url: the URL's path is the db number/ },
    { what: 'an unknown mode', options: { mode: 'pubsub' }, message: /mode: Invalid option: expected one of "stream"\|"list"/ },
    { what: 'a zero maxLen', options: { maxLen: 0 }, message: /maxLen: Too small/ },
    { what: 'a negative db', options: { db: -1 }, message: /db: Too small/ },
    { what: 'maxLen with a list', options: { mode: 'list', maxLen: 100 }, message: /maxLen: maxLen is for mode 'stream'/ },
    { what: 'field with a list', options: { mode: 'list', field: 'msg' }, message: /field: field is for mode 'stream'/ },
    { what: 'field named as idField', options: { field: 'id' }, message: /field: field and idField must differ/ },
    { what: 'idField named as field', options: { idField: 'line' }, message: /idField: field and idField must differ/ },
    { what: 'tls settings with redis://', options: { tls: { rejectUnauthorized: false } }, message: /tls: tls settings need a rediss:\/\/ URL/ },
    { what: 'a username without a password', options: { url: 'redis://127.0.0.1:6379', username: 'bob' }, message: /username: a username needs a password/ },
    { what: 'a URL user with an empty password', options: { url: 'redis://alice:@127.0.0.1:6379' }, message: /url: a username needs a password/ },
    { what: 'a URL with port 0', options: { url: 'redis://127.0.0.1:0' }, message: /url: the URL's port must be 1 to 65535/ },
    { what: 'a misspelt option', options: { stream: 'x' }, message: /stream: unknown option|Unrecognized key/ },
  ])('refuses $what at start-up with a ConfigError naming the option', async ({ options, message }) => {
    const { createSenders } = await import('../../../src/sinks/registry.js')
    const spec = { type: 'redis', url: 'redis://:pass-word-1@127.0.0.1:6379', key: 'logs', ...options }
    await expect(createSenders([spec], {})).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(new RegExp(`senders\\[0\\]\\.${message.source}`)) })
    const { type: _type, ...direct } = spec
    const error = configError(() => createRedisSender(direct as unknown as RedisSenderOptions))
    expect(error.message).toMatch(new RegExp(`^pino-courier: invalid options: ${message.source}`))
    expect(error.message).not.toContain('pass-word-1')
  })

  it('reads the URL: host, port, TLS, credentials (a lone user part is the password), db', () => {
    expect(parseRedisUrl('redis://redis')).toEqual({ host: 'redis', port: 6379, tls: false, username: undefined, password: undefined, db: undefined })
    expect(parseRedisUrl('rediss://bob:p%40ss@cache.example:6380/4')).toEqual({ host: 'cache.example', port: 6380, tls: true, username: 'bob', password: 'p@ss', db: 4 })
    expect(parseRedisUrl('redis://:secret@[::1]:7000/')).toMatchObject({ host: '::1', port: 7000, username: undefined, password: 'secret', db: undefined })
    expect(parseRedisUrl('redis://secret@h')).toMatchObject({ username: undefined, password: 'secret' })
    // A colon says which part is which: a user whose password is empty is not a password.
    expect(parseRedisUrl('redis://alice:@h')).toMatchObject({ username: 'alice', password: undefined })
    expect(parseRedisUrl('redis://:@h')).toMatchObject({ username: undefined, password: undefined })
    expect(parseRedisUrl('redis://a:b@c@h')).toMatchObject({ username: 'a', password: 'b@c', host: 'h' })
  })

  it('options win over the URL; the endpoint shown has no credentials; the type\'s defaults', async () => {
    const { sender: s, factory } = sender({ url: 'rediss://alice:from-url-pw@cache.example:6380/2', username: 'bob', password: 'from-options', db: 5, tls: { rejectUnauthorized: false } })
    expect(s.endpoint).toBe('rediss://cache.example:6380')
    expect(s.mode).toBe('stream')
    expect(s.options.pool).toMatchObject({ concurrency: 1, timeoutMs: 10_000 })
    expect(s.options.batch).toMatchObject({ maxRecords: 5000, maxBytes: 1024 * 1024 })
    send(s, 1)
    await s.flush()
    expect(factory.clients[0]?.options).toMatchObject({
      host: 'cache.example',
      port: 6380,
      tls: { servername: 'cache.example', rejectUnauthorized: false },
      username: 'bob',
      password: 'from-options',
      db: 5,
    })
  })
})

describe('outcomes through the engine', () => {
  it('OOM until memory is freed: retried, then every record delivered once', async () => {
    let full = 3
    const { sender: s, factory } = sender({}, { command: () => (full > 0 ? replyError("OOM command not allowed when used memory > 'maxmemory'.") : undefined) })
    const retries: string[] = []
    s.on('retry', (event) => {
      retries.push(String(event.error))
      full--
    })
    send(s, 10)
    await s.flush()
    const stats = s.stats()
    expect(stats).toMatchObject({ received: 10, delivered: 10, failed: 0, retried: 30 })
    expect(retries[0]).toMatch(/XADD logs: OOM command not allowed/)
    expectLedger(stats)
    // Three refused pipelines and the one that went through, 10 XADD each.
    expect(factory.clients[0]?.pipelines.map((p) => p.length)).toEqual([10, 10, 10, 10])
  })

  it('WRONGTYPE: failed for good at the first attempt and written to the dead-letter file; the others delivered', async () => {
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const { sender: s } = sender({ deadLetter: { path } }, { command: (args) => (String(args[4]).includes('"i":2}') ? replyError('WRONGTYPE Operation against a key holding the wrong kind of value') : undefined) })
    send(s, 5)
    await s.flush()
    const stats = s.stats()
    expect(stats).toMatchObject({ received: 5, delivered: 4, failed: 1, retried: 0, deadLettered: 1 })
    expect(stats.recentFailures[0]?.error).toMatch(/WRONGTYPE/)
    expectLedger(stats)
    await s.close()
    expect(await readFile(path, 'utf8')).toContain('{"level":30,"i":2}')
  })

  it('an error reply with a code no one listed (a module\'s) fails for good and is dead-lettered, also with a spool', async () => {
    // With a spool the engine retries a transient failure for as long as it takes: a refusal no one
    // knows would hold the one batch in flight for ever, while the spool filled up behind it.
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const { sender: s, factory } = sender({ spool: { dir: join(dir, 'spool') }, deadLetter: { path } }, { command: () => replyError('DENIED the logs module refuses this write') })
    send(s, 4)
    let settled = false
    const flushed = s.flush().then(() => (settled = true))
    // Generous: settles at the first attempt; a retry loop would still be going at any deadline.
    await Promise.race([flushed, new Promise((r) => setTimeout(r, 5000))])
    expect(settled).toBe(true)
    const stats = s.stats()
    expect(stats).toMatchObject({ received: 4, delivered: 0, failed: 4, retried: 0, deadLettered: 4 })
    expect(stats.recentFailures[0]?.error).toMatch(/XADD logs: DENIED the logs module refuses this write/)
    expect(factory.clients[0]?.pipelines).toHaveLength(1)
    expectLedger(stats)
  })

  it('a wrong password: every batch failed for good with the server\'s reason, the password nowhere in stats', async () => {
    const { sender: s } = sender({ url: 'redis://:very-secret-pw@127.0.0.1:6379' }, { call: (command) => {
      if (command === 'AUTH') throw replyError('WRONGPASS invalid username-password pair or user is disabled.')
    } })
    send(s, 3)
    await s.flush()
    const stats = s.stats()
    expect(stats).toMatchObject({ received: 3, delivered: 0, failed: 3, retried: 0 })
    expect(JSON.stringify(stats)).toMatch(/WRONGPASS/)
    expect(JSON.stringify(stats)).not.toContain('very-secret-pw')
  })

  it('send never throws nor waits for the network: records queue while nothing is connected', () => {
    const { sender: s, factory } = sender({}, { connect: () => {
      throw new Error('unreachable')
    } })
    send(s, 100)
    expect(s.stats()).toMatchObject({ received: 100, queued: 100 })
    expect(factory.clients).toHaveLength(0)
  })
})
