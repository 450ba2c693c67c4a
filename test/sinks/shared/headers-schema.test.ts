/**
 * A header name or value Node's http client would refuse fails at start-up, naming its path and never
 * repeating the value (a request that can never be built used to be retried until its retries ran out).
 */
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { parseTransportOptions } from '../../../src/config/transport-options.js'

const SECRET = 'Bearer s3cr3t'

function refusal(spec: Record<string, unknown>): ConfigError {
  try {
    parseTransportOptions({ senders: [spec] })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('accepted')
}

describe('headers of the HTTP-based senders', () => {
  const specs: Record<string, Record<string, unknown>> = {
    http: { type: 'http', url: 'http://127.0.0.1:9/logs' },
    webhook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
    loki: { type: 'loki', url: 'http://127.0.0.1:9' },
    elasticsearch: { type: 'elasticsearch', url: 'http://127.0.0.1:9' },
    otlp: { type: 'otlp', url: 'http://127.0.0.1:9/v1/logs' },
  }
  for (const [type, spec] of Object.entries(specs)) {
    it(`${type}: a value with a control character or a character above U+00FF is refused, the value never shown`, () => {
      for (const value of [`${SECRET}\u0001`, `${SECRET}\n`, `${SECRET}\u20ac`]) {
        const error = refusal({ ...spec, headers: { authorization: value } })
        expect(error.message).toMatch(/senders\[0\]\.headers\.authorization: the value holds a character a header cannot carry/)
        expect(error.message).not.toContain('s3cr3t')
      }
    })

    it(`${type}: a name that is not a token is refused; ordinary names and values pass`, () => {
      expect(refusal({ ...spec, headers: { 'bad name': 'x' } }).message).toMatch(/senders\[0\]\.headers\.bad name: Invalid key/)
      expect(() => parseTransportOptions({ senders: [{ ...spec, headers: { authorization: `${SECRET}\tok é`, 'x-api-key': 'k' } }] })).not.toThrow()
    })
  }
})
