import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { createRecord, type LogRecord } from '../../../src/input/record.js'
import {
  createMemorySender,
  DEFAULT_MEMORY_CAPACITY,
  type MemorySender,
  type MemorySenderOptions,
} from '../../../src/sinks/memory/memory-sender.js'

/** Every record the sender received is delivered, failed, dropped, queued or in flight. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

const line = (i: number, level = 30): string => `{"level":${level},"time":${1_700_000_000_000 + i},"msg":"m${i}","i":${i}}`

const senders: MemorySender[] = []

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
})

function sender(options: MemorySenderOptions = {}): MemorySender {
  const created = createMemorySender({ batch: { maxWaitMs: 60_000 }, ...options })
  senders.push(created)
  return created
}

function sendAll(target: MemorySender, records: readonly LogRecord[]): void {
  for (const record of records) expect(target.send(record)).toBe(true)
}

describe('MemorySender', () => {
  it('keeps the newest `capacity` records, oldest first, while counting all as delivered', async () => {
    const memory = sender({ capacity: 3, batch: { maxRecords: 2, maxWaitMs: 60_000 } })
    const records = [1, 2, 3, 4, 5].map((i) => createRecord(line(i)))
    sendAll(memory, records)
    await memory.flush()

    expect(memory.records()).toEqual(records.slice(2))
    expect(memory.records()[0]).toBe(records[2])
    expect(memory.lines()).toEqual([line(3), line(4), line(5)])
    const stats = memory.stats()
    expect(stats).toMatchObject({ name: 'memory', received: 5, delivered: 5, failed: 0, attempts: 3 })
    expect(stats.deliveredBytes).toBe(records.reduce((sum, r) => sum + r.bytes, 0))
    expectLedger(stats)
  })

  it('lines() are the raw lines, values() the parsed objects, records() the records themselves', async () => {
    const memory = sender()
    const raw = ['{"level":30, "msg" : "spaced","n":1.0}', '{"msg":"level last","level":50}']
    const records = raw.map(createRecord)
    sendAll(memory, records)
    await memory.flush()

    expect(memory.lines()).toEqual(raw)
    expect(memory.values()).toEqual([
      { level: 30, msg: 'spaced', n: 1 },
      { msg: 'level last', level: 50 },
    ])
    const kept = memory.records()
    expect(kept).toHaveLength(2)
    expect(kept[0]).toBe(records[0])
    expect(kept[1]).toBe(records[1])
    expect(kept.map((r) => r.level)).toEqual([30, 50])
    expectLedger(memory.stats())
  })

  it('records() returns a copy; clear() forgets records but keeps the counters', async () => {
    const memory = sender()
    sendAll(memory, [createRecord(line(1)), createRecord(line(2))])
    await memory.flush()

    const copy = memory.records()
    copy.length = 0
    expect(memory.lines()).toEqual([line(1), line(2)])

    memory.clear()
    expect(memory.records()).toEqual([])
    expect(memory.lines()).toEqual([])
    expect(memory.values()).toEqual([])
    expect(memory.batches).toBe(1)
    expect(memory.stats()).toMatchObject({ received: 2, delivered: 2 })

    sendAll(memory, [createRecord(line(3))])
    await memory.flush()
    expect(memory.lines()).toEqual([line(3)])
    expect(memory.batches).toBe(2)
    expectLedger(memory.stats())
  })

  it('counts batches: 5 records with batch.maxRecords 2 arrive as 2 + 2 + 1', async () => {
    const memory = sender({ batch: { maxRecords: 2, maxWaitMs: 60_000 } })
    expect(memory.batches).toBe(0)
    sendAll(
      memory,
      [1, 2, 3, 4, 5].map((i) => createRecord(line(i))),
    )
    await memory.flush()
    expect(memory.batches).toBe(3)
    expect(memory.values().map((v) => v.i)).toEqual([1, 2, 3, 4, 5])
    expect(memory.stats()).toMatchObject({ received: 5, delivered: 5, attempts: 3 })
    expectLedger(memory.stats())
  })

  it('applies its level threshold: records below it are ignored, not received', async () => {
    const memory = sender({ level: 'warn' })
    sendAll(memory, [createRecord(line(1, 30)), createRecord(line(2, 40)), createRecord(line(3, 50))])
    await memory.flush()
    expect(memory.values().map((v) => v.i)).toEqual([2, 3])
    expect(memory.stats()).toMatchObject({ received: 2, delivered: 2 })
    expectLedger(memory.stats())
  })

  it('defaults to a capacity of 10000 and the name "memory"; close() reports nothing undelivered', async () => {
    expect(DEFAULT_MEMORY_CAPACITY).toBe(10_000)
    const memory = sender({ batch: { maxRecords: 5000, maxWaitMs: 60_000 } })
    const count = DEFAULT_MEMORY_CAPACITY + 5
    for (let i = 1; i <= count; i++) memory.send(createRecord(line(i)))
    const report = await memory.close()

    expect(report).toMatchObject({ name: 'memory', undelivered: 0, timedOut: false, abandonedAtDeadline: 0 })
    const values = memory.values()
    expect(values).toHaveLength(DEFAULT_MEMORY_CAPACITY)
    expect(values[0]!.i).toBe(6)
    expect(values.at(-1)!.i).toBe(count)
    expect(memory.batches).toBe(3)
    expect(report.stats).toMatchObject({ received: count, delivered: count })
    expectLedger(report.stats)
  })

  it('rejects bad options with a ConfigError naming the path', () => {
    expect(() => createMemorySender({ capacity: 0 })).toThrow(ConfigError)
    expect(() => createMemorySender({ capacity: 0 })).toThrow(/invalid options: capacity: /)
    expect(() => createMemorySender({ capacity: 1.5 })).toThrow(/capacity: /)
    expect(() => createMemorySender({ capasity: 3 } as MemorySenderOptions)).toThrow(/capasity/)
  })
})
