/**
 * The bulk body's reading of a line's `time` and `@timestamp` without parsing it, against JSON.parse
 * on lines made at random (seeded: the same lines on every run) in every shape JSON allows:
 * whitespace between any two tokens, nested values and strings holding braces, commas, quotes and
 * escapes before the field, escaped keys, repeated keys (the first one wins).
 */
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { BulkBody } from '../../../src/sinks/elasticsearch/bulk-body.js'
import { IndexName } from '../../../src/sinks/elasticsearch/index-name.js'
import { readLineFields, type LineFields } from '../../../src/sinks/elasticsearch/line-fields.js'
import { timeOf } from '../../../src/sinks/shared/record-fields.js'
import type { Batch } from '../../../src/sinks/sink.js'
import { topLevelKeys } from './fake-elasticsearch.js'

/** mulberry32: a small seeded generator, so that a failure names a line that comes back. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Keys as written in the line: plain, escaped, and near misses of the two that count. */
const KEYS = [
  '"time"', '"time"', '"time"', '"\\u0074ime"', '"tim\\u0065"', '"@timestamp"', '"\\u0040timestamp"', '"@timest\\u0061mp"',
  '"level"', '"msg"', '"ctx"', '"Time"', '"times"', '"tim"', '"timestamp"', '"@timestampx"', '"time\\"x"', '"a\\\\"', '"tïme"', '""',
]

const TEXTS = [
  'user {id} logged in', 'a}b', 'x,"time":1', '"', '\\', 'é', 'line\nbreak', '{"time":5}', '[1,{', '2020-09-13T12:26:40.000Z',
  '1600000000000', '', 'timestamp"', '\u0007', '\ud83d\ude00', 'garbage 2020', 'ops@example.com', '@timestamp',
]

interface Made {
  readonly text: string
  /** The first top-level `time` and `@timestamp`, as readLineFields gives them. */
  readonly expected: LineFields
  /** Whether a key counted twice (JSON.parse then keeps the last, readLineFields the first). */
  readonly repeated: boolean
}

function lineMaker(next: () => number): () => Made {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T
  const space = (): string => (next() < 0.7 ? '' : pick([' ', '  ', '\t', '\r', ' \t ', '\n']))
  const number = (): string =>
    pick([
      () => String(1e12 + Math.floor(next() * 1e12)),
      () => String(1e9 + Math.floor(next() * 1e9)),
      () => `${1e12 + Math.floor(next() * 1e12)}.5`,
      () => '1.6e12',
      () => '1600000000000E0',
      () => '-5',
      () => '0',
      () => '-0.25e-3',
      () => '1e400',
    ])()
  const string = (): string => JSON.stringify(pick(TEXTS)).replace('é', next() < 0.5 ? 'é' : '\\u00e9')
  const value = (depth: number): string => {
    const kind = next()
    if (kind < 0.35) return number()
    if (kind < 0.65) return string()
    if (kind < 0.75) return pick(['true', 'false', 'null'])
    if (depth > 2) return '{}'
    const size = Math.floor(next() * 3)
    if (kind < 0.88) {
      const fields = Array.from({ length: size }, () => `${space()}${pick(KEYS)}${space()}:${space()}${value(depth + 1)}${space()}`)
      return `{${fields.join(',') || space()}}`
    }
    const items = Array.from({ length: size }, () => `${space()}${value(depth + 1)}${space()}`)
    return `[${items.join(',') || space()}]`
  }
  return () => {
    const count = Math.floor(next() * 6)
    const pairs = Array.from({ length: count }, () => ({ key: pick(KEYS), value: value(0) }))
    const text = `${space()}{${space()}${pairs.map((p) => `${p.key}${space()}:${space()}${p.value}`).join(`${space()},${space()}`)}${space()}}${space()}`
    const decoded = pairs.map((p) => ({ key: JSON.parse(p.key) as string, value: JSON.parse(p.value) as unknown }))
    const first = (key: string): unknown => {
      const found = decoded.find((p) => p.key === key)
      return found === undefined ? undefined : typeof found.value === 'number' || typeof found.value === 'string' ? found.value : null
    }
    const countOf = (key: string): number => decoded.filter((p) => p.key === key).length
    return {
      text,
      expected: { time: first('time'), timestamp: first('@timestamp'), hasTimestamp: countOf('@timestamp') > 0 },
      repeated: countOf('time') > 1 || countOf('@timestamp') > 1,
    }
  }
}

/** What JSON.parse says of the line, in readLineFields' terms (the last of repeated keys). */
function fromJsonParse(text: string): LineFields {
  const value = JSON.parse(text) as Record<string, unknown>
  const kept = (field: unknown): unknown => (field === undefined || typeof field === 'number' || typeof field === 'string' ? field : null)
  return { time: kept(value.time), timestamp: kept(value['@timestamp']), hasTimestamp: Object.hasOwn(value, '@timestamp') }
}

/** Same fields: Object.is on each (JSON.stringify would write Infinity as null). */
function same(a: LineFields, b: LineFields): boolean {
  return Object.is(a.time, b.time) && Object.is(a.timestamp, b.timestamp) && a.hasTimestamp === b.hasTimestamp
}

describe('readLineFields', () => {
  it('reads the two fields of the review\'s lines, where the value after a colon starts with a space', () => {
    expect(readLineFields(Buffer.from('{"ctx": {"a": 1}, "time": 1600000000000}'))).toEqual({ time: 1_600_000_000_000, timestamp: undefined, hasTimestamp: false })
    expect(readLineFields(Buffer.from('{"msg": "user {id} logged in", "time": 1600000000000}')).time).toBe(1_600_000_000_000)
    expect(readLineFields(Buffer.from('{"level":30,"time":1600000000000,"msg":"x","time":5}')).time).toBe(1_600_000_000_000)
    expect(readLineFields(Buffer.from('{"@timest\\u0061mp":"2020-01-01T00:00:00Z"}'))).toEqual({ time: undefined, timestamp: '2020-01-01T00:00:00Z', hasTimestamp: true })
    expect(readLineFields(Buffer.from('  {"level":30,"time":"2020-09-13T12:26:40.000Z"}')).time).toBe('2020-09-13T12:26:40.000Z')
    expect(readLineFields(Buffer.from('not json "time":1600000000000'))).toEqual({ time: undefined, timestamp: undefined, hasTimestamp: false })
    expect(readLineFields(Buffer.from('{"time":01}')).time).toBeUndefined()
  })

  it('agrees with JSON.parse on 20,000 random lines (and takes the first of a repeated key)', () => {
    const make = lineMaker(random(0x5eed))
    const wrong: { text: string; got: LineFields; expected: LineFields }[] = []
    let repeated = 0
    for (let n = 0; n < 20_000; n++) {
      const line = make()
      const got = readLineFields(Buffer.from(line.text))
      // The made line is JSON, and the expectation is JSON.parse's wherever no key is repeated.
      if (line.repeated) repeated++
      else if (!same(fromJsonParse(line.text), line.expected)) throw new Error(`the test's expectation is wrong for ${line.text}`)
      if (!same(got, line.expected)) wrong.push({ text: line.text, got, expected: line.expected })
    }
    expect(wrong.slice(0, 5)).toEqual([])
    // The lines did exercise repeated keys.
    expect(repeated).toBeGreaterThan(500)
  })

  it('never throws on a line cut short or garbled, and reads what JSON.parse reads of those that parse', () => {
    const next = random(42)
    const make = lineMaker(next)
    for (let n = 0; n < 5000; n++) {
      const { text } = make()
      const cut = text.slice(0, Math.floor(next() * text.length))
      const garbled = `${cut}${String.fromCharCode(32 + Math.floor(next() * 95))}${text.slice(cut.length + 1)}`
      // As the record log holds them: UTF-8 (a surrogate cut in half is U+FFFD there).
      for (const broken of [cut, garbled].map((text) => Buffer.from(text).toString('utf8'))) {
        const got = readLineFields(Buffer.from(broken))
        let parsed: unknown
        try {
          parsed = JSON.parse(broken)
        } catch {
          continue
        }
        const keys = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? topLevelKeys(broken) : undefined
        if (keys && keys.filter((k) => k === 'time').length < 2 && keys.filter((k) => k === '@timestamp').length < 2) {
          if (!same(got, fromJsonParse(broken))) expect({ broken, got }).toEqual({ broken, got: fromJsonParse(broken) })
        }
      }
    }
  })
})

describe('BulkBody on random lines', () => {
  it('dates each record by its first time and splices @timestamp only where the record has none', () => {
    const make = lineMaker(random(7))
    const made = Array.from({ length: 3000 }, make)
    // The record parser takes a trailing \r off a line: the lines are made without one.
    const texts = made.map((m) => m.text.replace(/[\r\n]+$/, '').replaceAll('\n', ' '))
    const records = texts.map((text) => createRecord(text))
    const batch: Batch = { id: 'fuzz', records, bytes: records.reduce((n, r) => n + r.bytes, 0) }
    const index = IndexName.parse('f-%{yyyy.MM.dd.HH}') as IndexName
    const body = new BulkBody({ index, opType: 'create', addTimestamp: true }).prepare(batch)
    expect(body.count).toBe(texts.length)
    for (let i = 0; i < texts.length; i++) {
      const expected = datedBy(made[i] as Made, records[i]?.time ?? 0)
      const head = body.heads[i] as string
      const newline = head.indexOf('\n')
      const action = JSON.parse(head.slice(0, newline)) as { create: { _index: string } }
      const doc = head.slice(newline + 1) + (body.rests[i] as Buffer).toString('utf8')
      expect(action.create._index, texts[i]).toBe(index.render(expected))
      if (!(made[i] as Made).expected.hasTimestamp) {
        // A JSON object again, with one @timestamp, the record's time.
        expect(topLevelKeys(doc)?.filter((k) => k === '@timestamp'), doc).toHaveLength(1)
        expect(doc.startsWith(`{"@timestamp":"${new Date(Math.floor(expected)).toISOString()}"`), doc).toBe(true)
      } else {
        expect(doc).toBe(texts[i])
      }
    }
  })
})

/** The time the record is dated by: its first `time`, else its first `@timestamp`, else its arrival. */
function datedBy(made: Made, arrival: number): number {
  const time = timeOf(made.expected.time, Number.NaN)
  if (!Number.isNaN(time)) return time
  const timestamp = timeOf(made.expected.timestamp, Number.NaN)
  return Number.isNaN(timestamp) ? arrival : timestamp
}
