import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_LEVELS, LevelMap } from '../../src/config/levels.js'
import { createRecord, FALLBACK_LEVEL, LogRecord, RecordParser } from '../../src/input/record.js'

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('RecordParser', () => {
  describe('parse', () => {
    it('reads a numeric level from the line prefix without parsing the line', () => {
      const parse = vi.spyOn(JSON, 'parse')
      const record = new RecordParser().parse('{"level":30,"time":1,"msg":"hello"}')
      expect(parse).not.toHaveBeenCalled()
      expect(record.level).toBe(30)
      expect(record.malformed).toBe(false)
      expect(record.line).toBe('{"level":30,"time":1,"msg":"hello"}')
    })

    it('reads a level that closes the object', () => {
      expect(new RecordParser().parse('{"level":50}').level).toBe(50)
    })

    it('reads a label level through the level map, custom levels included', () => {
      const parse = vi.spyOn(JSON, 'parse')
      const parser = new RecordParser({ levels: new LevelMap({ ...DEFAULT_LEVELS, audit: 35 }) })
      expect(parser.parse('{"level":"warn","msg":"x"}').level).toBe(40)
      expect(parser.parse('{"level":"audit","msg":"x"}').level).toBe(35)
      expect(parse).not.toHaveBeenCalled()
    })

    it('gives an unknown label the fallback level', () => {
      const record = new RecordParser().parse('{"level":"chatty","msg":"x"}')
      expect(record.level).toBe(30)
      expect(record.malformed).toBe(false)
    })

    it('uses a custom levelKey', () => {
      const parser = new RecordParser({ levelKey: 'severity' })
      expect(parser.parse('{"severity":40,"msg":"x"}').level).toBe(40)
      expect(parser.parse('{"msg":"x","severity":"error"}').level).toBe(50)
      expect(parser.parse('{"level":60,"msg":"x"}').level).toBe(30)
    })

    it('parses lines in another shape to find the level, and keeps the parsed value', () => {
      const parse = vi.spyOn(JSON, 'parse')
      const record = new RecordParser().parse('{"msg":"late","level":50}')
      expect(record.level).toBe(50)
      expect(parse).toHaveBeenCalledTimes(1)
      expect(record.value()).toEqual({ msg: 'late', level: 50 })
      expect(parse).toHaveBeenCalledTimes(1)
    })

    it('gives JSON without a usable level the fallback level 30', () => {
      const parser = new RecordParser()
      for (const line of ['{"msg":"x"}', '{"level":null}', '{"level":true}', '{"level":"40"}', '{"level":{}}', '{}']) {
        const record = parser.parse(line)
        expect(record.level).toBe(30)
        expect(record.malformed).toBe(false)
        expect(record.line).toBe(line)
      }
      expect(FALLBACK_LEVEL).toBe(30)
    })

    it('keeps levels far out of range finite', () => {
      const parser = new RecordParser()
      expect(parser.parse('{"level":-5,"msg":"x"}').level).toBe(-5)
      expect(parser.parse('{"level":1000000000,"msg":"x"}').level).toBe(1e9)
      expect(parser.parse('{"level":30.5,"msg":"x"}').level).toBe(30.5)
      expect(parser.parse('{"level":3e1,"msg":"x"}').level).toBe(30)
      expect(parser.parse('{"level":1e999,"msg":"x"}').level).toBe(30)
      expect(parser.parse(`{"level":${'9'.repeat(400)},"msg":"x"}`).level).toBe(30)
      expect(parser.parse(`{"level":${'9'.repeat(20)},"msg":"x"}`).level).toBe(1e20)
    })

    it('wraps a line that is not a JSON object as valid JSON holding the raw text under msg', () => {
      vi.useFakeTimers({ now: 1_700_000_000_000 })
      const parser = new RecordParser()
      for (const raw of ['Segmentation fault', '{"level":NaN}', '{"level":30', '[1,2]', 'null', '"text"', '42', '']) {
        const record = parser.parse(raw)
        expect(record.malformed).toBe(true)
        expect(record.level).toBe(30)
        expect(JSON.parse(record.line)).toEqual({ level: 30, time: 1_700_000_000_000, msg: raw, malformed: true })
        expect(record.value()).toEqual({ level: 30, time: 1_700_000_000_000, msg: raw, malformed: true })
      }
    })

    it('wraps malformed lines with a custom messageKey and levelKey', () => {
      const record = new RecordParser({ messageKey: 'message', levelKey: 'lvl' }).parse('oops "quoted" \\ text')
      const value = JSON.parse(record.line) as Record<string, unknown>
      expect(value.message).toBe('oops "quoted" \\ text')
      expect(value.lvl).toBe(30)
      expect(value).not.toHaveProperty('msg')
      expect(record.malformed).toBe(true)
    })

    it('counts bytes as UTF-8 plus the newline', () => {
      const line = '{"level":30,"msg":"héllo € 😀"}'
      const record = createRecord(line)
      expect(record.bytes).toBe(Buffer.byteLength(line, 'utf8') + 1)
      expect(record.bytes).toBe(line.length + 1 + 1 + 2 + 2)
      expect(createRecord('{"level":30}').bytes).toBe(13)
    })

    it('counts the bytes of the wrapped line for malformed input', () => {
      const record = createRecord('naïve')
      expect(record.bytes).toBe(Buffer.byteLength(record.line) + 1)
    })
  })

  describe('value', () => {
    it('parses on first use and caches the object', () => {
      const record = createRecord('{"level":30,"msg":"x","n":1}')
      const parse = vi.spyOn(JSON, 'parse')
      const first = record.value()
      expect(first).toEqual({ level: 30, msg: 'x', n: 1 })
      expect(record.value()).toBe(first)
      expect(parse).toHaveBeenCalledTimes(1)
    })
  })
})

describe('LogRecord', () => {
  it('numbers records in arrival order and stamps the arrival time', () => {
    vi.useFakeTimers({ now: 5000 })
    const a = createRecord('{"level":30}')
    vi.setSystemTime(6000)
    const b = new LogRecord('{"level":40}', 40)
    expect(b.seq).toBeGreaterThan(a.seq)
    expect(a.time).toBe(5000)
    expect(b.time).toBe(6000)
    expect(b.malformed).toBe(false)
  })
})

describe('createRecord', () => {
  it('uses pino default levels and keys', () => {
    const record = createRecord('{"level":"fatal","msg":"boom"}')
    expect(record.level).toBe(60)
    expect(record.value()).toEqual({ level: 'fatal', msg: 'boom' })
  })
})
