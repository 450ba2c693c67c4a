import { describe, expect, it } from 'vitest'
import { createRecord } from '../../src/input/record.js'
import { recordLines, toJsonArray, toNdjson } from '../../src/sinks/ndjson.js'
import type { Batch } from '../../src/senders/sender.js'

function batchOf(lines: readonly string[]): Batch {
  const records = lines.map(createRecord)
  return { id: 'b1', records, bytes: records.reduce((sum, r) => sum + r.bytes, 0) }
}

const odd = ['{"level":30, "b" : 2,"a":1}', '{"msg":"x\\u00e9","level":40,"n":1.0}', '{"level":30,"msg":"☃ 𝄞"}']

describe('toNdjson', () => {
  it('joins the raw lines, each followed by a newline, byte for byte', () => {
    const batch = batchOf(odd)
    const body = toNdjson(batch)
    expect(body.toString('utf8')).toBe(`${odd[0]}\n${odd[1]}\n${odd[2]}\n`)
    expect(body.length).toBe(batch.bytes)
  })

  it('is empty for an empty batch', () => {
    expect(toNdjson({ id: 'b0', records: [], bytes: 0 })).toHaveLength(0)
  })
})

describe('toJsonArray', () => {
  it('wraps the raw lines in brackets, comma-separated, without re-serializing', () => {
    const body = toJsonArray(batchOf(odd)).toString('utf8')
    expect(body).toBe(`[${odd[0]},${odd[1]},${odd[2]}]`)
    expect(JSON.parse(body)).toEqual(odd.map((l) => JSON.parse(l) as unknown))
  })

  it('gives [one] for one record and [] for none', () => {
    expect(toJsonArray(batchOf([odd[0]!])).toString('utf8')).toBe(`[${odd[0]}]`)
    expect(toJsonArray({ id: 'b0', records: [], bytes: 0 }).toString('utf8')).toBe('[]')
  })
})

describe('recordLines', () => {
  const lineOf = (i: number): string => `{"level":30,"i":${i}}`
  const engineBatch = (lines: string[], pieces: number[]): Batch => {
    const records = lines.map((l) => createRecord(l))
    const all = Buffer.from(records.map((r) => `${r.line}\n`).join(''))
    // Cut the NDJSON after the given numbers of lines, as the record log gives runs of records.
    const ends: number[] = []
    let at = 0
    for (const n of pieces) {
      for (let k = 0; k < n; k++) at = all.indexOf(10, at) + 1
      ends.push(at)
    }
    const slices = ends.map((end, i) => all.subarray(i === 0 ? 0 : (ends[i - 1] as number), end))
    return { id: 'b', records, bytes: all.length, ndjson: () => slices }
  }

  it('gives one line per record, without newlines, across runs, as slices or as copies', () => {
    const lines = Array.from({ length: 7 }, (_, i) => lineOf(i))
    const batch = engineBatch(lines, [3, 1, 3])
    for (const copy of [false, true]) expect(recordLines(batch, { copy }).map(String)).toEqual(lines)
  })

  it('copies into memory of its own with copy: true, and slices the batch’s with copy: false', () => {
    const batch = engineBatch([lineOf(0), lineOf(1)], [2])
    const source = (batch.ndjson as () => Buffer[])()[0] as Buffer
    const sliced = recordLines(batch, { copy: false })
    const copied = recordLines(batch, { copy: true })
    source.fill(0x20)
    expect(sliced.map(String)).toEqual([' '.repeat(lineOf(0).length), ' '.repeat(lineOf(1).length)])
    expect(copied.map(String)).toEqual([lineOf(0), lineOf(1)])
  })

  it('falls back to the records’ own lines when one holds a raw newline (no fragment sent as a record)', () => {
    const lines = [lineOf(0), '{"level":30,\n"i":1}', lineOf(2)]
    const batch = engineBatch(lines, [4])
    for (const copy of [false, true]) expect(recordLines(batch, { copy }).map(String)).toEqual(lines)
  })

  it('reads hand-made batches (no ndjson)', () => {
    const records = [createRecord(lineOf(0)), createRecord(lineOf(1))]
    expect(recordLines({ id: 'x', records, bytes: 0 }, { copy: true }).map(String)).toEqual([lineOf(0), lineOf(1)])
  })
})
