/**
 * Kafka-specific behaviour against librdkafka's mock cluster (through kcat, which reads every
 * message back with its partition, key and headers), with the sender in this process: records
 * with one key land in one partition, gzip message sets are what the broker stores and read back
 * unchanged, a record over maxMessageBytes is counted failed and dead-lettered while the rest
 * arrives, and close() stays bounded with the broker gone.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { createKafkaSender, type KafkaSender, type KafkaSenderOptions } from '../../../src/sinks/kafka/kafka-sender.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { freePort } from '../helpers/free-port.js'
import { KafkaMock, onceEach } from './kafka-mock.js'

const { tempDir } = useCleanups()

const mocks: KafkaMock[] = []
const senders: KafkaSender[] = []
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 3000 })))
  await Promise.all(mocks.splice(0).map((m) => m.close()))
})

async function mock(options?: Parameters<typeof KafkaMock.start>[0]): Promise<KafkaMock> {
  const started = await KafkaMock.start(options)
  mocks.push(started)
  return started
}

function sender(kafka: KafkaMock, options: Partial<KafkaSenderOptions> = {}): KafkaSender {
  const created = createKafkaSender({ brokers: [kafka.bootstrap], topic: 'logs', batch: { maxWaitMs: 20 }, ...options })
  senders.push(created)
  return created
}

const line = (i: number, extra = ''): string => `{"level":30,"time":${1_700_000_000_000 + i},"i":${i}${extra},"msg":"record"}`

describe('the kafka sender against the Kafka mock', () => {
  it('records with the same key go to the same partition; records without the key spread over the partitions', async () => {
    const kafka = await mock()
    const kafkaSender = sender(kafka, { key: 'tenant', batch: { maxRecords: 100, maxWaitMs: 20 } })
    const n = 2000
    const tenant = (i: number): string | undefined => (i % 10 === 9 ? undefined : `t${i % 5}`)
    for (let i = 0; i < n; i++) {
      const t = tenant(i)
      kafkaSender.send(createRecord(line(i, t === undefined ? '' : `,"tenant":"${t}"`)))
    }
    await kafkaSender.flush()
    expect(kafkaSender.stats()).toMatchObject({ delivered: n, failed: 0 })
    await kafka.waitFor((m) => m.length >= n, `${n} messages`)

    const partitionsByKey = new Map<string, Set<number>>()
    for (const message of kafka.messages()) {
      const { i } = JSON.parse(message.value) as { i: number }
      // kcat prints the key as it is stored: the tenant, or nothing for a null key.
      expect(message.key).toBe(tenant(i) ?? '')
      const seen = partitionsByKey.get(message.key) ?? new Set<number>()
      seen.add(message.partition)
      partitionsByKey.set(message.key, seen)
    }
    for (const t of ['t0', 't1', 't2', 't3', 't4']) expect(partitionsByKey.get(t)?.size, t).toBe(1)
    // Null keys: kafkajs's default partitioner goes round the partitions (4 on the mock).
    expect(partitionsByKey.get('')?.size).toBeGreaterThan(1)
    // And per key, the partition kept the records' order.
    const order = new Map<string, number>()
    for (const message of kafka.messages()) {
      if (message.key === '') continue
      const { i } = JSON.parse(message.value) as { i: number }
      expect(i).toBeGreaterThan(order.get(message.key) ?? -1)
      order.set(message.key, i)
    }
    expect(onceEach(kafka.counts(), 0, n)).toEqual({ missing: 0, duplicates: 0, outside: 0 })
  })

  it('gzip: the broker stores gzip message sets, read back as the lines that were sent', async () => {
    // `msg` debugging makes the consumer log each message set it fetched, with its codec.
    const kafka = await mock({ debug: 'msg' })
    const kafkaSender = sender(kafka, { compression: 'gzip', headers: { app: 'api' }, idHeader: 'courier-id' })
    const n = 1000
    const sent = Array.from({ length: n }, (_, i) => line(i, `,"text":"é ✓ \\"quoted\\" ${'x'.repeat(i % 50)}"`))
    for (const text of sent) kafkaSender.send(createRecord(text))
    await kafkaSender.flush()
    await kafka.waitFor((m) => m.length >= n, `${n} messages`)
    expect(kafka.messages().map((m) => m.value).sort()).toEqual([...sent].sort())
    expect(kafka.messages().every((m) => m.headers.startsWith('app=api,courier-id='))).toBe(true)
    const sets = kafka.server.stderr.split('\n').filter((l) => /Enqueue \d+ message\(s\)/.test(l))
    expect(sets.length).toBeGreaterThan(0)
    expect(sets.every((l) => l.endsWith(', gzip)'))).toBe(true)
  })

  it('without compression the message sets are stored plain (the control of the gzip test)', async () => {
    const kafka = await mock({ debug: 'msg' })
    const kafkaSender = sender(kafka)
    for (let i = 0; i < 100; i++) kafkaSender.send(createRecord(line(i)))
    await kafkaSender.flush()
    await kafka.waitFor((m) => m.length >= 100, '100 messages')
    const sets = kafka.server.stderr.split('\n').filter((l) => /Enqueue \d+ message\(s\)/.test(l))
    expect(sets.length).toBeGreaterThan(0)
    expect(sets.some((l) => l.endsWith(', gzip)'))).toBe(false)
  })

  it('a record over maxMessageBytes is counted failed and dead-lettered, never sent; the others arrive', async () => {
    const kafka = await mock()
    const dir = await tempDir()
    const path = join(dir, 'dead-letter.ndjson')
    const kafkaSender = sender(kafka, { maxMessageBytes: 4000, deadLetter: { path } })
    const n = 100
    const big = line(50, `,"pad":"${'x'.repeat(5000)}"`)
    for (let i = 0; i < n; i++) kafkaSender.send(createRecord(i === 50 ? big : line(i)))
    await kafkaSender.flush()
    const stats = kafkaSender.stats()
    expect(stats).toMatchObject({ received: n, delivered: n - 1, failed: 1 })
    expect(stats.recentFailures[0]?.error).toMatch(/over maxMessageBytes \(4000\)/)
    await kafka.waitFor((m) => m.length >= n - 1, `${n - 1} messages`)
    const counts = kafka.counts()
    expect(counts.has(50)).toBe(false)
    counts.set(50, 1)
    expect(onceEach(counts, 0, n)).toEqual({ missing: 0, duplicates: 0, outside: 0 })
    await kafkaSender.close()
    expect((await readFile(path, 'utf8')).trim()).toBe(big)
  })

  it('a bootstrap broker that is down does not stop the sender: the next connect tries the next one in the list', async () => {
    // kafkajs tries one bootstrap broker per connect (its retries are off) and a new client starts at
    // the head of the list: with the first broker down, every attempt tried it alone, for ever, while
    // the rest of the cluster was up.
    const kafka = await mock()
    const down = await freePort()
    const kafkaSender = sender(kafka, { brokers: [`127.0.0.1:${down}`, kafka.bootstrap], retry: { baseDelayMs: 20, maxDelayMs: 50, maxAttempts: 6 } })
    const n = 100
    for (let i = 0; i < n; i++) kafkaSender.send(createRecord(line(i)))
    await kafkaSender.flush()
    expect(kafkaSender.stats()).toMatchObject({ received: n, delivered: n, failed: 0 })
    await kafka.waitFor((m) => m.length >= n, `${n} messages`)
    expect(onceEach(kafka.counts(), 0, n)).toEqual({ missing: 0, duplicates: 0, outside: 0 })
  })

  it('acks 0: kafkajs expects no answer and resolves once written; every record arrives', async () => {
    const kafka = await mock()
    const kafkaSender = sender(kafka, { acks: 0, batch: { maxRecords: 100, maxWaitMs: 20 } })
    const n = 1000
    for (let i = 0; i < n; i++) kafkaSender.send(createRecord(line(i)))
    await kafkaSender.flush()
    expect(kafkaSender.stats()).toMatchObject({ received: n, delivered: n, failed: 0, retried: 0 })
    await kafka.waitFor((m) => m.length >= n, `${n} messages`)
    expect(onceEach(kafka.counts(), 0, n)).toEqual({ missing: 0, duplicates: 0, outside: 0 })
  })

  it('close() is bounded with the broker frozen and a delivery in flight, and reports what it could not deliver', async () => {
    const kafka = await mock()
    const kafkaSender = sender(kafka, { pool: { timeoutMs: 1000 }, retry: { baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 1000 } })
    kafkaSender.send(createRecord(line(0)))
    await kafkaSender.flush()
    expect(kafkaSender.stats(), 'the first record, before the broker froze').toMatchObject({ delivered: 1 })
    await kafka.stop()
    for (let i = 1; i <= 10; i++) kafkaSender.send(createRecord(line(i)))
    void kafkaSender.flush()
    await new Promise((r) => setTimeout(r, 200))
    const report = await kafkaSender.close({ timeoutMs: 1500 })
    expect(report.undelivered, JSON.stringify(kafkaSender.stats())).toBe(10)
    expect(kafkaSender.stats()).toMatchObject({ delivered: 1 })
  })
})
