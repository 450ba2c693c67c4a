import { describe, expect, it } from 'vitest'
import { LogRecord, createRecord } from '../../../src/input/record.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'
import {
  bsdTime,
  escapeParam,
  framed,
  rfc3339,
  sdKeys,
  severityOf,
  SyslogEncoder,
  utf8Boundary,
  type EncoderOptions,
} from '../../../src/sinks/syslog/syslog-format.js'

const T = Date.UTC(2024, 4, 1, 12, 34, 56, 789)

function encoder(options: Partial<EncoderOptions> = {}, fields = new RecordFields()): SyslogEncoder {
  return new SyslogEncoder(
    {
      format: 'rfc5424',
      facility: 1,
      hostname: 'host1',
      appName: 'api',
      procId: '4242',
      msgId: '-',
      messageOnly: false,
      structuredData: undefined,
      bom: false,
      maxMessageBytes: 8192,
      escapeLf: false,
      ...options,
    },
    fields,
  )
}

function line(fields: Record<string, unknown>, level = 30): LogRecord {
  return new LogRecord(JSON.stringify({ level, time: T, ...fields }), level)
}

const text = (e: SyslogEncoder, record: LogRecord): string => e.encode(record).bytes.toString('utf8')

describe('severityOf', () => {
  it("maps pino's levels as the issue says: fatal 2, error 3, warn 4, info 6, debug and trace 7", () => {
    expect([60, 50, 40, 30, 20, 10].map(severityOf)).toEqual([2, 3, 4, 6, 7, 7])
  })

  it('maps custom levels to the nearest by number, a tie to the more severe, and the ends stay put', () => {
    expect([100, 55, 54, 45, 44, 35, 34, 25, 24, 15, 1, 0].map(severityOf)).toEqual([2, 2, 3, 3, 4, 4, 6, 6, 7, 7, 7, 7])
  })
})

describe('RFC 5424', () => {
  it('writes PRI, version, the record time (not the arrival time) in RFC 3339 UTC with ms, the header fields and the JSON line as MSG', () => {
    const record = line({ msg: 'hello' })
    expect(text(encoder(), record)).toBe(`<14>1 2024-05-01T12:34:56.789Z host1 api 4242 - - ${record.line}`)
  })

  it('computes PRI as facility * 8 + severity for every level', () => {
    const e = encoder({ facility: 16 })
    expect(text(e, line({}, 60))).toMatch(/^<130>1 /)
    expect(text(e, line({}, 50))).toMatch(/^<131>1 /)
    expect(text(e, line({}, 10))).toMatch(/^<135>1 /)
  })

  it('reads the time pino wrote in any form (isoTime) and falls back to the arrival time without one', () => {
    const iso = new LogRecord(JSON.stringify({ level: 30, time: '2024-05-01T12:34:56.789Z', msg: 'x' }), 30)
    expect(text(encoder(), iso)).toContain(' 2024-05-01T12:34:56.789Z ')
    const none = new LogRecord('{"level":30,"msg":"x"}', 30, false, undefined, undefined, undefined, T + 1000)
    expect(text(encoder(), none)).toContain(' 2024-05-01T12:34:57.789Z ')
  })

  it('writes the MSGID when one is set', () => {
    expect(text(encoder({ msgId: 'audit' }), line({}))).toMatch(/^<14>1 \S+ host1 api 4242 audit - \{/)
  })

  it('sends the message alone with messageOnly, with the logger’s messageKey, and the line when there is no message', () => {
    const e = encoder({ messageOnly: true }, new RecordFields({ messageKey: 'message' }))
    expect(text(e, line({ message: 'only this' }))).toMatch(/ - - only this$/)
    const bare = line({ other: 1 })
    expect(text(e, bare)).toMatch(new RegExp(` - - ${bare.line.replace(/[{}[\]]/g, '\\$&')}$`))
  })

  it('sends the raw text of a malformed line, not its JSON wrapping', () => {
    const record = createRecord('not json at all')
    expect(record.malformed).toBe(true)
    expect(text(encoder(), record)).toMatch(/ - not json at all$/)
  })

  it('adds the BOM before MSG only when asked', () => {
    const bytes = encoder({ bom: true }).encode(line({ msg: 'é' })).bytes
    const at = bytes.indexOf('- - ') + 4
    expect([...bytes.subarray(at, at + 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(encoder().encode(line({ msg: 'é' })).bytes.includes(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false)
  })

  it('writes structured data from record fields, escaping ", \\ and ] in values; objects as JSON; none set: -', () => {
    const e = encoder({ structuredData: { id: 'pino@32473', keys: sdKeys({ reqId: 'req.id', user: 'user', n: 'n', ok: 'ok', gone: 'gone' }) } })
    const record = line({ req: { id: 'a"b\\c]d' }, user: { id: 7 }, n: 1.5, ok: false, gone: null })
    expect(text(e, record)).toContain(' - [pino@32473 reqId="a\\"b\\\\c\\]d" user="{\\"id\\":7}" n="1.5" ok="false"] {')
    expect(text(e, line({ other: 1 }))).toMatch(/ 4242 - - \{/)
  })

  it('reads a top-level key with a dot before the nested path', () => {
    const e = encoder({ structuredData: { id: 'x@1', keys: sdKeys(['req.id']) } })
    expect(text(e, line({ 'req.id': 'top', req: { id: 'nested' } }))).toContain('[x@1 req.id="top"]')
    expect(text(e, line({ req: { id: 'nested' } }))).toContain('[x@1 req.id="nested"]')
  })

  it('writes an LF in MSG or structured data as \\n under LF framing, and leaves it otherwise', () => {
    const record = line({ msg: 'a\nb', sd: 'c\nd' })
    const keys = { id: 'x@1', keys: sdKeys(['sd']) }
    expect(text(encoder({ messageOnly: true, structuredData: keys, escapeLf: true }), record)).toMatch(/\[x@1 sd="c\\nd"\] a\\nb$/)
    expect(text(encoder({ messageOnly: true, structuredData: keys }), record)).toMatch(/\[x@1 sd="c\nd"\] a\nb$/)
  })
})

describe('RFC 3164', () => {
  it('writes <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG in local time, the day padded with a space', () => {
    const ms = new Date(2024, 4, 3, 7, 8, 9).getTime()
    const record = new LogRecord(JSON.stringify({ level: 40, time: ms, msg: 'x' }), 40)
    expect(text(encoder({ format: 'rfc3164' }), record)).toBe(`<12>May  3 07:08:09 host1 api[4242]: ${record.line}`)
    expect(bsdTime(new Date(2024, 11, 25, 23, 59, 1).getTime())).toBe('Dec 25 23:59:01')
  })
})

describe('maxMessageBytes', () => {
  it('cuts a long message to the limit, never inside a UTF-8 character, and says how long it was', () => {
    // 'é' is 2 bytes, '€' 3: whatever the header length, the cut falls inside one of them for some offset.
    for (const char of ['é', '€', '😀']) {
      for (let max = 500; max < 510; max++) {
        const record = line({ msg: char.repeat(600) })
        const message = encoder({ maxMessageBytes: max, messageOnly: true }).encode(record)
        expect(message.bytes.length).toBeLessThanOrEqual(max)
        expect(message.bytes.length).toBeGreaterThan(max - Buffer.byteLength(char))
        expect(message.originalBytes).toBe(Buffer.byteLength(text(encoder({ messageOnly: true }), record)))
        // Valid UTF-8: decoding and encoding again gives the same bytes (no U+FFFD from a broken char).
        expect(Buffer.from(message.bytes.toString('utf8'), 'utf8').equals(message.bytes)).toBe(true)
        expect(message.bytes.toString('utf8')).toMatch(new RegExp(`^<14>1 .* - - (${char})+$`, 'u'))
      }
    }
  })

  it('leaves a message that fits exactly alone', () => {
    const record = line({ msg: 'x' })
    const size = encoder().encode(record).bytes.length
    expect(encoder({ maxMessageBytes: size }).encode(record).originalBytes).toBeUndefined()
    expect(encoder({ maxMessageBytes: size - 1 }).encode(record).originalBytes).toBe(size)
    expect(encoder({ maxMessageBytes: size - 1 }).encode(record).bytes.length).toBe(size - 1)
  })

  it('drops structured data that alone leaves no room, rather than cut it into invalid syntax', () => {
    const e = encoder({ maxMessageBytes: 500, structuredData: { id: 'x@1', keys: sdKeys(['big']) } })
    const message = e.encode(line({ big: 'y'.repeat(1000) }))
    expect(message.originalBytes).toBeGreaterThan(1000)
    expect(message.bytes.length).toBe(500)
    expect(message.bytes.toString()).toMatch(/^<14>1 \S+ host1 api 4242 - - \{"level":30/)
  })

  it('cuts an RFC 3164 message too', () => {
    const message = encoder({ format: 'rfc3164', maxMessageBytes: 1024 }).encode(line({ msg: 'z'.repeat(2000) }))
    expect(message.bytes.length).toBe(1024)
    expect(message.bytes.toString()).toMatch(/^<14>\w{3} [ \d]\d \d\d:\d\d:\d\d host1 api\[4242\]: \{/)
  })
})

describe('helpers', () => {
  it('utf8Boundary backs off to the start of a character', () => {
    const bytes = Buffer.from('aé€')
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => utf8Boundary(bytes, n))).toEqual([0, 1, 1, 3, 3, 3, 6, 6])
  })

  it('escapeParam escapes exactly ", \\ and ]', () => {
    expect(escapeParam('a"b\\c]d[e=f')).toBe('a\\"b\\\\c\\]d[e=f')
  })

  it('frames by octet counting (byte length, not characters) or with an LF', () => {
    const message = Buffer.from('<14>1 é')
    expect(Buffer.concat(framed(message, 'octet-counting')).toString()).toBe('8 <14>1 é')
    expect(Buffer.concat(framed(message, 'lf')).toString()).toBe('<14>1 é\n')
  })

  it('rfc3339 keeps milliseconds and writes Z', () => {
    expect(rfc3339(T + 0.6)).toBe('2024-05-01T12:34:56.789Z')
  })
})
