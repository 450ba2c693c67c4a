import { describe, expect, it } from 'vitest'
import { RecordBuffer } from '../../src/queue/record-buffer.js'
import { createRecord, type LogRecord } from '../../src/record.js'

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
    expect(buffer.lowestLevel()).toBeUndefined()
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

  it('finds the lowest level present, skipping emptied lanes', () => {
    const { buffer } = fill([30, 50, 20])
    expect(buffer.lowestLevel()).toBe(20)
    expect(id(buffer.shiftLowest())).toBe(3)
    expect(buffer.lowestLevel()).toBe(30)
    expect(id(buffer.shiftLowest())).toBe(1)
    expect(buffer.lowestLevel()).toBe(50)
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
    expect(buffer.lowestLevel()).toBe(-5)
    expect(id(buffer.popLowest())).toBe(3)
    expect(buffer.lowestLevel()).toBe(10)
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
    expect(buffer.lowestLevel()).toBe(30)
  })
})
