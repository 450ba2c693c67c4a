/**
 * Issue 10, item 7: a secret in the URL's query, echoed back by the sink percent-encoded
 * (`?api_key=AbC/dEf+GhI=` as `AbC%2FdEf%2BGhI%3D`), appeared in stderr, warnings, stats and the close
 * report. Secrets are now found in any encoding a server echoes them in, and `x-honeycomb-team` and
 * every header whose name contains key, token, secret or auth count as credentials.
 */
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../src/record.js'
import { createHttpSender } from '../../src/senders/http-sender.js'
import { CREDENTIAL_HEADER, quoteRedacted, redactText as redactNeedles, secretNeedles } from '../../src/senders/redact.js'
import { closeReportOf, describeApp, eventOf, useFaults } from '../faults/run-app.js'

const { sink: faultSink, app } = useFaults()

const redactText = (text: string, secrets: string[]): string => redactNeedles(text, secretNeedles(secrets))

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

  it('takes secrets of any length, linearly: a 9 KB token is redacted, not spelt out in an error', () => {
    // The first version built one regular expression of every spelling of every secret: past ~6 KB of
    // token V8 refused it ("Regular expression too large"), and that error quoted the whole pattern.
    const token = 'SeCrEt'.repeat(1500)
    const echoed = `bad token ${encodeURIComponent(token)} and ${token.toLowerCase()}`
    expect(redactText(echoed, [token])).toBe(`bad token … and ${token.toLowerCase()}`)
    // Many secrets, a long body: every occurrence goes.
    const secrets = Array.from({ length: 40 }, (_, i) => `value-${i}-${'x'.repeat(60)}`)
    const body = [...secrets, ...secrets].map((secret) => `k=${encodeURIComponent(secret)}`).join('&')
    expect(redactText(body, secrets)).toBe(Array(80).fill('k=…').join('&'))
  })

  it('cuts a quote without leaving the beginning of a secret in any spelling, nor half an escape', () => {
    const token = 'AbCdEfGhIjKlMnOp/QrStUvWx'
    const needles = secretNeedles([token])
    // The secret starts just before the cut and runs past it, percent-encoded.
    const body = `${'x'.repeat(20)}${encodeURIComponent(token)}`
    expect(quoteRedacted(body.slice(0, 30), 25, needles)).toBe(`${'x'.repeat(20)}…`)
    expect(quoteRedacted(`${'x'.repeat(20)}AbCd%2`, 25, needles)).toBe(`${'x'.repeat(20)}…`)
    expect(quoteRedacted(`${'x'.repeat(30)}`, 25, needles)).toBe(`${'x'.repeat(25)}…`)
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

describe('a 400 echoing a 9 KB token in the URL', () => {
  it('stays a permanent failure, tried once, and its message holds no part of the token', async () => {
    const token = 'SeCrEt'.repeat(1500)
    const sink = await faultSink(() => ({ status: 400, body: `unknown api_key=${token}` }))
    const sender = createHttpSender({ url: `${sink.url}?api_key=${token}`, batch: { maxWaitMs: 0 }, retry: { baseDelayMs: 1 } })
    sender.send(createRecord('{"level":30,"i":1}'))
    await sender.flush()
    const stats = sender.stats()
    await sender.close()
    expect(sink.requests).toHaveLength(1)
    expect(stats.recentFailures[0]).toMatchObject({ reason: 'permanent', status: 400, attempts: 1 })
    const messages = JSON.stringify(stats)
    expect(messages).toContain('HTTP 400 from http://127.0.0.1')
    expect(messages).not.toContain('SeCrEt')
    expect(messages).not.toContain('(?:')
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
