/**
 * HttpPoster.postForAnswer and HttpPoster.quote, the pieces of the poster the backend sinks read
 * answers with, against real HTTP servers on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import { HttpPoster } from '../../../src/sinks/http/http-post.js'
import { useCleanups } from '../../helpers/cleanups.js'

const cleanups = useCleanups()

function poster(url: string): HttpPoster {
  const created = new HttpPoster({ url })
  cleanups.defer(() => created.close())
  return created
}

/** A raw server, for answers the scripted sink cannot give (a body that breaks off, one that trickles). */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.defer(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/answer`
}

const body = Buffer.from('{"i":1}\n')
const timeout = (): AbortSignal => AbortSignal.timeout(10_000)

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DeliveryError)
  return error as DeliveryError
}

describe('HttpPoster.postForAnswer', () => {
  it('resolves with a 2xx status and its whole body, read to the end', async () => {
    const answer = JSON.stringify({ errors: true, items: Array.from({ length: 5000 }, (_, i) => ({ index: { _id: `id-${i}`, status: 201 } })) })
    const sink = await cleanups.sink(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: answer }))
    const result = await poster(sink.url).postForAnswer(body, { 'content-type': 'application/x-ndjson' }, timeout())
    expect(result.status).toBe(200)
    expect(result.body.toString('utf8')).toBe(answer)
    expect(sink.requests[0]?.body).toBe('{"i":1}\n')
  })

  it('reads a 2xx body that arrives in several pieces over time', async () => {
    const url = await rawServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(207, { 'content-type': 'application/json' })
        res.write('{"partial')
        setTimeout(() => res.end('Success":{"rejected":2}}'), 50)
      })
    })
    const result = await poster(url).postForAnswer(body, {}, timeout())
    expect(result).toEqual({ status: 207, body: Buffer.from('{"partialSuccess":{"rejected":2}}') })
  })

  it('returns the statuses `answers` picks with their body, and rejects the others as usual', async () => {
    const sink = await cleanups.sink((_request, index) =>
      index === 0 ? { status: 400, body: '{"error":"entry out of order"}' } : { status: 400, body: 'bad request' },
    )
    const p = poster(sink.url)
    const picked = await p.postForAnswer(body, {}, timeout(), { answers: (status) => status === 400 })
    expect(picked).toEqual({ status: 400, body: Buffer.from('{"error":"entry out of order"}') })
    const refused = await failure(p.postForAnswer(body, {}, timeout()))
    expect(refused).toMatchObject({ status: 400, permanent: true })
    expect(refused.message).toMatch(/^HTTP 400 from http:\/\/127\.0\.0\.1:\d+: bad request$/)
  })

  it('rejects 5xx and 429 as transient, with Retry-After, whatever `answers` says of 400', async () => {
    const sink = await cleanups.sink((_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '4' } } : { status: 429, headers: { 'retry-after': '2' } },
    )
    const p = poster(sink.url)
    const answers = { answers: (status: number) => status === 400 }
    expect(await failure(p.postForAnswer(body, {}, timeout(), answers))).toMatchObject({ status: 503, permanent: false, retryAfterMs: 4000 })
    expect(await failure(p.postForAnswer(body, {}, timeout(), answers))).toMatchObject({ status: 429, permanent: false, retryAfterMs: 2000 })
  })

  it('an answer over maxBytes leaves the outcome unknown: a transient DeliveryError', async () => {
    const sink = await cleanups.sink(() => ({ status: 200, body: 'x'.repeat(10_000) }))
    const p = poster(sink.url)
    const error = await failure(p.postForAnswer(body, {}, timeout(), { maxBytes: 1000 }))
    expect(error).toMatchObject({ status: 200, permanent: false })
    expect(error.message).toMatch(/answer from http:\/\/127\.0\.0\.1:\d+ is over 1000 bytes: outcome unknown/)
    // Exactly at the limit is fine.
    expect((await p.postForAnswer(body, {}, timeout(), { maxBytes: 10_000 })).body.length).toBe(10_000)
  })

  it('a body that breaks off leaves the outcome unknown: a transient DeliveryError', async () => {
    const url = await rawServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
        res.write('{"errors":false,"items":[')
        setTimeout(() => res.socket?.destroy(), 20)
      })
    })
    const error = await failure(poster(url).postForAnswer(body, {}, timeout()))
    expect(error).toMatchObject({ status: 200, permanent: false })
    expect(error.message).toMatch(/answer from http:\/\/127\.0\.0\.1:\d+ broke off \(HTTP 200\): outcome unknown/)
  })

  it('rejects when the attempt is aborted before the answer comes', async () => {
    const sink = await cleanups.sink(() => ({ hang: true }))
    const controller = new AbortController()
    const pending = poster(sink.url).postForAnswer(body, {}, controller.signal)
    await sink.waitFor(() => sink.requests.length === 1)
    controller.abort(new Error('attempt timed out'))
    const error = await failure(pending)
    expect(error.permanent).toBe(false)
    expect(error.message).toMatch(/attempt timed out/)
  })

  it('rejects when the attempt is aborted while the body trickles in', async () => {
    const url = await rawServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"items":[')
        // The rest never comes.
      })
    })
    const controller = new AbortController()
    const pending = poster(url).postForAnswer(body, {}, controller.signal)
    setTimeout(() => controller.abort(new Error('attempt timed out')), 100)
    const error = await failure(pending)
    expect(error).toMatchObject({ status: 200, permanent: false })
    expect(error.message).toMatch(/broke off/)
    expect((error.cause as Error).message).toBe('attempt timed out')
  })
})

describe('HttpPoster.quote', () => {
  const url = 'https://user:hunter2-password@ingest.example.com/v1/ingest/tok-0123456789abcdef?api_key=key-ABCDEFGH12345678'

  it('cuts out the URL\'s path, query and credentials, in the spellings servers echo them', () => {
    const p = new HttpPoster({ url })
    const echoed = [
      'Cannot POST /v1/ingest/tok-0123456789abcdef',
      'invalid api_key=key-ABCDEFGH12345678',
      'key key%2DABCDEFGH12345678 refused',
      'user hunter2-password denied',
    ].join(' | ')
    const quoted = p.quote(echoed)
    for (const secret of ['tok-0123456789abcdef', 'key-ABCDEFGH12345678', 'ABCDEFGH12345678', 'hunter2-password']) {
      expect(quoted).not.toContain(secret)
    }
    expect(quoted).toContain('Cannot POST')
    expect(quoted).toContain('…')
  })

  it('cuts out the credentials of the headers it is given (authorization, DD-API-KEY, a Splunk token) and the Basic auth it sends', () => {
    const p = new HttpPoster({ url })
    const headers = {
      authorization: 'Splunk 5f2c1c1e-1234-4c5d-9e8f-abcdefabcdef',
      'dd-api-key': 'ddkey0123456789abcdef0123456789ab',
      'content-type': 'application/json',
    }
    const basic = Buffer.from('user:hunter2-password').toString('base64')
    const text = `token 5f2c1c1e-1234-4c5d-9e8f-abcdefabcdef invalid; DD-API-KEY: ddkey0123456789abcdef0123456789ab; Basic ${basic}; type application/json`
    const quoted = p.quote(text, headers)
    expect(quoted).not.toContain('5f2c1c1e-1234-4c5d-9e8f-abcdefabcdef')
    expect(quoted).not.toContain('ddkey0123456789abcdef0123456789ab')
    // Headers that are not credentials stay readable.
    expect(quoted).toContain('application/json')
    // An authorization header of the sink's own is sent instead of the URL's Basic auth; without one,
    // the Basic auth made from the URL is what goes, and is cut out.
    expect(p.quote(`Basic ${basic} refused`, { 'dd-api-key': 'ddkey0123456789abcdef0123456789ab' })).toBe('… refused')
  })

  it('folds whitespace and cuts to the limit', () => {
    const p = new HttpPoster({ url: 'http://127.0.0.1:1/x' })
    expect(p.quote('  a \n\n b\t c  ')).toBe('a b c')
    const long = p.quote('y'.repeat(2000))
    expect(long.length).toBeLessThanOrEqual(513)
    expect(long.endsWith('…')).toBe(true)
    expect(p.quote('z'.repeat(100), {}, 10)).toBe(`${'z'.repeat(10)}…`)
  })
})
