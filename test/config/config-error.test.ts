import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError, formatOptionPath } from '../../src/config/config-error.js'

const schema = z.strictObject({
  senders: z.array(z.strictObject({ url: z.url(), batch: z.strictObject({ maxRecords: z.number().int().positive() }).optional() })),
  level: z.string().optional(),
})

function zodError(input: unknown): z.ZodError {
  const parsed = schema.safeParse(input)
  if (parsed.success) throw new Error('expected the input to be invalid')
  return parsed.error
}

describe('formatOptionPath', () => {
  it.each([
    [['senders', 0, 'url'], 'senders[0].url'],
    [['a', 'b', 'c'], 'a.b.c'],
    [['a', 0, 1, 'b'], 'a[0][1].b'],
    [[0, 'x'], '[0].x'],
    [[], ''],
  ] as [PropertyKey[], string][])('%j -> %s', (path, expected) => {
    expect(formatOptionPath(path)).toBe(expected)
  })
})

describe('ConfigError', () => {
  it('is an Error named ConfigError with paths and an optional cause', () => {
    const plain = new ConfigError('bad')
    expect(plain).toBeInstanceOf(Error)
    expect(plain.name).toBe('ConfigError')
    expect(plain.paths).toEqual([])
    expect(plain.cause).toBeUndefined()
    const cause = new Error('root')
    const detailed = new ConfigError('bad', { paths: ['a.b'], cause })
    expect(detailed.paths).toEqual(['a.b'])
    expect(detailed.cause).toBe(cause)
  })

  describe('fromZod', () => {
    it('names the path of the option, like senders[0].url', () => {
      const cause = zodError({ senders: [{ url: 'not a url' }] })
      const error = ConfigError.fromZod(cause)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toMatch(/^pino-courier: invalid options: senders\[0\]\.url: \S/)
      expect(error.paths).toEqual(['senders[0].url'])
      expect(error.cause).toBe(cause)
    })

    it('lists every issue, separated by "; "', () => {
      const error = ConfigError.fromZod(
        zodError({ senders: [{ url: 'http://ok.test' }, { url: 'http://ok.test', batch: { maxRecords: 0 } }], level: 3 }),
      )
      expect(error.paths).toEqual(['senders[1].batch.maxRecords', 'level'])
      const body = error.message.replace('pino-courier: invalid options: ', '')
      const parts = body.split('; ')
      expect(parts).toHaveLength(2)
      expect(parts[0]).toMatch(/^senders\[1\]\.batch\.maxRecords: /)
      expect(parts[1]).toMatch(/^level: /)
    })

    it('prefixes paths, splitting the prefix into keys and indexes', () => {
      const inner = z.strictObject({ batch: z.strictObject({ maxRecords: z.number().positive() }) })
      const parsed = inner.safeParse({ batch: { maxRecords: -1 } })
      expect(parsed.success).toBe(false)
      if (parsed.success) return
      expect(ConfigError.fromZod(parsed.error, 'senders[2]').paths).toEqual(['senders[2].batch.maxRecords'])
      expect(ConfigError.fromZod(parsed.error, 'options.senders[2]').paths).toEqual(['options.senders[2].batch.maxRecords'])
    })

    it('names an unknown key by its own path', () => {
      const error = ConfigError.fromZod(zodError({ senders: [{ url: 'http://ok.test', bogus: 1, other: 2 }] }))
      expect(error.paths).toEqual(['senders[0].bogus', 'senders[0].other'])
      expect(error.message).toBe(
        'pino-courier: invalid options: senders[0].bogus: unknown option; senders[0].other: unknown option',
      )
    })

    it('leaves out the path for an issue at the root without prefix', () => {
      const parsed = z.number().safeParse('x')
      expect(parsed.success).toBe(false)
      if (parsed.success) return
      const error = ConfigError.fromZod(parsed.error)
      expect(error.paths).toEqual([''])
      expect(error.message).toBe(`pino-courier: invalid options: ${parsed.error.issues[0]?.message}`)
      expect(ConfigError.fromZod(parsed.error, 'senders[4]').message).toMatch(/^pino-courier: invalid options: senders\[4\]: /)
    })
  })
})
