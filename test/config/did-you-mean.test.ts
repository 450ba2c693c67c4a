import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError } from '../../src/config/config-error.js'
import { closestName, optionNamesAt } from '../../src/config/did-you-mean.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { createCourierStream } from '../../src/index.js'
import { configErrorOf } from '../helpers/config-error.js'

describe('closestName', () => {
  const known = ['maxRecords', 'maxBytes', 'maxWaitMs', 'concurrency', 'timeoutMs', 'url']
  it('finds a name a few edits away, a swap of neighbours, or the same but for case', () => {
    expect(closestName('maxRecord', known)).toBe('maxRecords')
    expect(closestName('concurency', known)).toBe('concurrency')
    expect(closestName('maxWiatMs', known)).toBe('maxWaitMs')
    expect(closestName('URL', known)).toBe('url')
  })
  it('suggests nothing when nothing is close', () => {
    expect(closestName('compression', known)).toBeUndefined()
    expect(closestName('x', known)).toBeUndefined()
  })
})

describe('optionNamesAt', () => {
  const schema = z.strictObject({
    senders: z.array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('a'), url: z.string(), batch: z.strictObject({ maxRecords: z.number() }).optional() }),
        z.strictObject({ type: z.literal('b'), path: z.string() }),
      ]),
    ),
    spool: z.union([z.strictObject({ dir: z.string() }), z.literal(false)]).optional(),
  })
  it('walks objects, arrays, optional values and unions (every branch)', () => {
    expect([...optionNamesAt(schema, [])].sort()).toEqual(['senders', 'spool'])
    expect([...optionNamesAt(schema, ['senders', 0])].sort()).toEqual(['batch', 'path', 'type', 'url'])
    expect([...optionNamesAt(schema, ['senders', 0, 'batch'])]).toEqual(['maxRecords'])
    expect([...optionNamesAt(schema, ['spool'])]).toEqual(['dir'])
    expect(optionNamesAt(schema, ['nowhere']).size).toBe(0)
  })
  it('with the input, only the branch of a discriminated union its discriminator picks', () => {
    expect([...optionNamesAt(schema, ['senders', 0], { senders: [{ type: 'b' }] })].sort()).toEqual(['path', 'type'])
    expect([...optionNamesAt(schema, ['senders', 1, 'batch'], { senders: [{ type: 'b' }, { type: 'a' }] })]).toEqual(['maxRecords'])
    expect([...optionNamesAt(schema, ['senders', 0, 'batch'], { senders: [{ type: 'b' }] })]).toEqual([])
    // A type no branch takes (its own error says so): every branch, as without the input.
    expect([...optionNamesAt(schema, ['senders', 0], { senders: [{ type: 'zz' }] })].sort()).toEqual(['batch', 'path', 'type', 'url'])
  })
})

describe('unknown options get a suggestion', () => {
  it('in the transport options, at every depth, with the path of the misspelt key', () => {
    const error = configErrorOf(() =>
      parseTransportOptions({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/', batch: { maxRecord: 10 }, pool: { concurency: 2 } }], statsIntervalMS: 5 }),
    )
    expect(error.message).toContain('senders[0].batch.maxRecord: unknown option (did you mean "maxRecords"?)')
    expect(error.message).toContain('senders[0].pool.concurency: unknown option (did you mean "concurrency"?)')
    expect(error.message).toContain('statsIntervalMS: unknown option (did you mean "statsIntervalMs"?)')
    expect(error.paths).toEqual(expect.arrayContaining(['senders[0].batch.maxRecord', 'senders[0].pool.concurency', 'statsIntervalMS']))
  })

  it('for a backend sender’s own options, and plain "unknown option" when nothing is close', () => {
    const error = configErrorOf(() =>
      parseTransportOptions({ senders: [{ type: 'loki', url: 'http://127.0.0.1:1/', labelkeys: ['app'], wholeNewThing: 1 }] }),
    )
    expect(error.message).toContain('senders[0].labelkeys: unknown option (did you mean "labelKeys"?)')
    expect(error.message).toMatch(/senders\[0\]\.wholeNewThing: unknown option(;|$)/)
  })

  it('in process too (createCourierStream)', () => {
    let caught: unknown
    try {
      createCourierStream({ senders: [{ type: 'file', path: '/dev/null', mkdirs: true } as never], stderr: false })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).message).toContain('senders[0].mkdirs: unknown option (did you mean "mkdir"?)')
  })

  it('never an option of another sender type than the one the spec names', () => {
    const http = configErrorOf(() => parseTransportOptions({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/', topik: 'x' }] }))
    expect(http.message).toMatch(/senders\[0\]\.topik: unknown option(;|$)/)
    expect(http.message).not.toContain('topic')
    const kafka = configErrorOf(() =>
      parseTransportOptions({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }, { type: 'kafka', brokers: ['127.0.0.1:9092'], topic: 't', topik: 'x' }] }),
    )
    expect(kafka.message).toContain('senders[1].topik: unknown option (did you mean "topic"?)')
    let caught: unknown
    try {
      createCourierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/', topik: 'x' } as never], stderr: false })
    } catch (error) {
      caught = error
    }
    expect((caught as ConfigError).message).toMatch(/senders\[0\]\.topik: unknown option(;|$)/)
  })
})
