import { describe, expect, it } from 'vitest'
import { createRecord } from '../../src/input/record.js'
import { toJsonArray, toNdjson } from '../../src/sinks/ndjson.js'
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
