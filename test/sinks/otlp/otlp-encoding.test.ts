/**
 * The OTLP encodings, read back with the official .proto files (protobufjs): every mapping rule of a
 * pino record to an OpenTelemetry log record, in protobuf, and the same request in OTLP/JSON checked
 * against the proto's JSON names and OTLP's JSON rules, then compared with the protobuf one.
 */
import { hostname } from 'node:os'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LEVELS, LevelMap, RecordParser, type LogRecord, type SenderContext } from '../../../src/index.js'
import { defaultResource, type OtlpSettings } from '../../../src/sinks/otlp/otlp-env.js'
import { severityOf } from '../../../src/sinks/otlp/otlp-mapping.js'
import { OtlpSink } from '../../../src/sinks/otlp/otlp-sink.js'
import { MAX_TIME_MS, nanosText, RecordFields } from '../../../src/sinks/shared/record-fields.js'
import { decodeJsonRequest, decodeRequest, type DecodedRecord, type DecodedRequest } from './otlp-proto.js'

const T = 1_700_000_000_123 // ms

function settings(overrides: Partial<OtlpSettings> = {}): OtlpSettings {
  return { url: 'http://127.0.0.1:9/v1/logs', protocol: 'http/protobuf', headers: {}, gzip: false, resource: defaultResource(), ...overrides }
}

interface Encoded {
  proto: DecodedRequest
  json: DecodedRequest
  records: LogRecord[]
}

/**
 * Encodes the records both ways and checks that the JSON form says what the protobuf one says.
 * `lines`: objects (stringified) or raw text; `context`: the logger's keys and levels.
 */
async function encode(lines: (object | string)[], context: SenderContext = {}, extra: Partial<OtlpSettings> = {}, indexes?: number[]): Promise<Encoded> {
  const parser = new RecordParser({ levels: context.levels, levelKey: context.levelKey, messageKey: context.messageKey })
  const records = lines.map((line) => parser.parse(typeof line === 'string' ? line : JSON.stringify(line)))
  const fields = new RecordFields(context)
  const proto = decodeRequest(await new OtlpSink(settings(extra), fields).body(records, indexes))
  const json = decodeJsonRequest((await new OtlpSink(settings({ ...extra, protocol: 'http/json' }), fields).body(records, indexes)).toString('utf8'))
  expect(json).toEqual(proto)
  return { proto, json, records }
}

async function one(line: object | string, context: SenderContext = {}): Promise<DecodedRecord> {
  const { proto } = await encode([line], context)
  expect(proto.records).toHaveLength(1)
  return proto.records[0] as DecodedRecord
}

/** ms since the epoch as the nanoseconds text OTLP carries. */
function nanos(ms: number): string {
  return `${BigInt(ms) * 1_000_000n}`
}

describe('request shape', () => {
  it('sends one ResourceLogs with one ScopeLogs named pino-courier, and the resource attributes', async () => {
    const { proto } = await encode([{ level: 30, time: T, msg: 'a' }, { level: 40, time: T, msg: 'b' }], {}, {
      resource: { ...defaultResource(), 'service.name': 'checkout', 'service.version': '1.2.3', replicas: 3, ratio: 0.5, canary: false, zones: ['a', 'b'] },
    })
    expect(proto.resourceLogs).toBe(1)
    expect(proto.scopeLogs).toBe(1)
    expect(proto.scope).toEqual({ name: 'pino-courier', version: undefined })
    expect(proto.resource).toEqual({
      'service.name': 'checkout',
      'host.name': hostname(),
      'process.pid': BigInt(process.pid),
      'service.version': '1.2.3',
      replicas: 3n,
      ratio: 0.5,
      canary: false,
      zones: ['a', 'b'],
    })
    expect(proto.records.map((r) => r.body)).toEqual(['a', 'b'])
  })

  it('encodes only the records asked for (a part of a split batch), in their order', async () => {
    const lines = Array.from({ length: 6 }, (_, i) => ({ level: 30, time: T, msg: `m${i}` }))
    const { proto } = await encode(lines, {}, {}, [4, 1, 2])
    expect(proto.records.map((r) => r.body)).toEqual(['m4', 'm1', 'm2'])
  })

  it('gzips the body when asked', async () => {
    const parser = new RecordParser()
    const records = [parser.parse(JSON.stringify({ level: 30, time: T, msg: 'zipped' }))]
    const body = await new OtlpSink(settings({ gzip: true }), new RecordFields()).body(records)
    expect(decodeRequest(gunzipSync(body)).records[0]?.body).toBe('zipped')
  })

  it('grows its buffer from a tiny size hint: 2,000 records of every size arrive whole', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => ({ level: 30, time: T + i, msg: 'x'.repeat(i % 300), i, pad: 'é'.repeat(i % 50) }))
    const { proto } = await encode(lines)
    expect(proto.records).toHaveLength(2000)
    proto.records.forEach((r, i) => {
      expect(r.body).toBe('x'.repeat(i % 300))
      expect(r.attributes).toEqual({ i: BigInt(i), pad: 'é'.repeat(i % 50) })
      expect(r.time).toBe(nanos(T + i))
    })
  })
})

describe('message, level and time', () => {
  it('maps msg to the body, the level to severity and its name, time exactly, arrival to the observed time', async () => {
    const { proto, records } = await encode([{ level: 30, time: T, pid: process.pid, hostname: hostname(), msg: 'order placed' }])
    const record = proto.records[0] as DecodedRecord
    expect(record).toMatchObject({ body: 'order placed', severityNumber: 9, severityText: 'info', time: nanos(T), attributes: {} })
    expect(record.observedTime).toBe(nanos((records[0] as LogRecord).time))
  })

  it.each([
    [10, 1, 'trace'],
    [20, 5, 'debug'],
    [30, 9, 'info'],
    [40, 13, 'warn'],
    [50, 17, 'error'],
    [60, 21, 'fatal'],
  ])('pino level %i is severity %i (%s)', async (level, severity, text) => {
    expect(await one({ level, time: T, msg: 'x' })).toMatchObject({ severityNumber: severity, severityText: text })
  })

  it('maps custom levels to the nearest of pino’s (ties to the more severe), named by the logger’s labels', async () => {
    const levels = new LevelMap({ ...DEFAULT_LEVELS, silly: 5, verbose: 15, http: 33, notice: 35, critical: 55, emergency: 70 })
    const expected: [string, number, number][] = [
      ['silly', 5, 1],
      ['verbose', 15, 5],
      ['http', 33, 9],
      ['notice', 35, 13],
      ['critical', 55, 21],
      ['emergency', 70, 21],
    ]
    const { proto } = await encode(expected.map(([, level]) => ({ level, time: T, msg: 'x' })), { levels })
    expect(proto.records.map((r) => [r.severityText, r.severityNumber])).toEqual(expected.map(([label, , severity]) => [label, severity]))
    expect(severityOf(45)).toBe(17)
    expect(severityOf(25)).toBe(9)
  })

  it('names a level the logger does not know by its number', async () => {
    expect(await one({ level: 45, time: T, msg: 'x' })).toMatchObject({ severityText: '45', severityNumber: 17 })
  })

  it('honours the logger’s levelKey and messageKey (labels as levels too)', async () => {
    const context = { levelKey: 'severity', messageKey: 'message' }
    const record = await one({ severity: 'warn', time: T, message: 'disk low', msg: 'not the message' }, context)
    expect(record).toMatchObject({ body: 'disk low', severityNumber: 13, severityText: 'warn', attributes: { msg: 'not the message' } })
  })

  it('reads every time form pino writes: epoch ms, unixTime seconds, isoTime, none (the arrival)', async () => {
    const { proto, records } = await encode([
      { level: 30, time: T, msg: 'ms' },
      { level: 30, time: 1_700_000_000, msg: 'seconds' },
      { level: 30, time: '2023-11-14T22:13:20.123Z', msg: 'iso' },
      { level: 30, msg: 'none' },
      { level: 30, time: 4_102_444_800_000, msg: 'year 2100' },
      { level: 30, time: `${T}`, msg: 'ms as text' },
    ])
    const [ms, seconds, iso, none, future, text] = proto.records as DecodedRecord[]
    expect(ms?.time).toBe('1700000000123000000')
    expect(seconds?.time).toBe('1700000000000000000')
    expect(iso?.time).toBe('1700000000123000000')
    expect(none?.time).toBe(nanos((records[3] as LogRecord).time))
    expect(future?.time).toBe('4102444800000000000')
    expect(text?.time).toBe('1700000000123000000')
    // `time` is mapped, never an attribute.
    for (const record of proto.records) expect(record.attributes).toEqual({})
  })

  it('takes no time past 2^64 ns (OTLP’s end, 2554): the arrival stands for it and the value stays an attribute', async () => {
    const { proto, records } = await encode([
      { level: 30, time: MAX_TIME_MS + 1, msg: 'ms past the end' },
      { level: 30, time: '99999999999999999999999', msg: 'ns text past the end' },
      { level: 30, time: MAX_TIME_MS, msg: 'the last ms' },
    ])
    const [ms, text, last] = proto.records as DecodedRecord[]
    expect(ms?.time).toBe(nanos((records[0] as LogRecord).time))
    expect(ms?.attributes).toEqual({ time: BigInt(MAX_TIME_MS + 1) })
    expect(text?.time).toBe(nanos((records[1] as LogRecord).time))
    expect(text?.attributes).toEqual({ time: '99999999999999999999999' })
    expect(last?.time).toBe(nanos(MAX_TIME_MS))
    expect(last?.attributes).toEqual({})
  })

  it('keeps a time that is not a time (text, negative) as an attribute, the arrival as the time', async () => {
    const lines = [
      '{"level":30,"time":"lunch","msg":"pino wrote it"}',
      '{"level":30,"time":-5,"msg":"negative"}',
      '{"msg":"x","level":30,"pid":1,"time":"lunch"}', // not where pino writes it: read from the parsed record
      '{"msg":"x","level":30,"pid":1,"time":1700000000123}',
    ]
    const { proto, records } = await encode(lines)
    const [lunch, negative, parsedLunch, parsedTime] = proto.records as DecodedRecord[]
    expect(lunch).toMatchObject({ time: nanos((records[0] as LogRecord).time), attributes: { time: 'lunch' } })
    expect(negative).toMatchObject({ time: nanos((records[1] as LogRecord).time), attributes: { time: -5n } })
    expect(parsedLunch).toMatchObject({ time: nanos((records[2] as LogRecord).time), attributes: { pid: 1n, time: 'lunch' } })
    expect(parsedTime).toMatchObject({ time: nanos(T), attributes: { pid: 1n } })
  })

  it('takes pino’s own time over a `time` the app logged after it, which stays an attribute', async () => {
    const lines = [
      `{"level":30,"time":${T},"msg":"x","time":"app's own"}`,
      `{"level":30,"time":${T},"msg":"x","time":5}`,
      '{"level":30,"time":"2023-11-14T22:13:20.123Z","msg":"x","time":"lunch"}',
      '{"level":30,"time":"2023-11-14T22:13:20.123Z","msg":"x","req":{"time":5}}', // a nested time is the app's field, the top one pino's
      `{"level":30,"time":${T},"msg":"x","time":${T}}`, // the same time twice: sent once, as the time
      '{"level":30,"time":"lunch","msg":"x","time":1700000000123}', // pino's is not a time: arrival, the app's kept
    ]
    const { proto, records } = await encode(lines)
    const times = proto.records.map((r) => r.time)
    expect(times.slice(0, 5)).toEqual([nanos(T), nanos(T), nanos(T), nanos(T), nanos(T)])
    expect(times[5]).toBe(nanos((records[5] as LogRecord).time))
    expect(proto.records.map((r) => r.attributes)).toEqual([{ time: "app's own" }, { time: 5n }, { time: 'lunch' }, { req: { time: 5n } }, {}, { time: BigInt(T) }])
    // The time sent is RecordFields.recordTimeMs's reading, record by record.
    const fields = new RecordFields()
    expect(times).toEqual(records.map((record) => nanosText(fields.recordTimeMs(record))))
  })

  it('keeps sub-millisecond time from fractional seconds to the microsecond', async () => {
    const record = await one({ level: 30, time: 1_700_000_000.123456, msg: 'x' })
    const error = BigInt(record.time) - 1_700_000_000_123_456_000n
    expect(error < 1000n && error > -1000n).toBe(true)
  })

  it('sends a malformed line’s raw text as the body', async () => {
    const record = await one('not json at all: {oops')
    expect(record).toMatchObject({ body: 'not json at all: {oops', severityNumber: 9, attributes: { malformed: true } })
  })

  it('keeps a non-string message as an attribute, with no body', async () => {
    const record = await one({ level: 30, time: T, msg: { nested: true } })
    expect(record.body).toBeUndefined()
    expect(record.attributes).toEqual({ msg: { nested: true } })
  })
})

describe('trace context', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const spanId = '00f067aa0ba902b7'

  it('moves valid trace_id, span_id and trace_flags into the record’s fields', async () => {
    const record = await one({ level: 30, time: T, msg: 'x', trace_id: traceId.toUpperCase(), span_id: spanId, trace_flags: '01', other: 1 })
    expect(record).toMatchObject({ traceId, spanId, flags: 1, attributes: { other: 1n } })
  })

  it('takes numeric trace flags (0, the default, is simply not on the wire)', async () => {
    expect(await one({ level: 30, time: T, msg: 'x', trace_id: traceId, span_id: spanId, trace_flags: 3 })).toMatchObject({ flags: 3, attributes: {} })
    expect(await one({ level: 30, time: T, msg: 'x', trace_id: traceId, span_id: spanId, trace_flags: 0 })).toMatchObject({ flags: undefined, attributes: {} })
  })

  it('leaves ids of the wrong length, not hex or all zeros, and bad flags, as attributes', async () => {
    const bad = { trace_id: traceId.slice(1), span_id: 'zz'.repeat(8), trace_flags: 'xyz' }
    const record = await one({ level: 30, time: T, msg: 'x', ...bad })
    expect(record).toMatchObject({ traceId: undefined, spanId: undefined, flags: undefined, attributes: bad })
    const zeros = await one({ level: 30, time: T, msg: 'x', trace_id: '0'.repeat(32), span_id: '0'.repeat(16), trace_flags: 300 })
    expect(zeros).toMatchObject({ traceId: undefined, spanId: undefined, flags: undefined })
    expect(zeros.attributes).toEqual({ trace_id: '0'.repeat(32), span_id: '0'.repeat(16), trace_flags: 300n })
  })
})

describe('errors', () => {
  it('maps pino’s serialized err to exception.type/.message/.stacktrace, its other fields kept under err', async () => {
    const err = { type: 'Error', message: 'connect ECONNREFUSED', stack: 'Error: connect ECONNREFUSED\n    at x (y.js:1:1)', code: 'ECONNREFUSED', errno: -111 }
    const record = await one({ level: 50, time: T, msg: 'failed', err })
    expect(record.attributes).toEqual({
      'exception.type': 'Error',
      'exception.message': 'connect ECONNREFUSED',
      'exception.stacktrace': err.stack,
      err: { code: 'ECONNREFUSED', errno: -111n },
    })
  })

  it('honours the errorKey, and sends only the exception fields there are', async () => {
    const record = await one({ level: 50, time: T, msg: 'failed', error: { message: 'boom' }, err: 'not the error' }, { errorKey: 'error' })
    expect(record.attributes).toEqual({ 'exception.message': 'boom', err: 'not the error' })
  })

  it('keeps an err field named __proto__ as a field (it must not become the prototype of the leftover fields)', async () => {
    const record = await one(`{"level":50,"time":${T},"msg":"x","err":{"type":"E","message":"m","__proto__":{"polluted":1}}}`)
    const rest = record.attributes.err as Record<string, unknown>
    expect(Object.keys(rest)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(rest, '__proto__')?.value).toEqual({ polluted: 1n })
    expect(record.attributes['exception.type']).toBe('E')
  })

  it('keeps an err that is not an error object as an attribute', async () => {
    expect((await one({ level: 50, time: T, msg: 'x', err: 'text' })).attributes).toEqual({ err: 'text' })
    expect((await one({ level: 50, time: T, msg: 'x', err: { code: 7 } })).attributes).toEqual({ err: { code: 7n } })
  })
})

describe('attributes', () => {
  it('types every JSON value: strings, ints, doubles, booleans, null, arrays, nested objects', async () => {
    const record = await one({
      level: 30,
      time: T,
      msg: 'x',
      s: 'text',
      empty: '',
      zero: 0,
      int: 42,
      negative: -7,
      float: 3.25,
      yes: true,
      no: false,
      nothing: null,
      list: [1, 'two', 3.5, false, null, [4], { five: 5 }],
      nested: { a: { b: { c: 'deep' } }, list: [] },
      '': 'empty key',
    })
    expect(record.attributes).toEqual({
      s: 'text',
      empty: '',
      zero: 0n,
      int: 42n,
      negative: -7n,
      float: 3.25,
      yes: true,
      no: false,
      nothing: null,
      list: [1n, 'two', 3.5, false, null, [4n], { five: 5n }],
      nested: { a: { b: { c: 'deep' } }, list: [] },
      '': 'empty key',
    })
    // Every field once: nothing mapped is repeated as an attribute.
    expect(new Set(record.attributeKeys).size).toBe(record.attributeKeys.length)
  })

  it('sends integers exactly as far as JSON carries them, and the rest as doubles', async () => {
    const line = '{"level":30,"time":1700000000123,"msg":"x","safe":9007199254740991,"past53":9007199254740993,"min":-9223372036854775808,"max":9223372036854775807,"huge":1e300,"tiny":-1e-300}'
    expect((await one(line)).attributes).toEqual({
      safe: 9007199254740991n,
      past53: 9007199254740992n, // what JSON.parse makes of it
      min: -9223372036854775808n,
      max: 9223372036854775808, // 2^63 as a double: past int64
      huge: 1e300,
      tiny: -1e-300,
    })
  })

  it('carries unicode everywhere, short and long, including lone surrogates as U+FFFD', async () => {
    const long = '日本語のログ 🚀 '.repeat(2000) // > 16 KiB of UTF-8: a three-byte length
    const record = await one({ level: 30, time: T, msg: 'héllo wörld ✓ 🚀', 'ключ': 'значение', emoji: '👩‍👩‍👧', long, mid: 'é'.repeat(100), lone: 'a\ud800b' })
    expect(record.body).toBe('héllo wörld ✓ 🚀')
    expect(record.attributes).toMatchObject({ 'ключ': 'значение', emoji: '👩‍👩‍👧', long, mid: 'é'.repeat(100), lone: 'a\ufffdb' })
  })

  it('drops pid and hostname when the resource says them, keeps them when they differ', async () => {
    const same = await one({ level: 30, time: T, msg: 'x', pid: process.pid, hostname: hostname() })
    expect(same.attributes).toEqual({})
    const other = await one({ level: 30, time: T, msg: 'x', pid: 1, hostname: 'elsewhere' })
    expect(other.attributes).toEqual({ pid: 1n, hostname: 'elsewhere' })
  })

  it('sends values nested past 20 levels as their JSON text, within decoders’ 100-message limit', async () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 40; i++) deep = { d: deep }
    const record = await one({ level: 30, time: T, msg: 'x', deep })
    let value = record.attributes.deep as unknown
    let depth = 0
    while (typeof value === 'object' && value !== null) {
      value = (value as Record<string, unknown>).d
      depth++
    }
    expect(depth).toBe(20)
    expect(typeof value).toBe('string')
    expect(value as string).toContain('bottom')
  })
})

describe('encoder robustness', () => {
  /** A small seeded PRNG (mulberry32), so that a failure can be replayed. */
  function random(seed: number): () => number {
    let a = seed
    return () => {
      a = (a + 0x6d2b79f5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }

  /** A value the way the decoder reports it (ints as bigint). */
  function expected(value: unknown): unknown {
    if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value) : value
    if (Array.isArray(value)) return value.map(expected)
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]))
    return value
  }

  it('round-trips 300 random records whose strings and messages straddle every length-prefix size', async () => {
    const next = random(12)
    const alphabet = ['a', 'é', '✓', '🚀', ' ', '"', '\n']
    // Lengths around 42/43 (the hand-copy limit), 127/128 and 16383/16384 bytes (one, two, three-byte lengths).
    const lengths = [0, 1, 41, 42, 43, 63, 64, 127, 128, 129, 5460, 5462, 16383, 16384, 40000]
    const text = (): string => {
      const length = lengths[Math.floor(next() * lengths.length)] as number
      let out = ''
      while (out.length < length) out += alphabet[Math.floor(next() * alphabet.length)]
      // Cut between code points: a lone surrogate is sent as U+FFFD (tested above), not round-tripped.
      return Array.from(out).slice(0, length).join('')
    }
    const value = (depth: number): unknown => {
      const pick = Math.floor(next() * (depth > 3 ? 5 : 7))
      if (pick === 0) return text()
      if (pick === 1) return Math.floor((next() - 0.5) * 2 ** Math.floor(next() * 64))
      if (pick === 2) return (next() - 0.5) * 1e6
      if (pick === 3) return next() < 0.5
      if (pick === 4) return null
      if (pick === 5) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [`k${i}${Array.from(text()).slice(0, 5).join('')}`, value(depth + 1)]))
    }
    const lines = Array.from({ length: 300 }, (_, i) => ({ level: 30, time: T + i, msg: text(), i, v: value(0), w: value(0) }))
    const { proto } = await encode(lines)
    expect(proto.records.map((r) => [r.body, r.attributes])).toEqual(
      lines.map((line) => [line.msg, expected(JSON.parse(JSON.stringify({ i: line.i, v: line.v, w: line.w })))]),
    )
  })
})
