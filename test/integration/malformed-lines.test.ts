/**
 * Issue 10, item 5, through a real pino.transport() worker: lines that begin like pino's and end with
 * `}` but are not exactly one JSON object (a torn line, two objects joined, garbage after the level)
 * were forwarded as they were; with `format: 'json'` a strict sink then refused the whole request, and
 * the valid records beside them failed too. They now leave wrapped, counted as malformed. The lines
 * are written into the transport's stream as a torn write or another writer on it would put them.
 * Resolved by package name: `npm run build` first.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport, TransportOptions } from '../../src/index.js'
import { endTransport, flushLogger, nextEvent, transportReady } from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const { sink } = useCleanups()

const NOT_ONE_OBJECT = [
  '{"level":30,"time":1{"level":30,"time":2,"msg":"joined"}',
  '{"level":30,"time":1,"a":{"b":1}',
  '{"level":50, this is not json }',
  '{"level":"info",garbage}',
]

describe('lines that look like pino but are not one JSON object', () => {
  it('reach a strict JSON sink wrapped, and the valid records beside them are delivered', async () => {
    // A strict sink: one body it cannot parse and the whole request is refused.
    const strict = await sink((request) => {
      try {
        JSON.parse(request.body)
        return { status: 200 }
      } catch {
        return { status: 400, body: 'invalid JSON' }
      }
    })
    const transport = pino.transport<TransportOptions>({
      target: 'pino-courier',
      options: { senders: [{ type: 'http', url: strict.url, format: 'json', batch: { maxRecords: 100 } }], stderr: false },
    })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    await transportReady(transport)
    logger.info({ i: 0 }, 'before')
    for (const line of NOT_ONE_OBJECT) transport.write(`${line}\n`)
    logger.info({ i: 1 }, 'after')
    await flushLogger(logger)
    await endTransport(transport)
    const report = await closed

    expect(strict.requests.every((r) => JSON.parse(r.body) !== undefined)).toBe(true)
    expect(report.stats.malformed).toBe(NOT_ONE_OBJECT.length)
    expect(report.senders[0]?.stats).toMatchObject({ received: 6, delivered: 6, failed: 0 })
    const records = strict.records()
    expect(records.filter((r) => r.malformed === true).map((r) => r.msg)).toEqual(NOT_ONE_OBJECT)
    expect(records.filter((r) => r.malformed !== true).map((r) => r.i)).toEqual([0, 1])
  })
})
