import { describe, expect, it } from 'vitest'
import { AlertDigest, type AlertDigestOptions } from '../../../src/sinks/webhook/alert-digest.js'
import { readExample, trimStack } from '../../../src/sinks/webhook/alert-fields.js'
import { LogRecord } from '../../../src/input/record.js'

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)
const WINDOW = { start: T0, end: T0 + 60_000 }

function digest(options: Partial<AlertDigestOptions> = {}): AlertDigest {
  return new AlertDigest({
    groupBy: undefined,
    maxGroups: 100,
    messageKey: 'msg',
    errorKey: 'err',
    maxStackLines: 10,
    maxStackChars: 2000,
    ...options,
  })
}

function record(fields: Record<string, unknown>): LogRecord {
  const value = { level: 50, time: T0, ...fields }
  return new LogRecord(JSON.stringify(value), value.level as number)
}

describe('AlertDigest', () => {
  describe('add', () => {
    it('groups by level, message and error type by default (err.type, else err.name)', () => {
      const d = digest()
      expect(d.add(record({ msg: 'boom', err: { type: 'TypeError' } }), T0)).toBe('new')
      expect(d.add(record({ msg: 'boom', err: { type: 'TypeError', message: 'other text' } }), T0)).toBe('grouped')
      // Same message, another error type; same message and type, another level; an error's `name`.
      expect(d.add(record({ msg: 'boom', err: { type: 'RangeError' } }), T0)).toBe('new')
      expect(d.add(record({ level: 60, msg: 'boom', err: { type: 'TypeError' } }), T0)).toBe('new')
      expect(d.add(record({ msg: 'boom', err: { name: 'RangeError' } }), T0)).toBe('grouped')
      expect(d.groups).toBe(3)
      expect(d.pending).toBe(5)

      const snapshot = d.take('window', WINDOW, T0)
      expect(snapshot?.groups.map((g) => [g.level, g.fields.msg, g.fields['err.type'], g.count])).toEqual([
        [60, 'boom', 'TypeError', 1],
        // Equal level and count: the one that came first.
        [50, 'boom', 'TypeError', 2],
        [50, 'boom', 'RangeError', 2],
      ])
      expect(snapshot).toMatchObject({ records: 5, level: 60, other: undefined })
    })

    it('groups by the given field paths', () => {
      const d = digest({ groupBy: ['msg', 'req.url'] })
      d.add(record({ msg: 'slow', req: { url: '/a' }, err: { type: 'X' } }), T0)
      d.add(record({ level: 60, msg: 'slow', req: { url: '/a' }, err: { type: 'Y' } }), T0)
      d.add(record({ msg: 'slow', req: { url: '/b' } }), T0)
      d.add(record({ msg: 'slow' }), T0)
      const snapshot = d.take('window', WINDOW, T0)
      expect(snapshot?.groups.map((g) => ({ fields: g.fields, count: g.count, level: g.level }))).toEqual([
        // The group takes the highest level of its occurrences.
        { fields: { msg: 'slow', 'req.url': '/a' }, count: 2, level: 60 },
        { fields: { msg: 'slow', 'req.url': '/b' }, count: 1, level: 50 },
        { fields: { msg: 'slow', 'req.url': '' }, count: 1, level: 50 },
      ])
    })

    it('uses the logger keys it is given (messageKey, errorKey)', () => {
      const d = digest({ messageKey: 'message', errorKey: 'error' })
      d.add(record({ message: 'custom keys', error: { type: 'E', message: 'inner', stack: 'E: inner\n    at f (a.js:1:1)' } }), T0)
      const group = d.take('window', WINDOW, T0)?.groups[0]
      expect(group?.fields).toEqual({ level: '50', message: 'custom keys', 'error.type': 'E' })
      expect(group?.example).toMatchObject({ message: 'custom keys', errorType: 'E', errorMessage: 'inner', stack: ['at f (a.js:1:1)'] })
    })

    it('keeps at most maxGroups groups; further kinds are counted as other, never dropped', () => {
      const d = digest({ maxGroups: 3 })
      for (let i = 0; i < 10; i++) d.add(record({ msg: `kind ${i}`, time: T0 + i }), T0)
      d.add(record({ msg: 'kind 0' }), T0) // an existing group still takes its own
      expect(d.groups).toBe(3)
      const snapshot = d.take('window', WINDOW, T0)
      expect(snapshot?.groups.map((g) => g.count)).toEqual([2, 1, 1])
      expect(snapshot?.other).toEqual({ count: 7, fresh: 7, firstAt: T0 + 3, lastAt: T0 + 9, level: 50 })
      expect(snapshot?.records).toBe(11)
    })
  })

  describe('take', () => {
    it('carries each record once; groups keep their window counts until clear()', () => {
      const d = digest()
      d.add(record({ msg: 'a', time: T0 + 1 }), T0)
      const first = d.take('first', WINDOW, T0)
      expect(first?.groups.map((g) => [g.count, g.fresh])).toEqual([[1, 1]])
      expect(d.take('flushLevel', WINDOW, T0)).toBeUndefined()

      d.add(record({ msg: 'a', time: T0 + 5 }), T0)
      d.add(record({ msg: 'a', time: T0 + 3 }), T0)
      d.add(record({ msg: 'b', time: T0 + 4 }), T0)
      const second = d.take('window', WINDOW, T0 + 60_000)
      expect(second?.records).toBe(3)
      expect(second?.groups.map((g) => [g.fields.msg, g.count, g.fresh, g.firstAt - T0, g.lastAt - T0])).toEqual([
        ['a', 3, 2, 1, 5],
        ['b', 1, 1, 4, 4],
      ])
      // A group without new occurrences is not in the next post.
      d.add(record({ msg: 'b', time: T0 + 9 }), T0)
      expect(d.take('close', WINDOW, T0)?.groups.map((g) => [g.fields.msg, g.count, g.fresh])).toEqual([['b', 2, 1]])

      d.clear()
      d.add(record({ msg: 'a' }), T0)
      expect(d.take('first', WINDOW, T0)?.groups.map((g) => [g.count, g.fresh])).toEqual([[1, 1]])
    })

    it('counts the bytes of the records it carries', () => {
      const d = digest()
      const records = [record({ msg: 'a' }), record({ msg: 'b' })]
      for (const r of records) d.add(r, T0)
      expect(d.pendingBytes).toBe(records[0]!.bytes + records[1]!.bytes)
      expect(d.take('window', WINDOW, T0)?.bytes).toBe(records[0]!.bytes + records[1]!.bytes)
      expect(d.pendingBytes).toBe(0)
    })

    it('takes a hand-made record whose line is not JSON under its raw text', () => {
      const d = digest()
      expect(d.add(new LogRecord('not json at all', 50), T0)).toBe('new')
      expect(d.take('first', WINDOW, T0)?.groups[0]?.example.message).toBe('not json at all')
    })
  })
})

describe('readExample', () => {
  it("reads pino's err serializer shape, the logger name, host and pid, and an ISO time", () => {
    const value = {
      level: 50,
      time: '2026-01-02T03:04:05.678Z',
      name: 'checkout',
      hostname: 'web-3',
      pid: 42,
      msg: 'charge failed',
      err: { type: 'TypeError', message: 'amount is undefined', stack: 'TypeError: amount is undefined\n    at charge (/app/pay.js:10:5)' },
    }
    expect(readExample(value, 0, { messageKey: 'msg', errorKey: 'err', maxStackLines: 10, maxStackChars: 2000 })).toEqual({
      time: Date.parse('2026-01-02T03:04:05.678Z'),
      message: 'charge failed',
      errorType: 'TypeError',
      errorMessage: 'amount is undefined',
      stack: ['at charge (/app/pay.js:10:5)'],
      stackOmitted: 0,
      name: 'checkout',
      hostname: 'web-3',
      pid: 42,
    })
  })

  it("falls back to the error's message, then to a placeholder", () => {
    const options = { messageKey: 'msg', errorKey: 'err', maxStackLines: 10, maxStackChars: 2000 }
    expect(readExample({ err: { message: 'only the error' } }, 7, options)).toMatchObject({ message: 'only the error', time: 7 })
    expect(readExample({ err: 'a string error' }, 7, options)).toMatchObject({ message: 'a string error', errorMessage: 'a string error' })
    expect(readExample({}, 7, options).message).toBe('(no message)')
  })
})

describe('trimStack', () => {
  const stack = ['TypeError: boom', ...Array.from({ length: 30 }, (_, i) => `    at f${i} (/app/file${i}.js:${i}:1)`)].join('\n')

  it('drops the header line, keeps at most maxStackLines frames and counts the rest', () => {
    expect(trimStack(stack, 'TypeError', 'boom', { maxStackLines: 3, maxStackChars: 10_000 })).toEqual({
      frames: ['at f0 (/app/file0.js:0:1)', 'at f1 (/app/file1.js:1:1)', 'at f2 (/app/file2.js:2:1)'],
      omitted: 27,
    })
  })

  it('keeps frames whole within maxStackChars, and cuts a single frame longer than all of it', () => {
    const { frames, omitted } = trimStack(stack, 'TypeError', 'boom', { maxStackLines: 100, maxStackChars: 60 })
    expect(frames).toEqual(['at f0 (/app/file0.js:0:1)', 'at f1 (/app/file1.js:1:1)'])
    expect(omitted).toBe(28)
    const long = trimStack(`E: x\n    at ${'y'.repeat(500)}`, 'E', 'x', { maxStackLines: 5, maxStackChars: 100 })
    expect(long.frames).toHaveLength(1)
    expect(long.frames[0]).toHaveLength(100)
    expect(long.frames[0]?.endsWith('…')).toBe(true)
  })

  it('keeps a first line that is not the error header, and takes no stack at all', () => {
    expect(trimStack('something else\n  at a (b.js:1:1)', 'E', 'x', { maxStackLines: 5, maxStackChars: 500 }).frames).toEqual([
      'something else',
      'at a (b.js:1:1)',
    ])
    expect(trimStack(undefined, 'E', 'x', { maxStackLines: 5, maxStackChars: 500 })).toEqual({ frames: [], omitted: 0 })
    expect(trimStack(stack, 'TypeError', 'boom', { maxStackLines: 0, maxStackChars: 500 })).toEqual({ frames: [], omitted: 30 })
  })
})
