import { describe, expect, it } from 'vitest'
import { NOT_SCALAR, topLevelValue } from '../../src/queue/top-level-value.js'

/** What JSON.parse says the top-level own field `key` holds, objects and arrays as NOT_SCALAR. */
function byJsonParse(text: string, key: string): unknown {
  const value = JSON.parse(text) as Record<string, unknown>
  if (!Object.hasOwn(value, key)) return undefined
  const field = value[key]
  return typeof field === 'object' && field !== null ? NOT_SCALAR : field
}

/** A small deterministic random source (tests must not flake). */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const KEYS = ['tenant', 'tenant2', 'ten', 't"x', 'a\\b', 'é', '\u2028', '__proto__', 'constructor', 'te\nnant', '']
const STRINGS = ['plain', '', 'with "quotes"', 'back\\slash\\', 'ends with backslash \\', '😀 emoji', 'ctl \u0001 \t', '}{][,:', 'tenant']

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 6 : 8))
  switch (pick) {
    case 0:
      return STRINGS[Math.floor(next() * STRINGS.length)]
    case 1:
      return Math.floor(next() * 2000) - 1000
    case 2:
      return next() * 1e6
    case 3:
      return next() < 0.5
    case 4:
      return null
    case 5:
      return [1e21, -0, 1.5e-7, 10][Math.floor(next() * 4)]
    case 6:
      return Array.from({ length: Math.floor(next() * 3) }, () => randomValue(next, depth + 1))
    default:
      return randomObject(next, depth + 1)
  }
}

function randomObject(next: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const n = Math.floor(next() * 5)
  for (let i = 0; i < n; i++) Object.defineProperty(out, KEYS[Math.floor(next() * KEYS.length)] as string, { value: randomValue(next, depth), enumerable: true, configurable: true, writable: true })
  return out
}

describe('topLevelValue', () => {
  it('reads what JSON.parse reads, over 5,000 random objects written compact and indented', () => {
    const next = random(15)
    let checked = 0
    for (let n = 0; n < 5000; n++) {
      const object = randomObject(next, 0)
      for (const text of [JSON.stringify(object), JSON.stringify(object, null, n % 3)]) {
        for (const key of KEYS) {
          expect(topLevelValue(text, key), `${key} in ${text}`).toEqual(byJsonParse(text, key))
          checked++
        }
      }
    }
    expect(checked).toBe(5000 * 2 * KEYS.length)
  })

  it('takes the last of duplicate keys, as JSON.parse does; a nested key of the same name is not the field', () => {
    const text = '{"level":30,"tenant":"child","req":{"tenant":"nested"},"tenant":"call","msg":"x"}'
    expect(topLevelValue(text, 'tenant')).toBe('call')
    expect(topLevelValue('{"req":{"tenant":"nested"},"list":["tenant",{"tenant":1}]}', 'tenant')).toBeUndefined()
    expect(topLevelValue('{"msg":"\\"tenant\\":\\"fake\\"","tenant":7}', 'tenant')).toBe(7)
  })

  it('decodes escapes in keys and values, and reads numbers and literals like JSON.parse', () => {
    expect(topLevelValue('{"ten\\u0061nt":"\\u00e9\\n"}', 'tenant')).toBe('é\n')
    expect(topLevelValue('{ "tenant" :  1.0e2 , "x": 1 }', 'tenant')).toBe(100)
    expect(topLevelValue('{"tenant":-0}', 'tenant')).toBe(-0)
    expect(topLevelValue('{"tenant":true}', 'tenant')).toBe(true)
    expect(topLevelValue('{"tenant":null}', 'tenant')).toBeNull()
    expect(topLevelValue('{"tenant":{"id":1}}', 'tenant')).toBe(NOT_SCALAR)
    expect(topLevelValue('{"tenant":[]}', 'tenant')).toBe(NOT_SCALAR)
    expect(topLevelValue('{}', 'tenant')).toBeUndefined()
  })

  it('reads hostile lines as JSON.parse does: number edges, lone surrogates, backslash runs, escaped keys, empty keys', () => {
    const cases = [
      '{"tenant":1E400}',
      '{"tenant":-1e400}',
      '{"tenant":1e-400}',
      '{"tenant":-0.0e0}',
      '{"tenant":"\\ud800"}',
      '{"tenant":"\\udc00\\ud800"}',
      '{"\\ud800":1,"tenant":"😀"}',
      '{"tenant":"\\\\","tenant":"\\\\\\"\\\\"}',
      '{"tenant\\\\":1}',
      '{"tenant\\"":1,"tenant":2}',
      '{"":"empty","tenant":""}',
      ' \t\r\n{ \t\r\n"tenant" \t\r\n: \t\r\n"x" \t\r\n} \t\r\n',
      '{"te\\u006eant":"a","tenant":"b","ten\\u0061nt":"c"}',
    ]
    for (const text of cases) {
      for (const key of ['tenant', '', '\ud800', 'tenant\\', 'tenant"']) expect(topLevelValue(text, key), `${key} in ${text}`).toEqual(byJsonParse(text, key))
    }
  })

  it('reads a 1 MB line of backslashes and quotes, and 100,000 nested brackets, in linear time without recursion', () => {
    const text = `{"a":"${'\\\\'.repeat(250_000)}","b":${'['.repeat(100_000)}${']'.repeat(100_000)},"c":"${'\\"'.repeat(250_000)}","tenant":"${'\\\\\\"'.repeat(100_000)}"}`
    const keys = ['a', 'b', 'c', 'tenant', 'none']
    const expected = keys.map((key) => byJsonParse(text, key))
    const started = performance.now()
    const read = keys.map((key) => topLevelValue(text, key))
    const ms = performance.now() - started
    expect(read).toEqual(expected)
    // Quadratic would be minutes here; linear is milliseconds.
    expect(ms).toBeLessThan(2000)
  })

  it('throws on a text that is not a JSON object, so that the caller can fall back to JSON.parse', () => {
    for (const bad of ['', '[1]', '{"a":1', '{"a" 1}', '{"a":"x}', '{"a":1 "b":2}', '{a:1}', '{"a":nope}']) {
      expect(() => topLevelValue(bad, 'a'), bad).toThrow(SyntaxError)
    }
  })
})
