/**
 * The record parser's fast path must not forward a line that is not exactly one JSON object (issue
 * 10, item 5). isJsonObjectText is checked against JSON.parse over many generated lines, valid and
 * mutated, from a fixed seed; the parser is checked on the shapes that used to slip through.
 */
import { describe, expect, it, vi } from 'vitest'
import { isJsonObjectText, jsonObjectBytes, RecordParser } from '../../src/input/record.js'

/** What isJsonObjectText must agree with. */
function parsesToPlainObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value)
  } catch {
    return false
  }
}

/** mulberry32: a small deterministic PRNG, so that a failure is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function generator(seed: number) {
  const random = prng(seed)
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T

  const pieces = ['a', 'msg', 'é', '日本', '😀', '\u2028', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\ud800', '\udfff', ' ', 'x'.repeat(40)]
  function string(): string {
    let s = ''
    for (let k = int(6); k > 0; k--) s += pick(pieces)
    return s
  }
  const numbers = [0, -0, 1, -1, 30, 1.5, -2.25e-7, 1e21, 123456789012345, Number.MAX_SAFE_INTEGER, 5e-324, 1.7976931348623157e308]
  function value(depth: number): unknown {
    const kind = int(depth > 4 ? 5 : 7)
    if (kind === 0) return string()
    if (kind === 1) return pick(numbers) * (random() < 0.5 ? 1 : random())
    if (kind === 2) return pick([true, false, null])
    if (kind === 3) return int(100000)
    if (kind === 4) return string()
    if (kind === 5) return Array.from({ length: int(4) }, () => value(depth + 1))
    return object(depth + 1)
  }
  function object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (let k = int(5); k > 0; k--) out[string()] = value(depth)
    return out
  }

  /** JSON text of `v` with random (valid) whitespace and escapes JSON.stringify would not write. */
  function loose(v: unknown): string {
    const ws = () => pick(['', '', ' ', '\t', '\n', '\r\n', '  '])
    if (typeof v === 'string') {
      let out = '"'
      for (const ch of JSON.stringify(v).slice(1, -1).split(/(?=.)/su)) {
        if (ch === '/' && random() < 0.5) out += '\\/'
        else if (/^[a-zé]$/u.test(ch) && random() < 0.2) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
        else out += ch
      }
      return `${out}"`
    }
    if (Array.isArray(v)) return `[${ws()}${v.map((item) => `${loose(item)}${ws()}`).join(`,${ws()}`)}]`
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v).map(([key, item]) => `${loose(key)}${ws()}:${ws()}${loose(item)}${ws()}`)
      return `{${ws()}${entries.join(`,${ws()}`)}}`
    }
    return JSON.stringify(v)
  }

  /** A line in pino's shape: level first, as the fast path sees it. */
  function pinoLine(): string {
    const level = pick([10, 20, 30, 40, 50, 60])
    const line = JSON.stringify({ level, time: 1700000000000 + int(1e6), pid: int(65536), hostname: 'host', ...object(1), msg: string() })
    return random() < 0.3 ? `{"level":${JSON.stringify(pick(['info', 'error', 'warn']))},${line.slice(line.indexOf(',') + 1)}` : line
  }

  const noise = ['{', '}', '[', ']', '"', '\\', ',', ':', ' ', '0', '-', '.', 'e', '+', 't', 'n', 'u', 'x', '\u0001', '\ud800']
  /** A random edit of a line: most results are invalid, some stay valid. */
  function mutate(line: string): string {
    const at = int(line.length + 1)
    switch (int(7)) {
      case 0:
        return line.slice(0, at) // torn
      case 1:
        return line.slice(0, at) + line.slice(at + 1 + int(3)) // chars lost
      case 2:
        return line.slice(0, at) + pick(noise) + line.slice(at) // a char inserted
      case 3:
        return line.slice(0, at) + pick(noise) + line.slice(at + 1) // a char replaced
      case 4:
        return line.slice(0, at) + pinoLine() // two lines run together
      case 5:
        return line + pick([' ', '\n', '}', ']', ',', 'x', '{}', '\u00a0'])
      default:
        return pick([' ', '\t', '\ufeff', '[', '']) + line
    }
  }

  return { pinoLine, object, loose, mutate, value, random, int }
}

describe('isJsonObjectText', () => {
  it('agrees with JSON.parse (+ "is a plain object") on 20,000 generated valid lines and 60,000 mutated ones (seed 10)', () => {
    const g = generator(10)
    const disagreements: string[] = []
    let valid = 0
    let invalid = 0
    const check = (text: string) => {
      const expected = parsesToPlainObject(text)
      if (expected) valid++
      else invalid++
      if (isJsonObjectText(text) !== expected && disagreements.length < 5) disagreements.push(JSON.stringify(text))
    }
    for (let k = 0; k < 20_000; k++) {
      const line = k % 2 === 0 ? g.pinoLine() : g.loose(g.object(0))
      check(line)
      check(g.mutate(line))
      check(g.mutate(g.mutate(line)))
      check(g.mutate(g.mutate(g.mutate(line))))
    }
    expect(disagreements).toEqual([])
    // The generator covers both sides well.
    expect(valid).toBeGreaterThan(20_000)
    expect(invalid).toBeGreaterThan(40_000)
  })

  it('agrees with JSON.parse on every top-level value and on small hand-picked edge cases', () => {
    const g = generator(11)
    const cases = [
      ...Array.from({ length: 2000 }, () => g.loose(g.value(0))),
      '{}', ' {} ', '{}\n', '\r\n{}\r\n', '\ufeff{}', '{}\u00a0', '[]', '"x"', '1', 'null', '', ' ', '{', '}', '{}{}', '{} {}', '{},',
      '{"a":01}', '{"a":-0}', '{"a":-}', '{"a":1.}', '{"a":.5}', '{"a":1e}', '{"a":1e+}', '{"a":1E-5}', '{"a":+1}', '{"a":0x1}',
      '{"a":1.5e308}', '{"a":NaN}', '{"a":Infinity}', '{"a":tru}', '{"a":truex}', '{"a":nul}', '{"a":falsy}',
      '{"a":"\\u00e9"}', '{"a":"\\u00G9"}', '{"a":"\\u00e"}', '{"a":"\\x41"}', '{"a":"\\\'"}', '{"a":"\\/"}', '{"a":"\t"}', '{"a":"\u007f"}',
      '{"a":"\ud800"}', '{"a":"\udc00\ud800"}', '{"\ud83d\ude00":1}', '{"a" : [ 1 , 2 ] }', '{"a":[1,]}', '{"a":[,1]}', '{"a":{"b":}}',
      '{"a":1,}', '{,"a":1}', '{"a"1}', '{"a"::1}', '{a:1}', "{'a':1}", '{"a":1 "b":2}', '{"a":[}', '{"a":{]}', '{"a":"x}',
      `{"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`, `{"deep":${'['.repeat(5000)}${']'.repeat(4999)}}`,
      `{"deep":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}`,
    ]
    for (const text of cases) expect([text, isJsonObjectText(text)]).toEqual([text, parsesToPlainObject(text)])
  })
})

describe('RecordParser: lines that begin like pino but are not one JSON object', () => {
  const examples = [
    // Torn after a nested object: it still ends with '}', as the old prefix check wanted.
    ['a torn line', '{"level":30,"time":1700000000000,"req":{"id":"r-1","url":"/api"}'],
    ['two objects joined on one line', '{"level":30,"time":1{"level":30,"time":1700000000000,"msg":"x"}'],
    ['garbage after a numeric level', '{"level":50, this is not json }'],
    ['garbage after a label level', '{"level":"info",garbage}'],
  ] as const

  it.each(examples)('wraps %s as malformed instead of forwarding it raw', (_what, line) => {
    const record = new RecordParser().parse(line)
    expect(record.malformed).toBe(true)
    expect(record.level).toBe(30)
    const wrapped = JSON.parse(record.line) as Record<string, unknown>
    expect(wrapped).toMatchObject({ level: 30, msg: line, malformed: true })
    expect(typeof wrapped.time).toBe('number')
  })

  it('wraps with the parser\'s levelKey and messageKey', () => {
    const record = new RecordParser({ levelKey: 'severity', messageKey: 'message' }).parse('{"severity":"ERROR",oops}')
    expect(record.malformed).toBe(true)
    expect(JSON.parse(record.line)).toMatchObject({ severity: 30, message: '{"severity":"ERROR",oops}', malformed: true })
  })

  it('still takes valid pino lines on the fast path, without JSON.parse', () => {
    const parse = vi.spyOn(JSON, 'parse')
    const parser = new RecordParser()
    const lines = [
      '{"level":30,"time":1,"msg":"hello"}',
      '{"level":50,"time":1,"err":{"type":"Error","message":"a \\"quoted\\" \\u00e9 ☃ 😀","stack":"Error\\n    at x"},"tags":["a",1,true,null,-1.5e-3]}',
      '{"level":"warn","time":1,"msg":"x"}',
    ]
    for (const line of lines) {
      const record = parser.parse(line)
      expect(record.malformed).toBe(false)
      expect(record.line).toBe(line)
    }
    expect(parse).not.toHaveBeenCalled()
    parse.mockRestore()
  })

  it('never lets a line out that is not one JSON object: 40,000 generated pino lines and mutations (seed 12)', () => {
    const g = generator(12)
    const parser = new RecordParser()
    const wrong: string[] = []
    for (let k = 0; k < 10_000; k++) {
      const line = g.pinoLine()
      for (const candidate of [line, g.mutate(line), g.mutate(g.mutate(line)), g.mutate(line) + g.mutate(line)]) {
        const record = parser.parse(candidate)
        const ok = parsesToPlainObject(candidate.replace(/^\ufeff/u, '').replace(/\r$/u, ''))
        const right = ok
          ? !record.malformed
          : record.malformed && (JSON.parse(record.line) as { msg?: unknown }).msg === candidate
        if ((!right || !parsesToPlainObject(record.line)) && wrong.length < 5) wrong.push(JSON.stringify(candidate))
      }
    }
    expect(wrong).toEqual([])
  })
})

describe('RecordParser: byte order mark and carriage return', () => {
  // pino never writes them; a file written on Windows and piped in can. They are line framing, not
  // part of the record: both are removed and the line goes on as usual.
  it('drops a trailing \\r (a CRLF line ending) and forwards the line without it, on the fast path', () => {
    const parse = vi.spyOn(JSON, 'parse')
    const record = new RecordParser().parse('{"level":40,"msg":"from windows"}\r')
    expect(record).toMatchObject({ level: 40, malformed: false, line: '{"level":40,"msg":"from windows"}' })
    expect(parse).not.toHaveBeenCalled()
    parse.mockRestore()
  })

  it('drops a leading byte order mark (the first line of a UTF-8 file with a BOM)', () => {
    const record = new RecordParser().parse('\ufeff{"level":50,"msg":"first line"}\r')
    expect(record).toMatchObject({ level: 50, malformed: false, line: '{"level":50,"msg":"first line"}' })
  })

  it('does the same for lines in another shape (parsed to find their level)', () => {
    const record = new RecordParser().parse('\ufeff{"msg":"late","level":60}\r')
    expect(record).toMatchObject({ level: 60, malformed: false, line: '{"msg":"late","level":60}' })
  })

  it('wraps a line that is still not JSON with its raw text, BOM and \\r included', () => {
    const record = new RecordParser().parse('\ufeffnot json\r')
    expect(record.malformed).toBe(true)
    expect((JSON.parse(record.line) as { msg: string }).msg).toBe('\ufeffnot json\r')
  })

  it('keeps a BOM or \\r inside the line as it is: only line framing is removed', () => {
    const record = new RecordParser().parse('{"level":30,"msg":"a\\r\ufeffb"}')
    expect(record.line).toBe('{"level":30,"msg":"a\\r\ufeffb"}')
    expect(new RecordParser().parse('{"level":30}\r\r').malformed).toBe(false) // the second \r is JSON whitespace
  })
})

describe('jsonObjectBytes: lines past the shared buffer', () => {
  // A line over ~1.4 M characters gets a buffer of its own, of its exact UTF-8 size plus the sentinel
  // (it took 3 bytes per character before): the check and the size must still be right, and a shorter
  // line after it must not read what the long one left behind.
  it('checks a 3 MB line with multi-byte characters exactly, and the lines after it', () => {
    const huge = JSON.stringify({ level: 30, msg: 'é'.repeat(1_000_000) + 'x'.repeat(1_000_000) })
    expect(jsonObjectBytes(huge)).toBe(Buffer.byteLength(huge))
    expect(jsonObjectBytes(huge.slice(0, -1))).toBe(-1)
    expect(jsonObjectBytes(`${huge.slice(0, -1)},"t":tru}`)).toBe(-1)
    expect(jsonObjectBytes('{"a":1}')).toBe(7)
    expect(jsonObjectBytes('{"a":"')).toBe(-1)
  })
})
