/**
 * The push body is written byte by byte (loki-entries.ts BodyWriter) rather than through
 * JSON.stringify: every line must come back from JSON.parse exactly as it went in, whatever it holds.
 */
import { describe, expect, it } from 'vitest'
import { pushBody, type LokiEntry } from '../../../src/sinks/loki/loki-entries.js'

function entry(index: number, line: string, stream = '{"app":"x"}', metadata?: string): LokiEntry {
  return { index, stream, ms: 1_700_000_000_000 + index, ns: `${1_700_000_000_000 + index}000000`, line, metadata }
}

describe('the push body', () => {
  it('carries every line exactly, quotes, backslashes, control characters and non-ASCII included', () => {
    const lines = [
      '{"level":30,"msg":"say \\"hi\\" \\\\ back"}',
      'raw "text" with \\ and \t tab, \r CR, \u0000 NUL, \u001f US, \u007f DEL',
      'ünïcödé – 日本語 😀 \u2028 \u2029',
      '',
      '"',
      '\\',
      'x'.repeat(70_000) + '"end"',
    ]
    const entries = lines.map((line, i) => entry(i, line, i % 2 === 0 ? '{"app":"x"}' : '{"app":"y","level":"info"}', i === 2 ? '{"k":"v"}' : undefined))
    const body = pushBody(entries, undefined)
    const parsed = JSON.parse(body.toString('utf8')) as { streams: { stream: Record<string, string>; values: string[][] }[] }
    const got = parsed.streams.flatMap((s) => s.values.map((v) => v[1]))
    expect(got.sort()).toEqual([...lines].sort())
    expect(parsed.streams.map((s) => s.stream)).toEqual([{ app: 'x' }, { app: 'y', level: 'info' }])
    const withMetadata = parsed.streams[0]?.values.find((v) => v[1] === lines[2])
    expect(withMetadata).toEqual([`${1_700_000_000_002}000000`, lines[2], { k: 'v' }])
  })

  it('takes only the entries of a part, grouped by stream in the order of their first entry', () => {
    const entries = [entry(0, 'a', '{"s":"1"}'), entry(1, 'b', '{"s":"2"}'), entry(2, 'c', '{"s":"1"}'), entry(3, 'd', '{"s":"2"}')]
    const parsed = JSON.parse(pushBody(entries, [1, 2, 3]).toString('utf8')) as { streams: { stream: object; values: string[][] }[] }
    expect(parsed.streams).toEqual([
      { stream: { s: '2' }, values: [[`${1_700_000_000_001}000000`, 'b'], [`${1_700_000_000_003}000000`, 'd']] },
      { stream: { s: '1' }, values: [[`${1_700_000_000_002}000000`, 'c']] },
    ])
  })

  it('matches JSON.stringify on random text', () => {
    let seed = 7
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const alphabet = ['a', '"', '\\', '\n', '\u0001', 'é', '😀', '{', '}', ' ', '\u001f', '日']
    for (let round = 0; round < 200; round++) {
      const line = Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
      const body = pushBody([entry(0, line)], undefined).toString('utf8')
      expect(body).toBe(`{"streams":[{"stream":{"app":"x"},"values":[["1700000000000000000",${JSON.stringify(line).replace(/\\[bfnrt]/g, (e) => SHORT[e] as string)}]]}]}`)
    }
  })
})

/** JSON.stringify writes these five control characters short; the body writes every one as \u00XX. */
const SHORT: Record<string, string> = { '\\b': '\\u0008', '\\f': '\\u000c', '\\n': '\\u000a', '\\r': '\\u000d', '\\t': '\\u0009' }
