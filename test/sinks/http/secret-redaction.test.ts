/**
 * Issue 10, item 7: a secret in the URL's query, echoed back by the sink percent-encoded
 * (`?api_key=AbC/dEf+GhI=` as `AbC%2FdEf%2BGhI%3D`), appeared in stderr, warnings, stats and the close
 * report. Secrets are now found in any encoding a server echoes them in, and `x-honeycomb-team` and
 * every header whose name contains key, token, secret or auth count as credentials.
 */
import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import { HttpPoster } from '../../../src/sinks/http/http-post.js'
import { createHttpSender } from '../../../src/sinks/http/http-sender.js'
import { CREDENTIAL_HEADER, headerSecrets, quoteRedacted, redactText as redactNeedles, secretNeedles } from '../../../src/sinks/http/redact.js'
import { closeReportOf, describeApp, eventOf, useFaults } from '../../faults/run-app.js'
import { useCleanups } from '../../helpers/cleanups.js'

const { sink: faultSink, app } = useFaults()
const { defer, sink: httpSink } = useCleanups()

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

  // Found by a second review: each of these left all or part of a secret in the quote.
  it('drops the beginning of a secret at the end of a body that was cut when read, however short the quote', () => {
    const token = 'sk_live_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6'
    const needles = secretNeedles([token])
    // The read stopped inside the token; folding whitespace made the text shorter than the quote limit.
    expect(quoteRedacted(`Cannot POST /${token.slice(0, 28)}`, 512, needles, true)).toBe('Cannot POST /…')
    expect(quoteRedacted(`Cannot POST /${token.slice(0, 28)}`, 512, needles, false)).toBe(`Cannot POST /${token.slice(0, 28)}`)
  })

  it("finds a token behind a '%', a cut surrogate pair, and the spellings of HTML and JSON escapes", () => {
    const hex = 'deadbeefcafebabe0123456789abcdef'
    expect(redactText(`quota at 100%${hex} used`, [hex])).toBe('quota at 100%… used')
    const astral = `key-${'😀'.repeat(12)}-end`
    // Cut between the two halves of a surrogate pair inside the secret.
    const cut = `${'x'.repeat(10)}${astral}`.slice(0, 10 + 4 + 2 * 5 + 1)
    expect(quoteRedacted(cut, cut.length, secretNeedles([astral]), true)).toBe(`${'x'.repeat(10)}…`)
    const key = 'Ab+Cd/Ef=Gh+Ij/K'
    expect(redactText('<p>bad api_key Ab&#43;Cd&#x2f;Ef&#61;Gh&#43;Ij&#X2F;K</p>', [key])).toBe('<p>bad api_key …</p>')
    expect(redactText('{"path":"/h/cl\\u00e9-Zx81Qm2R"}', ['clé-Zx81Qm2R'])).toBe('{"path":"/h/…"}')
    // A header value holding "%41" comes back as "%41" from a server that decoded "%2541".
    expect(redactText('bad key abc%41defgh', ['abc%41defgh'])).toBe('bad key …')
  })

  it("takes a cookie's value and a token= parameter as secrets of their own", () => {
    const secrets = [
      ...headerSecrets({ cookie: 'theme=dark; session=s3ss10nV4lu3Xy', authorization: 'Token token="t0k3nV4lu3Abc"' }),
    ]
    expect(redactText('session s3ss10nV4lu3Xy expired; unknown token t0k3nV4lu3Abc; theme dark', secrets)).toBe(
      'session … expired; unknown token …; theme dark',
    )
  })

  it('names the credential headers', () => {
    for (const name of ['authorization', 'proxy-authorization', 'cookie', 'x-honeycomb-team', 'x-api-key', 'dd-api-key', 'x-auth-token', 'X-Splunk-Secret', 'apikey']) {
      expect(CREDENTIAL_HEADER.test(name), name).toBe(true)
    }
    for (const name of ['content-type', 'user-agent', 'accept', 'x-request-id']) {
      expect(CREDENTIAL_HEADER.test(name), name).toBe(false)
    }
  })
})

describe('an error body whose bytes arrive in two chunks', () => {
  it('finds a secret whose multi-byte character is split between the chunks', async () => {
    // Found by a second review: each chunk was decoded alone, the split character became two U+FFFD,
    // and the rest of the secret was quoted.
    const token = 'clé-Zx81Qm2Rt7Yp4Wn6Vb3'
    const body = Buffer.from(`Cannot POST /hook/${token}`)
    const split = body.indexOf(Buffer.from('é')) + 1
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(400, { 'content-length': body.length })
        res.write(body.subarray(0, split))
        setTimeout(() => res.end(body.subarray(split)), 50)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const { port } = server.address() as { port: number }
    const sender = createHttpSender({ url: `http://127.0.0.1:${port}/hook/${encodeURIComponent(token)}`, batch: { maxWaitMs: 0 } })
    sender.send(createRecord('{"level":30,"i":1}'))
    await sender.flush()
    const failure = sender.stats().recentFailures[0]
    await sender.close()
    expect(failure?.error).toBe(`DeliveryError: HTTP 400 from http://127.0.0.1:${port}: Cannot POST …`)
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

describe('HttpPoster secrets option', () => {
  it('cuts a secret that is not sent as such out of error bodies and quotes, in any spelling', async () => {
    const raw = 'ui2lp2axTNmsyakw9/Nnw'
    const sink = await httpSink(() => ({ status: 401, body: `bad key [${raw}] or [${encodeURIComponent(raw)}]` }))
    const poster = new HttpPoster({ url: sink.url, secrets: [raw] })
    defer(() => poster.close())
    const error = await poster.post(Buffer.from('{}\n'), { 'content-type': 'application/x-ndjson' }, AbortSignal.timeout(10_000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DeliveryError)
    expect((error as DeliveryError).message).toMatch(/^HTTP 401 from http:\/\/127\.0\.0\.1:\d+: bad key \[…\] or \[…\]$/)
    expect(poster.quote(`item refused: ${raw}`)).toBe('item refused: …')
  })
})
