import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { LevelMap } from '../../../src/config/levels.js'
import { createRecord, LogRecord } from '../../../src/input/record.js'
import { nanosText, RecordFields, timeOf } from '../../../src/sinks/shared/record-fields.js'

/** A record as the transport would get it, with an arrival time the tests control. */
function record(value: Record<string, unknown>, arrival = 1_111_111_111_111): LogRecord {
  return new LogRecord(JSON.stringify(value), 30, false, undefined, undefined, undefined, arrival)
}

/** pino's own `time` text for a timestamp function (`,"time":…`), as its value. */
function pinoTime(fn: () => string): unknown {
  const text = fn()
  return text === '' ? undefined : (JSON.parse(`{${text.slice(1)}}`) as { time: unknown }).time
}

describe('RecordFields', () => {
  describe('keys', () => {
    it('reads level labels, messages and errors under pino\'s default keys', () => {
      const fields = new RecordFields()
      expect([fields.levelKey, fields.messageKey, fields.errorKey]).toEqual(['level', 'msg', 'err'])
      const value = { level: 50, msg: 'boom', err: { type: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x' } }
      expect(fields.levelLabel(50)).toBe('error')
      expect(fields.message(value)).toBe('boom')
      expect(fields.error(value)).toEqual({ type: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x' })
    })

    it('reads the logger\'s own levelKey, messageKey and errorKey from the context', () => {
      const fields = new RecordFields({ levelKey: 'severity', messageKey: 'message', errorKey: 'error' })
      expect([fields.levelKey, fields.messageKey, fields.errorKey]).toEqual(['severity', 'message', 'error'])
      const value = { severity: 'warn', msg: 'not this', message: 'this one', err: { message: 'not this' }, error: { message: 'that' } }
      expect(fields.message(value)).toBe('this one')
      expect(fields.error(value)).toEqual({ type: undefined, message: 'that', stack: undefined })
    })

    it('gives a number message as text, and nothing for a message or an error of another type', () => {
      const fields = new RecordFields()
      expect(fields.message({ msg: 42 })).toBe('42')
      expect(fields.message({ msg: { a: 1 } })).toBeUndefined()
      expect(fields.message({})).toBeUndefined()
      expect(fields.error({ err: 'a string' })).toBeUndefined()
      expect(fields.error({ err: null })).toBeUndefined()
      expect(fields.error({ err: { type: 1, message: ['x'] } })).toEqual({ type: undefined, message: undefined, stack: undefined })
    })

    it('names custom levels by the logger\'s labels, and an unnamed level by its number', () => {
      const fields = new RecordFields({ levels: new LevelMap({ trace: 10, debug: 20, info: 30, audit: 35, warn: 40, error: 50, fatal: 60 }) })
      expect(fields.levelLabel(35)).toBe('audit')
      expect(fields.levelLabel(30)).toBe('info')
      expect(fields.levelLabel(37)).toBe('37')
      // Asked again (cached): the same answer.
      expect(fields.levelLabel(35)).toBe('audit')
      expect(new RecordFields().levelLabel(35)).toBe('35')
    })
  })

  describe('recordTimeMs', () => {
    const fields = new RecordFields()
    const arrival = 1_111_111_111_111

    it('reads every form pino\'s own time functions write', () => {
      const at = Date.now()
      const epoch = pinoTime(pino.stdTimeFunctions.epochTime) as number
      const unix = pinoTime(pino.stdTimeFunctions.unixTime) as number
      const iso = pinoTime(pino.stdTimeFunctions.isoTime) as string
      const isoNano = pinoTime(pino.stdTimeFunctions.isoTimeNano) as string
      expect(fields.recordTimeMs(record({ time: epoch }))).toBe(epoch)
      expect(fields.recordTimeMs(record({ time: unix }))).toBe(unix * 1000)
      expect(fields.recordTimeMs(record({ time: iso }))).toBe(Date.parse(iso))
      const nano = fields.recordTimeMs(record({ time: isoNano }))
      expect(Math.floor(nano)).toBe(Date.parse(isoNano))
      for (const ms of [epoch, unix * 1000, Date.parse(iso), nano]) expect(Math.abs(ms - at)).toBeLessThan(60_000)
      // nullTime writes no time at all: the arrival time stands for it.
      expect(pinoTime(pino.stdTimeFunctions.nullTime)).toBeUndefined()
      expect(fields.recordTimeMs(record({ msg: 'x' }, arrival))).toBe(arrival)
    })

    it('reads the time of a record logged by a real pino logger with each time function', async () => {
      for (const [fn, check] of [
        [pino.stdTimeFunctions.epochTime, (t: unknown) => typeof t === 'number'],
        [pino.stdTimeFunctions.unixTime, (t: unknown) => typeof t === 'number' && t < 1e11],
        [pino.stdTimeFunctions.isoTime, (t: unknown) => typeof t === 'string'],
      ] as const) {
        const lines: string[] = []
        const logger = pino({ timestamp: fn }, { write: (line: string) => void lines.push(line) })
        const before = Math.floor(Date.now() / 1000) * 1000
        logger.info('hello')
        const logged = createRecord((lines[0] as string).trim())
        const value = logged.value()
        expect(check(value.time)).toBe(true)
        const ms = fields.recordTimeMs(logged, value)
        expect(ms).toBeGreaterThanOrEqual(before)
        // unixTime rounds to the nearest second: up to half a second ahead.
        expect(ms).toBeLessThanOrEqual(Date.now() + 1000)
      }
    })

    it('tells seconds, ms, µs and ns apart by size, fractions kept', () => {
      expect(timeOf(1_700_000_000, arrival)).toBe(1_700_000_000_000)
      expect(timeOf(1_700_000_000.25, arrival)).toBe(1_700_000_000_250)
      expect(timeOf(1_700_000_000_123, arrival)).toBe(1_700_000_000_123)
      expect(timeOf(1_700_000_000_123.5, arrival)).toBe(1_700_000_000_123.5)
      expect(timeOf(1_700_000_000_123_456, arrival)).toBeCloseTo(1_700_000_000_123.456, 3)
      // ns past 2^53: the number is the nearest double; ms come out right to well under a µs.
      expect(timeOf(1.700_000_000_123_456e18, arrival)).toBeCloseTo(1_700_000_000_123.456, 2)
      expect(timeOf(0, arrival)).toBe(0)
    })

    it('reads numbers written as strings like the numbers', () => {
      expect(timeOf('1700000000123', arrival)).toBe(1_700_000_000_123)
      expect(timeOf('1700000000', arrival)).toBe(1_700_000_000_000)
      expect(timeOf('1700000000.5', arrival)).toBe(1_700_000_000_500)
    })

    it('reads ISO 8601 / RFC 3339 dates with offsets and nanoseconds, and HTTP dates', () => {
      expect(timeOf('2024-01-31T12:00:00.123Z', arrival)).toBe(Date.UTC(2024, 0, 31, 12, 0, 0, 123))
      expect(timeOf('2024-01-31T14:00:00.123+02:00', arrival)).toBe(Date.UTC(2024, 0, 31, 12, 0, 0, 123))
      expect(timeOf('2024-01-31 12:00:00Z', arrival)).toBe(Date.UTC(2024, 0, 31, 12))
      expect(timeOf('2024-01-31T12:00:00.123456789Z', arrival)).toBeCloseTo(Date.UTC(2024, 0, 31, 12, 0, 0, 123) + 0.456789, 3)
      expect(timeOf('Wed, 31 Jan 2024 12:00:00 GMT', arrival)).toBe(Date.UTC(2024, 0, 31, 12))
    })

    it('takes the arrival time for anything that is not a time', () => {
      for (const garbage of [
        'garbage',
        'garbage 2020',
        'abc 12',
        '1 2',
        '',
        '   ',
        '0x1f',
        'Infinity',
        '-5',
        '2024-13-45T00:00:00Z',
        -1,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        true,
        null,
        undefined,
        { seconds: 1 },
        [1_700_000_000_000],
      ]) {
        expect(timeOf(garbage, arrival), JSON.stringify(garbage) ?? String(garbage)).toBe(arrival)
      }
    })
  })
})

describe('nanosText', () => {
  it('writes whole ms exactly, where ms * 1e6 as a number would not be', () => {
    expect(nanosText(1_700_000_000_123)).toBe('1700000000123000000')
    // The number ms * 1e6 is past 2^53: its exact value is another integer.
    expect(BigInt(1_700_000_000_123 * 1e6).toString()).not.toBe('1700000000123000000')
    expect(nanosText(Date.UTC(2262, 0, 1))).toBe(`${Date.UTC(2262, 0, 1)}000000`)
  })

  it('keeps fractions of a ms as ns digits, zero-padded', () => {
    expect(nanosText(1_700_000_000_123.5)).toBe('1700000000123500000')
    expect(nanosText(1_700_000_000_123.25)).toBe('1700000000123250000')
    expect(nanosText(1_700_000_000_123.0625)).toBe('1700000000123062500')
    expect(nanosText(12.000001)).toBe('12000001')
  })

  it('rounds to the nearest ns, carrying into the ms', () => {
    expect(nanosText(5.0000004)).toBe('5000000')
    expect(nanosText(5.0000006)).toBe('5000001')
    expect(nanosText(5.9999999)).toBe('6000000')
    expect(nanosText(1_700_000_000_123 + 0.9999999)).toBe('1700000000124000000')
  })

  it('writes times under 1 ms without leading zeros', () => {
    expect(nanosText(0)).toBe('0')
    expect(nanosText(0.5)).toBe('500000')
    expect(nanosText(0.000001)).toBe('1')
  })
})
