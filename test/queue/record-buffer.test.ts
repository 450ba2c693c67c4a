import { describe, expect, it } from 'vitest'
import { levelBucket, MAX_LANES, RecordBuffer as RefBuffer } from '../../src/queue/record-buffer.js'
import { RecordLog } from '../../src/queue/record-log.js'
import { createRecord, type LogRecord } from '../../src/input/record.js'

/** The buffer holds refs into a record log; this keeps the tests in records. */
class RecordBuffer {
  readonly log = new RecordLog()
  readonly #refs = new RefBuffer(this.log)
  readonly #records = new Map<number, LogRecord>()
  get size(): number {
    return this.#refs.size
  }
  get bytes(): number {
    return this.#refs.bytes
  }
  get laneCount(): number {
    return this.#refs.laneCount
  }
  push(record: LogRecord): void {
    const ref = this.log.appendRecord(record)
    this.#records.set(ref, record)
    this.#refs.push(ref, record.level, record.bytes)
  }
  #record(ref: number): LogRecord | undefined {
    return ref < 0 ? undefined : this.#records.get(ref)
  }
  peekOldest(): LogRecord | undefined {
    return this.#record(this.#refs.peekOldest())
  }
  shiftOldest(): LogRecord | undefined {
    return this.#record(this.#refs.shiftOldest())
  }
  lowestBucket(): number | undefined {
    return this.#refs.lowestBucket()
  }
  shiftLowest(): LogRecord | undefined {
    return this.#record(this.#refs.shiftLowest())
  }
  popLowest(): LogRecord | undefined {
    return this.#record(this.#refs.popLowest())
  }
  drain(): LogRecord[] {
    return this.#refs.drain().map((ref) => this.#records.get(ref) as LogRecord)
  }
}

function rec(i: number, level = 30): LogRecord {
  return createRecord(`{"level":${level},"msg":"x","i":${i}}`)
}

const id = (record: LogRecord | undefined): unknown => record?.value().i

function fill(levels: number[]): { buffer: RecordBuffer; records: LogRecord[] } {
  const buffer = new RecordBuffer()
  const records = levels.map((level, n) => rec(n + 1, level))
  for (const record of records) buffer.push(record)
  return { buffer, records }
}

describe('RecordBuffer', () => {
  it('starts empty', () => {
    const buffer = new RecordBuffer()
    expect(buffer.size).toBe(0)
    expect(buffer.bytes).toBe(0)
    expect(buffer.peekOldest()).toBeUndefined()
    expect(buffer.shiftOldest()).toBeUndefined()
    expect(buffer.lowestBucket()).toBeUndefined()
    expect(buffer.laneCount).toBe(0)
    expect(buffer.shiftLowest()).toBeUndefined()
    expect(buffer.popLowest()).toBeUndefined()
    expect(buffer.drain()).toEqual([])
  })

  it('counts records and bytes as they come and go', () => {
    const { buffer, records } = fill([30, 50, 30])
    const bytes = records.reduce((sum, r) => sum + r.bytes, 0)
    expect(buffer.size).toBe(3)
    expect(buffer.bytes).toBe(bytes)
    const first = buffer.shiftOldest()
    expect(buffer.size).toBe(2)
    expect(buffer.bytes).toBe(bytes - (first?.bytes ?? 0))
  })

  it('gives records back in arrival order across levels', () => {
    const { buffer } = fill([30, 50, 20, 30, 60, 20])
    expect(id(buffer.peekOldest())).toBe(1)
    expect(buffer.drain().map(id)).toEqual([1, 2, 3, 4, 5, 6])
    expect(buffer.size).toBe(0)
    expect(buffer.bytes).toBe(0)
  })

  it('finds the lowest level bucket present, skipping emptied lanes', () => {
    const { buffer } = fill([30, 50, 20])
    expect(buffer.lowestBucket()).toBe(levelBucket(20))
    expect(id(buffer.shiftLowest())).toBe(3)
    expect(buffer.lowestBucket()).toBe(levelBucket(30))
    expect(id(buffer.shiftLowest())).toBe(1)
    expect(buffer.lowestBucket()).toBe(levelBucket(50))
  })

  it('shiftLowest evicts the oldest and popLowest the newest record of the lowest level', () => {
    const a = fill([30, 20, 30, 20, 50, 20])
    expect(id(a.buffer.shiftLowest())).toBe(2)
    expect(id(a.buffer.shiftLowest())).toBe(4)
    expect(a.buffer.drain().map(id)).toEqual([1, 3, 5, 6])

    const b = fill([30, 20, 30, 20, 50, 20])
    expect(id(b.buffer.popLowest())).toBe(6)
    expect(id(b.buffer.popLowest())).toBe(4)
    expect(b.buffer.drain().map(id)).toEqual([1, 2, 3, 5])
  })

  it('accepts levels far out of range and orders them numerically', () => {
    const { buffer } = fill([30, 1e9, -5, 10])
    expect(buffer.lowestBucket()).toBe(levelBucket(-5))
    expect(id(buffer.popLowest())).toBe(3)
    expect(buffer.lowestBucket()).toBe(levelBucket(10))
    expect(buffer.drain().map(id)).toEqual([1, 2, 4])
  })

  it('keeps order and counts through many pushes and shifts (lane compaction)', () => {
    const buffer = new RecordBuffer()
    const records: LogRecord[] = []
    for (let i = 0; i < 10_000; i++) {
      const record = rec(i, i % 3 === 0 ? 40 : 30)
      records.push(record)
      buffer.push(record)
    }
    for (let i = 0; i < 6000; i++) expect(buffer.shiftOldest()).toBe(records[i])
    for (let i = 10_000; i < 12_000; i++) {
      const record = rec(i, 30)
      records.push(record)
      buffer.push(record)
    }
    expect(buffer.size).toBe(6000)
    expect(buffer.bytes).toBe(records.slice(6000).reduce((sum, r) => sum + r.bytes, 0))
    const rest = buffer.drain()
    expect(rest).toHaveLength(6000)
    expect(rest.every((record, n) => record === records[6000 + n])).toBe(true)
  })

  it('keeps a popped lane usable', () => {
    const { buffer } = fill([30, 30])
    buffer.popLowest()
    buffer.popLowest()
    expect(buffer.size).toBe(0)
    const late = rec(9, 30)
    buffer.push(late)
    expect(buffer.peekOldest()).toBe(late)
    expect(buffer.lowestBucket()).toBe(levelBucket(30))
  })

  describe('level buckets', () => {
    it('put each decade in its own bucket, every negative level in one and every level from 1000 up in one', () => {
      expect([0, 9, 10, 20, 30, 35, 39, 40, 60, 999].map(levelBucket)).toEqual([0, 0, 1, 2, 3, 3, 3, 4, 6, 99])
      expect([-1, -5, -1e9, Number.NaN, Number.NEGATIVE_INFINITY].map(levelBucket)).toEqual([-1, -1, -1, -1, -1])
      expect([1000, 1e9, Date.now(), Number.POSITIVE_INFINITY].map(levelBucket)).toEqual([100, 100, 100, 100])
      expect(MAX_LANES).toBe(102)
    })

    it('keeps 5,000 distinct levels in a bounded number of lanes, in arrival order', () => {
      const buffer = new RecordBuffer()
      const records: LogRecord[] = []
      // From -100 to 4899: every decade below 1000, the negative and the top bucket.
      for (let n = 0; n < 5000; n++) {
        const record = rec(n, n - 100)
        records.push(record)
        buffer.push(record)
      }
      expect(buffer.laneCount).toBe(102) // MAX_LANES
      expect(buffer.size).toBe(5000)
      const out = buffer.drain()
      expect(out).toHaveLength(5000)
      expect(out.every((record, n) => record === records[n])).toBe(true)
      expect(buffer.laneCount).toBe(102) // MAX_LANES
    })

    it('puts timestamp-like levels in a single lane', () => {
      const buffer = new RecordBuffer()
      const start = 1_700_000_000_000
      for (let n = 0; n < 5000; n++) buffer.push(rec(n, start + n))
      expect(buffer.laneCount).toBe(1)
      expect(buffer.drain().map(id)).toEqual(Array.from({ length: 5000 }, (_, n) => n))
    })

    it('evicts levels of one decade together: shiftLowest oldest first, popLowest newest first', () => {
      // 30 (info) and a custom 35 share a lane; 20 and 40 do not.
      const a = fill([35, 30, 40, 35, 30])
      expect(a.buffer.laneCount).toBe(2)
      expect(a.buffer.lowestBucket()).toBe(3)
      expect([a.buffer.shiftLowest(), a.buffer.shiftLowest()].map(id)).toEqual([1, 2])
      expect(a.buffer.drain().map(id)).toEqual([3, 4, 5])

      const b = fill([35, 30, 40, 35, 30])
      expect([b.buffer.popLowest(), b.buffer.popLowest()].map(id)).toEqual([5, 4])
      expect(b.buffer.drain().map(id)).toEqual([1, 2, 3])
    })
  })
})
