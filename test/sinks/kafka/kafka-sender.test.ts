/**
 * The Kafka sender with a stubbed kafkajs producer (no broker needed): the options and their
 * errors, what a batch becomes (one send; lines, keys, timestamps, headers), and every outcome the
 * engine gets from a send: delivered, retried whole, split when too large, failed for good, refused
 * before sending, an attempt that hangs, and a close that stays bounded.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import kafkajs from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import {
  createKafkaSender,
  DEFAULT_MAX_MESSAGE_BYTES,
  KAFKAJS_IDEMPOTENT_RETRY,
  KAFKAJS_RETRY,
  kafkajsConfig,
  KafkaSender,
  type KafkaSenderOptions,
  rotated,
} from '../../../src/sinks/kafka/kafka-sender.js'
import { createSenders } from '../../../src/sinks/registry.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { configErrorOf } from '../../helpers/config-error.js'
import { StubProducer, stubFactory } from './stub-producer.js'

const { tempDir } = useCleanups()

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>

const T0 = 1_700_000_000_000
const line = (i: number, extra = ''): string => `{"level":30,"time":${T0 + i},"i":${i}${extra},"msg":"m${i}"}`

function protocol(type: string, code: number, retriable: boolean): Error {
  return new (KafkaJSProtocolError as new (e: object) => Error)({ type, code, retriable, message: `broker says ${type}` })
}
function exhausted(error: Error): Error {
  return new (KafkaJSNumberOfRetriesExceeded as new (e: Error, o: object) => Error)(error, { retryCount: 2, retryTime: 400 })
}
function refused(): Error {
  return exhausted(new (KafkaJSConnectionError as new (m: string, o: object) => Error)('Connection error: connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' }))
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

const base: KafkaSenderOptions = { brokers: ['127.0.0.1:9092'], topic: 'logs' }

const senders: KafkaSender[] = []
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
})

/** A sender on stub producers; batches leave on flush(); fast retries. */
function sender(options: Partial<KafkaSenderOptions> = {}, setup?: Parameters<typeof stubFactory>[0]): { sender: KafkaSender; producers: StubProducer[] } {
  const factory = stubFactory(setup)
  const created = new KafkaSender(
    { ...base, batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options } as KafkaSenderOptions,
    {},
    undefined,
    factory,
  )
  senders.push(created)
  return { sender: created, producers: factory.producers }
}

function send(target: KafkaSender, lines: readonly string[]): void {
  for (const text of lines) expect(target.send(createRecord(text))).toBe(true)
}

const lines = (n: number, from = 0, extra: (i: number) => string = () => ''): string[] => Array.from({ length: n }, (_, k) => line(from + k, extra(from + k)))

describe('options', () => {
  it('names the option path of bad brokers, topics and settings', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ brokers: [] }, 'brokers', /at least one broker/],
      [{ brokers: ['kafka://user:pw@k:9092'] }, 'brokers[0]', /without a scheme/],
      [{ brokers: ['k:9092', 'k2'] }, 'brokers[1]', /host:port/],
      [{ brokers: ['k:99999'] }, 'brokers[0]', /1-65535/],
      [{ brokers: ['[::1]:9092'] }, 'brokers[0]', /IPv6/],
      [{ topic: '' }, 'topic', /empty/],
      [{ topic: 'bad topic' }, 'topic', /ASCII letters/],
      [{ topic: '..' }, 'topic', /'\.' or '\.\.'/],
      [{ topic: 'x'.repeat(250) }, 'topic', /at most 249/],
      [{ acks: 2 }, 'acks', /./],
      [{ compression: 'snappy' }, 'compression', /./],
      [{ sasl: { mechanism: 'plain', username: 'u' } }, 'sasl.password', /./],
      [{ sasl: { mechanism: 'oauthbearer', username: 'u', password: 'p' } }, 'sasl.mechanism', /./],
      [{ maxMessageBytes: 0 }, 'maxMessageBytes', /./],
      [{ tpoic: 'x' }, 'tpoic', /unknown option/],
    ]
    for (const [patch, path, message] of cases) {
      const error = configErrorOf(() => createKafkaSender({ ...base, ...patch } as KafkaSenderOptions))
      expect(error.paths, JSON.stringify(patch)).toEqual([path])
      expect(error.message).toMatch(message)
      expect(error.message).not.toContain(':pw@')
    }
  })

  it('accepts topic names at the limits: 249 characters, dots, dashes and underscores', () => {
    expect(() => createKafkaSender({ ...base, topic: 'x'.repeat(249) })).not.toThrow()
    expect(() => createKafkaSender({ ...base, topic: 'app.logs_v2-eu' })).not.toThrow()
  })

  it('idempotent needs acks all and at most 5 produce requests in flight', () => {
    expect(configErrorOf(() => createKafkaSender({ ...base, idempotent: true, acks: 1 })).paths).toEqual(['acks'])
    expect(configErrorOf(() => createKafkaSender({ ...base, idempotent: true, pool: { concurrency: 6 } })).paths).toEqual(['pool.concurrency'])
    expect(() => createKafkaSender({ ...base, idempotent: true, acks: 'all', pool: { concurrency: 5 } })).not.toThrow()
  })

  it('kafkajs is configured with its logging and its own retries off, and TLS/SASL passed through', () => {
    const settings = {
      brokers: ['a:1', 'b:2'],
      clientId: 'me',
      ssl: { ca: 'PEM', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512' as const, username: 'u', password: 'p' },
      connectionTimeoutMs: 1234,
      requestTimeoutMs: 5678,
      allowAutoTopicCreation: false,
      idempotent: false,
      maxInFlightRequests: undefined,
    }
    const { client, producer } = kafkajsConfig(settings)
    expect(client).toMatchObject({
      clientId: 'me',
      brokers: ['a:1', 'b:2'],
      connectionTimeout: 1234,
      requestTimeout: 5678,
      ssl: { ca: 'PEM', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      retry: KAFKAJS_RETRY,
      logLevel: kafkajs.logLevel.NOTHING,
    })
    // The log creator makes loggers that write nothing.
    const logger = client.logCreator?.(kafkajs.logLevel.DEBUG)
    expect(logger?.({ namespace: 'x', level: kafkajs.logLevel.ERROR, label: 'ERROR', log: { message: 'm', timestamp: '' } })).toBeUndefined()
    expect(producer).toEqual({ allowAutoTopicCreation: false, idempotent: false, retry: KAFKAJS_RETRY })
    // kafkajs retries nothing itself: a batch is written at most once per attempt.
    expect(KAFKAJS_RETRY.retries).toBe(0)
    expect(kafkajsConfig({ ...settings, ssl: undefined, sasl: undefined, idempotent: true, maxInFlightRequests: 3 })).toMatchObject({
      producer: { idempotent: true, maxInFlightRequests: 3, retry: KAFKAJS_IDEMPOTENT_RETRY },
    })
    expect(kafkajsConfig({ ...settings, ssl: undefined, sasl: undefined }).client).not.toHaveProperty('ssl')
  })
})

describe('bootstrap brokers', () => {
  it('each new producer starts at the next broker of the list (kafkajs tries one per connect, from the head)', () => {
    // The server suite shows the effect: with the first broker down, the sender still delivers.
    expect([0, 1, 2, 3].map((n) => rotated(['a:1', 'b:2', 'c:3'], n))).toEqual([
      ['a:1', 'b:2', 'c:3'],
      ['b:2', 'c:3', 'a:1'],
      ['c:3', 'a:1', 'b:2'],
      ['a:1', 'b:2', 'c:3'],
    ])
  })
})

describe('registry', () => {
  it('a bad topic through the transport options names senders[0].topic', async () => {
    let caught: unknown
    try {
      await createSenders([{ type: 'kafka', brokers: ['k:9092'], topic: 'no spaces' }], {})
    } catch (error) {
      caught = error
    }
    expect((caught as { paths?: string[] }).paths).toEqual(['senders[0].topic'])
  })
})

describe('delivery', () => {
  it('a batch is one send: the lines as they came, acks all, timestamps from the records, null keys without a key option', async () => {
    const { sender: kafka, producers } = sender()
    const sent = lines(5)
    send(kafka, sent)
    await kafka.flush()
    expect(producers).toHaveLength(1)
    const producer = producers[0] as StubProducer
    expect(producer.connects).toBe(1)
    expect(producer.sends).toHaveLength(1)
    const [first] = producer.sends
    expect(first).toMatchObject({ topic: 'logs', acks: -1, timeout: 15_000, compression: 0 })
    expect(producer.values()).toEqual(sent)
    expect(first?.messages.map((m) => m.key)).toEqual([null, null, null, null, null])
    expect(first?.messages.map((m) => m.timestamp)).toEqual(sent.map((_, i) => String(T0 + i)))
    expect(first?.messages[0]).not.toHaveProperty('headers')
    expect(kafka.stats()).toMatchObject({ delivered: 5, failed: 0, retried: 0 })
  })

  it('connects once, on the first delivery, and reuses the producer', async () => {
    const { sender: kafka, producers } = sender()
    expect(producers).toHaveLength(0)
    send(kafka, lines(3))
    await kafka.flush()
    send(kafka, lines(3, 3))
    await kafka.flush()
    expect(producers).toHaveLength(1)
    expect(producers[0]?.connects).toBe(1)
    expect(producers[0]?.sends).toHaveLength(2)
  })

  it('keys come from the field path (nested, numbers as text, objects as JSON); a record without it has a null key', async () => {
    const { sender: kafka, producers } = sender({ key: 'req.tenant' })
    send(kafka, [
      line(0, ',"req":{"tenant":"acme"}'),
      line(1, ',"req":{"tenant":42}'),
      line(2, ',"req":{"tenant":{"id":7}}'),
      line(3, ',"req":{}'),
      line(4, ',"req.tenant":"dotted"'),
      line(5, ',"req":{"tenant":null}'),
    ])
    await kafka.flush()
    expect(producers[0]?.sends[0]?.messages.map((m) => m.key)).toEqual(['acme', '42', '{"id":7}', null, 'dotted', null])
  })

  it('headers: the static ones and the id header carrying each record identity, the same on a retry', async () => {
    const { sender: kafka, producers } = sender({ headers: { app: 'api' }, idHeader: 'courier-id' }, (p) => {
      p.behaviour = (index) => (index === 0 ? refused() : undefined)
    })
    send(kafka, lines(3))
    await kafka.flush()
    const sends = producers[0]?.sends ?? []
    expect(sends).toHaveLength(2)
    const ids = sends.map((s) => s.messages.map((m) => m.headers?.['courier-id']))
    expect(ids[0]).toEqual(ids[1])
    expect(new Set(ids[0]).size).toBe(3)
    expect(ids[0]?.every((id) => /^[0-9a-f-]{36}:\d$/.test(id ?? ''))).toBe(true)
    expect(sends[0]?.messages.every((m) => m.headers?.app === 'api')).toBe(true)
  })

  it('lines without a leading pino time go without a timestamp (kafkajs stamps them); gzip and acks are passed on', async () => {
    const { sender: kafka, producers } = sender({ compression: 'gzip', acks: 1, pool: { timeoutMs: 4321 } })
    send(kafka, ['{"msg":"no time here"}', '{"level":30,"time":"2026-01-02T03:04:05.678Z","msg":"iso"}'])
    await kafka.flush()
    const first = producers[0]?.sends[0]
    expect(first).toMatchObject({ compression: 1, acks: 1, timeout: 4321 })
    expect(first?.messages[0]).not.toHaveProperty('timestamp')
    expect(first?.messages[1]?.timestamp).toBe(String(Date.parse('2026-01-02T03:04:05.678Z')))
  })

  it('a transient failure retries the whole batch (kafkajs answers for it as a whole): records are sent again', async () => {
    const { sender: kafka, producers } = sender({}, (p) => {
      p.behaviour = (index) => (index < 2 ? exhausted(protocol('NOT_LEADER_FOR_PARTITION', 6, true)) : undefined)
    })
    const sent = lines(10)
    send(kafka, sent)
    await kafka.flush()
    const producer = producers[0] as StubProducer
    expect(producer.sends).toHaveLength(3)
    expect(producer.values()).toEqual([...sent, ...sent, ...sent])
    const stats = kafka.stats()
    expect(stats).toMatchObject({ delivered: 10, failed: 0, retried: 20 })
    expect(stats.lastError?.message).toMatch(/NOT_LEADER_FOR_PARTITION producing to topic 'logs' at 127\.0\.0\.1:9092/)
    expectLedger(stats)
  })

  it('a record made in-process with a raw newline in its JSON is one message, and a refusal names the right record (no key option)', async () => {
    // createRecord takes JSON with a newline between its tokens: cut at every newline of the NDJSON,
    // that record was two messages, and every later index shifted by one, so the record refused over
    // maxMessageBytes was counted delivered and the one after it dead-lettered although it was sent.
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const { sender: kafka, producers } = sender({ maxMessageBytes: 60, deadLetter: { path } })
    const big = `{"level":30,"i":2,"pad":"${'x'.repeat(80)}"}`
    const sent = ['{"level":30,"i":0}', '{"level":30,\n"i":1}', big, '{"level":30,"i":3}']
    send(kafka, sent)
    await kafka.flush()
    expect(producers[0]?.values()).toEqual([sent[0], sent[1], sent[3]])
    const stats = kafka.stats()
    expect(stats).toMatchObject({ delivered: 3, failed: 1, deadLettered: 1 })
    expectLedger(stats)
    await kafka.close()
    expect((await readFile(path, 'utf8')).trim().split('\n')).toEqual([big])
  })

  it('a timestamp the broker refuses (INVALID_TIMESTAMP) is dropped: the batch goes again at once without timestamps, delivered', async () => {
    // Kafka 4.0 refuses a timestamp over an hour ahead of the broker's clock: one record from a host
    // whose clock is ahead failed the whole batch for good, every record dead-lettered.
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const ahead = String(Date.now() + 2 * 3_600_000)
    const { sender: kafka, producers } = sender({ deadLetter: { path } }, (p) => {
      p.behaviour = (_, sent) => (sent.messages.some((m) => m.timestamp === ahead) ? protocol('INVALID_TIMESTAMP', 32, false) : undefined)
    })
    const sent = [...lines(3), `{"level":30,"time":${ahead},"i":3,"msg":"m3"}`]
    send(kafka, sent)
    await kafka.flush()
    const producer = producers[0] as StubProducer
    expect(producer.sends).toHaveLength(2)
    expect(producer.sends[1]?.messages.map((m) => m.timestamp)).toEqual([undefined, undefined, undefined, undefined])
    expect(producer.sends[1]?.messages.map((m) => String(m.value))).toEqual(sent)
    expect(kafka.stats()).toMatchObject({ delivered: 4, failed: 0, retried: 0, deadLettered: 0 })

    // Refused again without timestamps: failed for good, as before (no loop).
    const again = sender({}, (p) => (p.behaviour = () => protocol('INVALID_TIMESTAMP', 32, false)))
    send(again.sender, lines(2))
    await again.sender.flush()
    expect(again.producers[0]?.sends).toHaveLength(2)
    expect(again.sender.stats()).toMatchObject({ delivered: 0, failed: 2, retried: 0 })
    expect(again.sender.stats().recentFailures[0]?.error).toMatch(/INVALID_TIMESTAMP/)
  })

  it('an idempotent producer is replaced after a failed send (its sequence numbers are not reused); a plain one is kept', async () => {
    // kafkajs takes a failed send's sequence numbers back although the broker may have written it (or
    // some partitions of it): the next records would reuse them, and be dropped as copies although
    // acknowledged, or refused OUT_OF_ORDER_SEQUENCE_NUMBER for ever.
    const timedOut = (): Error => protocol('REQUEST_TIMED_OUT', 7, true)
    const idem = sender({ idempotent: true }, (p, n) => (p.behaviour = (i) => (n === 0 && i === 0 ? timedOut() : undefined)))
    send(idem.sender, lines(4))
    await idem.sender.flush()
    expect(idem.sender.stats()).toMatchObject({ delivered: 4, failed: 0, retried: 4 })
    expect(idem.producers).toHaveLength(2)
    expect(idem.producers[0]).toMatchObject({ disconnects: 1 })
    expect(idem.producers[1]?.sends).toHaveLength(1)

    // Within one attempt too: the halves of a batch split after MESSAGE_TOO_LARGE go on new producers.
    const tooLarge = (): Error => protocol('MESSAGE_TOO_LARGE', 10, false)
    const split = sender({ idempotent: true }, (p, n) => (p.behaviour = () => (n === 0 ? tooLarge() : undefined)))
    send(split.sender, lines(4))
    await split.sender.flush()
    expect(split.sender.stats()).toMatchObject({ delivered: 4, failed: 0, retried: 0 })
    expect(split.producers.map((p) => p.sends.length)).toEqual([1, 2])

    const plain = sender({}, (p) => (p.behaviour = (i) => (i === 0 ? timedOut() : undefined)))
    send(plain.sender, lines(4))
    await plain.sender.flush()
    expect(plain.sender.stats()).toMatchObject({ delivered: 4, retried: 4 })
    expect(plain.producers).toHaveLength(1)
  })

  it('a permanent failure fails the batch for good, dead-lettered, without a retry', async () => {
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const { sender: kafka, producers } = sender({ deadLetter: { path } }, (p) => {
      p.behaviour = () => protocol('TOPIC_AUTHORIZATION_FAILED', 29, false)
    })
    const sent = lines(4)
    send(kafka, sent)
    await kafka.flush()
    expect(producers[0]?.sends).toHaveLength(1)
    const stats = kafka.stats()
    expect(stats).toMatchObject({ delivered: 0, failed: 4, retried: 0 })
    expect(stats.recentFailures[0]?.error).toMatch(/TOPIC_AUTHORIZATION_FAILED producing to topic 'logs'.*check its ACLs/)
    await kafka.close()
    expect((await readFile(path, 'utf8')).trim().split('\n')).toEqual(sent)
  })

  it('an unknown topic fails for good with allowAutoTopicCreation: false, and is retried otherwise', async () => {
    const unknown = (): Error => exhausted(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3, true))
    const strict = sender({ allowAutoTopicCreation: false }, (p) => (p.behaviour = () => unknown()))
    send(strict.sender, lines(2))
    await strict.sender.flush()
    expect(strict.sender.stats()).toMatchObject({ failed: 2, retried: 0 })

    const lenient = sender({ retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } }, (p) => (p.behaviour = () => unknown()))
    send(lenient.sender, lines(2))
    await lenient.sender.flush()
    expect(lenient.sender.stats()).toMatchObject({ failed: 2, retried: 4 })
    expect(lenient.producers[0]?.sends).toHaveLength(3)
  })

  it('MESSAGE_TOO_LARGE splits the batch until the parts fit; a record still refused alone fails for good, the rest is delivered', async () => {
    const { sender: kafka, producers } = sender({}, (p) => {
      p.behaviour = (_index, s) =>
        s.messages.length > 1 && s.messages.some((m) => String(m.value).includes('"big"'))
          ? protocol('MESSAGE_TOO_LARGE', 10, false)
          : s.messages.length === 1 && String(s.messages[0]?.value).includes('"big"')
            ? protocol('MESSAGE_TOO_LARGE', 10, false)
            : undefined
    })
    const sent = lines(8, 0, (i) => (i === 5 ? ',"big":"yes"' : ''))
    send(kafka, sent)
    await kafka.flush()
    const stats = kafka.stats()
    expect(stats).toMatchObject({ delivered: 7, failed: 1, retried: 0 })
    expect(stats.recentFailures[0]?.error).toMatch(/record too large for the server: kafka MESSAGE_TOO_LARGE/)
    const delivered = (producers[0] as StubProducer).sends.filter((s) => !s.messages.some((m) => String(m.value).includes('"big"')))
    expect(delivered.flatMap((s) => s.messages.map((m) => String(m.value))).sort()).toEqual(sent.filter((_, i) => i !== 5).sort())
  })

  it('a record over maxMessageBytes is refused before sending (counted failed, dead-lettered); the others go', async () => {
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const { sender: kafka, producers } = sender({ maxMessageBytes: 200, deadLetter: { path } })
    const sent = lines(3, 0, (i) => (i === 1 ? `,"pad":"${'x'.repeat(300)}"` : ''))
    send(kafka, sent)
    await kafka.flush()
    expect(producers[0]?.values()).toEqual([sent[0], sent[2]])
    const stats = kafka.stats()
    expect(stats).toMatchObject({ delivered: 2, failed: 1 })
    expect(stats.recentFailures[0]?.error).toMatch(/record too large for Kafka: \d+ bytes .* over maxMessageBytes \(200\); not sent/)
    await kafka.close()
    expect((await readFile(path, 'utf8')).trim()).toBe(sent[1])
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1_000_000)
  })

  it('the headers count against maxMessageBytes', async () => {
    const { sender: kafka, producers } = sender({ maxMessageBytes: 100, headers: { big: 'h'.repeat(90) } })
    send(kafka, ['{"msg":"short"}'])
    await kafka.flush()
    expect(producers).toHaveLength(0)
    expect(kafka.stats()).toMatchObject({ failed: 1 })
  })

  it('a failed connect is retried with a new producer; the failed one is let go', async () => {
    const { sender: kafka, producers } = sender({}, (p, index) => {
      if (index === 0) p.connectError = refused()
    })
    send(kafka, lines(3))
    await kafka.flush()
    expect(producers).toHaveLength(2)
    expect(producers[0]?.disconnects).toBe(1)
    expect(producers[0]?.sends).toHaveLength(0)
    expect(producers[1]?.values()).toHaveLength(3)
    expect(kafka.stats()).toMatchObject({ delivered: 3, retried: 3 })
    expect(kafka.stats().lastError?.message).toMatch(/ECONNREFUSED/)
  })

  it('a connect that never ends is given up with its attempt; the next attempt connects a new producer', async () => {
    const { sender: kafka, producers } = sender({ pool: { timeoutMs: 50 } }, (p, index) => {
      if (index === 0) p.connectGate = new Promise(() => {})
    })
    send(kafka, lines(2))
    await kafka.flush()
    expect(producers).toHaveLength(2)
    expect(producers[0]?.disconnects).toBe(1)
    expect(producers[0]?.sends).toHaveLength(0)
    expect(producers[1]?.values()).toHaveLength(2)
    expect(kafka.stats()).toMatchObject({ delivered: 2, retried: 2 })
  })

  it('a producer made after its attempt gave up (kafkajs still loading) is disconnected, never connected; close disconnects every one', async () => {
    // The first producer arrives after its attempt timed out and the next attempt connected its own:
    // it took the sink's producer slot, so the one in use was never disconnected on close.
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const made: StubProducer[] = []
    const factory = async (): Promise<StubProducer> => {
      const producer = new StubProducer()
      made.push(producer)
      if (made.length === 1) await gate
      return producer
    }
    const kafka = new KafkaSender({ ...base, batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, pool: { timeoutMs: 50 } }, {}, undefined, factory)
    senders.push(kafka)
    send(kafka, lines(2))
    await kafka.flush()
    expect(kafka.stats()).toMatchObject({ delivered: 2, retried: 2 })
    open()
    await new Promise((r) => setTimeout(r, 20))
    await kafka.close()
    expect(made).toHaveLength(2)
    expect(made[0]).toMatchObject({ connects: 0, disconnects: 1 })
    expect(made[0]?.sends).toHaveLength(0)
    expect(made[1]).toMatchObject({ connects: 1, disconnects: 1 })
  })

  it('the SASL password and the TLS passphrase and key never reach the stats, whatever kafkajs says', async () => {
    const secrets = { password: 'hunter2-sasl-XYZ', passphrase: 'pp-tls-SECRET', key: '-----BEGIN PRIVATE KEY-----MIIkeybytes-----END PRIVATE KEY-----' }
    const said = `auth failed for ${secrets.password} with ${secrets.passphrase} and ${secrets.key}`
    const { sender: kafka } = sender(
      {
        sasl: { mechanism: 'plain', username: 'app', password: secrets.password },
        ssl: { key: secrets.key, passphrase: secrets.passphrase },
        retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
      },
      (p) => (p.connectError = new Error(said)),
    )
    send(kafka, lines(2))
    await kafka.flush()
    const text = JSON.stringify(kafka.stats())
    expect(kafka.stats()).toMatchObject({ failed: 2 })
    expect(text).toContain('auth failed for')
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret)
  })

  it('an attempt that hangs ends at pool.timeoutMs and is retried', async () => {
    const { sender: kafka, producers } = sender({ pool: { timeoutMs: 50 } }, (p) => {
      p.behaviour = (index) => (index === 0 ? 'hang' : undefined)
    })
    send(kafka, lines(2))
    await kafka.flush()
    expect(producers[0]?.sends).toHaveLength(2)
    expect(kafka.stats()).toMatchObject({ delivered: 2, retried: 2 })
    expect(kafka.stats().lastError?.message).toMatch(/timed out/)
  })
})

describe('close', () => {
  it('disconnects the producer, once, even when close is called twice', async () => {
    const { sender: kafka, producers } = sender()
    send(kafka, lines(2))
    await kafka.flush()
    await Promise.all([kafka.close(), kafka.close()])
    expect(producers[0]?.disconnects).toBe(1)
  })

  it('is bounded when the broker is gone and disconnect never ends', async () => {
    const { sender: kafka, producers } = sender({}, (p) => (p.hangOnDisconnect = true))
    send(kafka, lines(2))
    await kafka.flush()
    const report = await kafka.close({ timeoutMs: 500 })
    expect(producers[0]?.disconnects).toBe(1)
    expect(report.undelivered).toBe(0)
  })

  it('a producer still connecting when close() runs is disconnected once it connects, and never used', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const { sender: kafka, producers } = sender({}, (p) => {
      p.connectGate = gate
    })
    send(kafka, lines(2))
    void kafka.flush()
    while (producers.length === 0) await new Promise((r) => setTimeout(r, 5))
    const closing = kafka.close({ timeoutMs: 200 })
    const report = await closing
    open()
    await new Promise((r) => setTimeout(r, 20))
    expect(report.undelivered).toBe(2)
    expect(producers).toHaveLength(1)
    expect(producers[0]?.sends).toHaveLength(0)
    expect(producers[0]?.disconnects).toBeGreaterThanOrEqual(1)
  })

  it('makes no producer when nothing was ever delivered; send after close is counted, not thrown', async () => {
    const { sender: kafka, producers } = sender()
    await kafka.close()
    expect(producers).toHaveLength(0)
    expect(() => kafka.send(createRecord(line(0)))).not.toThrow()
    expect(kafka.stats().dropped.closed).toBe(1)
  })

  it('records still failing at the close deadline are reported undelivered, and close ends', async () => {
    const { sender: kafka } = sender({ retry: { baseDelayMs: 20, maxDelayMs: 50, maxAttempts: 1000 } }, (p) => (p.behaviour = () => refused()))
    send(kafka, lines(5))
    void kafka.flush()
    const report = await kafka.close({ timeoutMs: 300 })
    expect(report.undelivered).toBe(5)
    expectLedger(kafka.stats())
  })
})
