/**
 * Issue 10, item 7: a secret in the URL's query, echoed back by the sink percent-encoded
 * (`?api_key=AbC/dEf+GhI=` as `AbC%2FdEf%2BGhI%3D`), appeared in stderr, warnings, stats and the close
 * report. Secrets are now found in any encoding a server echoes them in, and `x-honeycomb-team` and
 * every header whose name contains key, token, secret or auth count as credentials.
 */
import { describe, expect, it } from 'vitest'
import { CREDENTIAL_HEADER, redactText } from '../../src/senders/http-post.js'
import { closeReportOf, describeApp, eventOf, useFaults } from '../faults/run-app.js'

const { sink: faultSink, app } = useFaults()

const KEY = 'AbC/dEf+GhI='
const TEAM = 'hny_team_0123456789'
const TOKEN = 'tok-9876543210'

describe('redactText', () => {
  it('finds a secret literal, percent-encoded in either case, mixed, form-encoded or JSON-escaped', () => {
    const secrets = [KEY]
    for (const echoed of [KEY, 'AbC%2FdEf%2BGhI%3D', 'AbC%2fdEf%2bGhI%3d', 'AbC/dEf%2BGhI=', 'AbC\\/dEf+GhI=']) {
      expect(redactText(`bad key "${echoed}" given`, secrets), echoed).toBe('bad key "…" given')
    }
    expect(redactText('user=jo%20doe', ['jo doe'])).toBe('user=…')
    expect(redactText('user=jo+doe', ['jo doe'])).toBe('user=…')
    // Multi-byte characters are encoded byte by byte.
    expect(redactText('k=p%C3%A4ss', ['päss'])).toBe('k=…')
    // Regex characters in a secret are taken literally.
    expect(redactText('a.b*c and aXbbc', ['a.b*c'])).toBe('… and aXbbc')
  })

  it('names the credential headers', () => {
    for (const name of ['authorization', 'proxy-authorization', 'cookie', 'x-honeycomb-team', 'x-api-key', 'dd-api-key', 'x-auth-token', 'X-Splunk-Secret', 'apikey']) {
      expect(CREDENTIAL_HEADER.test(name), name).toBe(true)
    }
    for (const name of ['content-type', 'user-agent', 'idempotency-key-name-is-fine'.replace('-key', '')]) {
      expect(CREDENTIAL_HEADER.test(name), name).toBe(false)
    }
  })
})

describe('secrets echoed by a sink, through the real transport', () => {
  it('appear in no stderr line, warning, stats snapshot or close report', async () => {
    // Every request is refused (400, permanent) with a body quoting the credentials as servers do.
    const echo = `invalid api_key=AbC%2FdEf%2BGhI%3D (raw ${KEY}, form AbC/dEf GhI=) for team ${TEAM} token ${TOKEN}`
    const sink = await faultSink(() => ({ status: 400, body: echo }))
    const result = await app({
      url: `${sink.url}?api_key=${KEY}`,
      count: 10,
      sender: { headers: { 'x-honeycomb-team': TEAM, 'X-Custom-Token': TOKEN } },
      options: { statsIntervalMs: 100 },
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    expect(report.senders[0]?.stats).toMatchObject({ received: 10, failed: 10 })
    // The failure is reported, with what is not secret in the sink's answer.
    expect(result.stderr).toContain('HTTP 400 from http://127.0.0.1')
    expect(result.stderr).toContain('invalid … (raw …, form …) for team … token …')
    const everything = [result.stderr, JSON.stringify(report), JSON.stringify(eventOf(result, 'closed').stats)].join('\n')
    for (const leak of [KEY, 'AbC%2FdEf%2BGhI%3D', 'AbC/dEf GhI=', 'dEf', TEAM, TOKEN]) {
      expect(everything, `"${leak}" leaked`).not.toContain(leak)
    }
  })
})
