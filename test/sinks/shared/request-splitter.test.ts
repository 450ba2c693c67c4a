/**
 * sendSplitting against a real HTTP server (127.0.0.1, port 0) with a body limit: each part goes as
 * a real request through HttpPoster, so the 413s, 503s and 400s are the poster's own errors.
 */
import { describe, expect, it } from 'vitest'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import { isPartial, splitOutcome } from '../../../src/pool/partial-outcome.js'
import { HttpPoster } from '../../../src/sinks/http/http-post.js'
import { sendSplitting, TOO_LARGE } from '../../../src/sinks/shared/request-splitter.js'
import type { DeliveryResult } from '../../../src/sinks/sink.js'
import { useCleanups } from '../../helpers/cleanups.js'
import type { ReceivedRequest, Reply } from '../../helpers/http-sink.js'

const cleanups = useCleanups()

/** The `i` of each NDJSON line of a request. */
function ids(request: ReceivedRequest): number[] {
  return request.body
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { i: number }).i)
}

/**
 * A server that refuses bodies of more than `maxLines` records with 413, and otherwise answers what
 * `reply` says (200 by default). The records of a batch are `{"i":<index>}` lines.
 */
async function server(maxLines: number, reply: (i: number[], request: ReceivedRequest) => Reply | undefined = () => undefined) {
  const sink = await cleanups.sink((request) => {
    const i = ids(request)
    if (i.length > maxLines) return { status: 413, body: `request entity too large: ${i.length} records` }
    return reply(i, request)
  })
  const poster = new HttpPoster({ url: sink.url })
  cleanups.defer(() => poster.close())
  /** Sends the records at `indexes` as one request; a 2xx JSON answer `{ rejected: [i…] }` names refused ones by their place in the part. */
  const send = async (indexes: readonly number[]): Promise<void | DeliveryResult> => {
    const body = Buffer.from(indexes.map((i) => `{"i":${i}}\n`).join(''))
    const { body: answer } = await poster.postForAnswer(body, { 'content-type': 'application/x-ndjson' }, AbortSignal.timeout(10_000))
    const text = answer.toString('utf8')
    if (text === '') return undefined
    const parsed = JSON.parse(text) as { rejected?: number[] }
    return { rejected: (parsed.rejected ?? []).map((index) => ({ index, error: 'refused by the test server', status: 400 })) }
  }
  /** The records a request carried, for the requests the server took (2xx). */
  const delivered = (): number[] =>
    sink.requests.flatMap((request) => (ids(request).length > maxLines ? [] : ids(request)))
  return { sink, send, delivered }
}

describe('sendSplitting', () => {
  it('sends the whole batch once when the server takes it', async () => {
    const { sink, send } = await server(100)
    expect(await sendSplitting(10, send)).toBeUndefined()
    expect(sink.requests.map(ids)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
  })

  it('413: sends the batch again in halves, each split again while still too large, every record once', async () => {
    const { sink, send } = await server(3)
    const result = await sendSplitting(10, send)
    expect(isPartial(result)).toBe(false)
    expect(sink.requests.map(ids)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], // 413
      [0, 1, 2, 3, 4], // 413
      [0, 1],
      [2, 3, 4],
      [5, 6, 7, 8, 9], // 413
      [5, 6],
      [7, 8, 9],
    ])
    expect(sink.requests.map((r) => r.url)).toEqual(Array(7).fill('/logs'))
  })

  it('413 for a single record: refused for good with the status, in one request (never sent again)', async () => {
    const { sink, send } = await server(0)
    const result = (await sendSplitting(1, send)) as DeliveryResult
    expect(sink.requests).toHaveLength(1)
    expect(result.rejected).toEqual([{ index: 0, status: TOO_LARGE, error: expect.stringMatching(/^record too large for the server: HTTP 413/) as string }])
    expect(splitOutcome(1, result)).toMatchObject({ accepted: [], rejected: { indexes: [0], status: 413 }, retry: { indexes: [] } })
  })

  it('413 for one record of a batch: that record alone is refused, the others are delivered', async () => {
    const sink = await cleanups.sink((request) => (request.body.length > 200 || ids(request).length > 4 ? { status: 413 } : undefined))
    const poster = new HttpPoster({ url: sink.url })
    cleanups.defer(() => poster.close())
    const line = (i: number): string => (i === 5 ? `{"i":5,"pad":"${'x'.repeat(300)}"}\n` : `{"i":${i}}\n`)
    const result = (await sendSplitting(8, (indexes) =>
      poster.post(Buffer.from(indexes.map(line).join('')), {}, AbortSignal.timeout(10_000)),
    )) as DeliveryResult
    expect(result.rejected?.map((r) => r.index)).toEqual([5])
    expect(result.rejected?.[0]?.status).toBe(413)
    expect(result.retry).toEqual([])
    const taken = sink.requests.filter((r) => r.body.length <= 200 && ids(r).length <= 4).flatMap(ids)
    expect(taken).toEqual([0, 1, 2, 3, 4, 6, 7])
  })

  it('puts a part\'s own partial outcome on the batch\'s indexes', async () => {
    // Record 7 is refused by the server in whatever part it goes.
    const { send } = await server(4, (i) => (i.includes(7) ? { status: 200, body: JSON.stringify({ rejected: [i.indexOf(7)] }) } : undefined))
    const result = (await sendSplitting(10, send)) as DeliveryResult
    expect(result.rejected).toEqual([{ index: 7, error: 'refused by the test server', status: 400 }])
    expect(splitOutcome(10, result).accepted).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9])
  })

  it('a transient failure mid-way: that part and every part not sent yet go to the retry, what went is accepted', async () => {
    let failed = false
    // The second half's first part (records 5 and 6) meets a 503; nothing after it is sent.
    const { sink, send } = await server(3, (i) => {
      if (i[0] === 5 && !failed) {
        failed = true
        return { status: 503, headers: { 'retry-after': '3' } }
      }
      return undefined
    })
    const result = (await sendSplitting(10, send)) as DeliveryResult
    expect(sink.requests.map(ids)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [0, 1, 2, 3, 4],
      [0, 1],
      [2, 3, 4],
      [5, 6, 7, 8, 9],
      [5, 6], // 503
    ])
    expect(result.rejected).toEqual([])
    expect(result.retry?.map((r) => r.index)).toEqual([5, 6, 7, 8, 9])
    expect(result.retry?.[0]?.error).toMatch(/^HTTP 503/)
    expect(result.retry?.[2]?.error).toMatch(/not sent: an earlier part of the batch failed/)
    const outcome = splitOutcome(10, result)
    expect(outcome.accepted).toEqual([0, 1, 2, 3, 4])
    expect(outcome.retry.indexes).toEqual([5, 6, 7, 8, 9])
  })

  it('nothing went: the failure is thrown as it came, with its Retry-After, and nothing more is sent', async () => {
    const { sink, send } = await server(5, () => ({ status: 503, headers: { 'retry-after': '7' }, body: 'busy' }))
    const error = await sendSplitting(10, send).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DeliveryError)
    expect(error).toMatchObject({ status: 503, permanent: false, retryAfterMs: 7000 })
    expect(sink.requests.map(ids)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [0, 1, 2, 3, 4],
    ])
  })

  it('a network failure of the first part after a 413 is thrown as it came', async () => {
    const { sink, send } = await server(5, () => ({ destroy: true }))
    await expect(sendSplitting(10, send)).rejects.toThrow(/request to http:\/\/127\.0\.0\.1:\d+ failed/)
    // The poster sends a request that met a reset on a reused connection once more, on a new one.
    expect(sink.requests.slice(1).map(ids)).toEqual(sink.requests.slice(1).map(() => [0, 1, 2, 3, 4]))
  })

  it('a permanent failure of a part refuses that part for good, with its status; the other parts go', async () => {
    const { sink, send } = await server(3, (i) => (i.includes(3) ? { status: 400, body: 'mapper_parsing_exception' } : undefined))
    const result = (await sendSplitting(8, send)) as DeliveryResult
    expect(sink.requests.map(ids)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3], // 413
      [0, 1],
      [2, 3], // 400
      [4, 5, 6, 7], // 413
      [4, 5],
      [6, 7],
    ])
    expect(result.rejected).toEqual([
      { index: 2, status: 400, error: expect.stringMatching(/^HTTP 400 .*mapper_parsing_exception/) as string },
      { index: 3, status: 400, error: expect.stringMatching(/^HTTP 400/) as string },
    ])
    expect(splitOutcome(8, result).accepted).toEqual([0, 1, 4, 5, 6, 7])
  })

  it('anything but a 413 on the whole batch is thrown as it came; an empty batch is never split', async () => {
    const { send } = await server(100, () => ({ status: 400, body: 'bad' }))
    await expect(sendSplitting(3, send)).rejects.toMatchObject({ status: 400, permanent: true })
    const tooLarge = new DeliveryError('HTTP 413', { status: 413, permanent: true })
    await expect(sendSplitting(0, () => Promise.reject(tooLarge))).rejects.toBe(tooLarge)
  })
})
