import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { deliveryDefaults, MAX_TRANSPORT_CLOSE_TIMEOUT_MS, parseTransportOptions } from '../../src/config/transport-options.js'

function errorOf(input: unknown): ConfigError {
  try {
    parseTransportOptions(input)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('parseTransportOptions', () => {
  it('fills in defaults and ignores the keys pino and thread-stream add', () => {
    const options = parseTransportOptions({
      senders: [{ type: 'file', path: '/tmp/x.ndjson' }],
      pinoWillSendConfig: true,
      $context: { threadStreamVersion: '4' },
    })
    expect(options).toMatchObject({ closeTimeoutMs: 5000, statsIntervalMs: 5000, warnIntervalMs: 10_000, stderr: true })
    expect(options).not.toHaveProperty('pinoWillSendConfig')
    expect(options).not.toHaveProperty('$context')
  })

  it('names senders by type, and by type and index when a type repeats', () => {
    const options = parseTransportOptions({
      senders: [
        { type: 'http', url: 'http://127.0.0.1:1/a' },
        { type: 'file', path: '/tmp/a' },
        { type: 'http', url: 'http://127.0.0.1:1/b' },
        { type: 'http', name: 'http-2', url: 'http://127.0.0.1:1/c' },
      ],
    })
    expect(options.senders.map((s) => s.name)).toEqual(['http-0', 'file', 'http-2_', 'http-2'])
  })

  it('refuses duplicate names, naming the second', () => {
    const error = errorOf({
      senders: [
        { type: 'file', name: 'x', path: '/tmp/a' },
        { type: 'file', name: 'x', path: '/tmp/b' },
      ],
    })
    expect(error.paths).toEqual(['senders[1].name'])
    expect(error.message).toContain('duplicate sender name "x" (also senders[0])')
  })

  it('keeps closeTimeoutMs inside pino exit limit', () => {
    expect(MAX_TRANSPORT_CLOSE_TIMEOUT_MS).toBe(9000)
    expect(parseTransportOptions({ senders: [{ type: 'file', path: '/tmp/a' }], closeTimeoutMs: 9000 }).closeTimeoutMs).toBe(9000)
    const error = errorOf({ senders: [{ type: 'file', path: '/tmp/a' }], closeTimeoutMs: 9001 })
    expect(error.paths).toEqual(['closeTimeoutMs'])
    expect(error.message).toContain("closeTimeoutMs: must stay under pino's 10 s exit limit")
  })

  it('names every bad path at once', () => {
    const error = errorOf({
      senders: [{ type: 'http', url: 'nope' }, { type: 'smtp' }],
      queue: { maxRecords: 0 },
      bogus: true,
    })
    expect(error.paths).toEqual(['senders[0].url', 'senders[1].type', 'queue.maxRecords', 'bogus'])
  })

  it('refuses an empty sender list and a missing one', () => {
    expect(errorOf({ senders: [] }).paths).toEqual(['senders'])
    expect(errorOf(undefined).paths).toEqual(['senders'])
  })
})

describe('deliveryDefaults', () => {
  it('is the top-level queue/batch/pool/retry as one layer', () => {
    expect(deliveryDefaults({ queue: { maxRecords: 5 }, retry: { maxAttempts: 2 } })).toEqual([
      { queue: { maxRecords: 5 }, batch: undefined, pool: undefined, retry: { maxAttempts: 2 } },
    ])
  })
})
