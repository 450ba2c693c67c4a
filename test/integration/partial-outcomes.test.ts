/**
 * Partial outcomes through the real transport (issue 11): a custom sender in pino's worker whose sink
 * gets a per-record answer from a real HTTP server, like Elasticsearch's bulk API: some records
 * refused for good, some to retry, the rest accepted. The ledger adds up, the refused ones are in the
 * dead-letter file, and nothing the server accepted is sent twice.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport, TransportOptions } from '../../src/index.js'
import { endTransport, fixture, flushLogger, nextEvent } from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const { sink, tempDir } = useCleanups()

describe('partial outcomes through the transport', () => {
  it('accepted records once each, refused ones failed and dead-lettered, the rest retried alone', async () => {
    const n = 5000
    const accepted = new Map<string, number>() // record identity -> times accepted
    const acceptedI = new Set<number>()
    const attempts = new Map<number, number>()
    const server = await sink((request) => {
      const lines = request.body.trim().split('\n')
      const items: { status: number; error?: string }[] = []
      for (let k = 0; k < lines.length; k += 2) {
        const id = (JSON.parse(lines[k] as string) as { create: { _id: string } }).create._id
        const i = (JSON.parse(lines[k + 1] as string) as { i: number }).i
        const seen = (attempts.get(i) ?? 0) + 1
        attempts.set(i, seen)
        if (i % 10 === 3) items.push({ status: 400, error: 'mapper_parsing_exception' })
        else if (i % 10 === 7 && seen === 1) items.push({ status: 429, error: 'es_rejected_execution_exception' })
        else if (accepted.has(id)) items.push({ status: 409, error: 'version_conflict_engine_exception' })
        else {
          accepted.set(id, 1)
          acceptedI.add(i)
          items.push({ status: 201 })
        }
      }
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: true, items }) }
    })
    const dir = await tempDir()
    const deadLetter = join(dir, 'dead.ndjson')
    const transport = pino.transport<TransportOptions>({
      target: 'pino-courier',
      options: {
        senders: [
          {
            type: 'module',
            module: fixture('bulk-sender.mjs'),
            options: { url: `${server.url}/_bulk`, batch: { maxRecords: 500, maxWaitMs: 20 }, retry: { baseDelayMs: 5 }, deadLetter: { path: deadLetter } },
          },
        ],
        stderr: false,
      },
    })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino(transport)
    for (let i = 0; i < n; i++) logger.info({ i }, 'bulk')
    await flushLogger(logger)
    await endTransport(transport)
    const report = await closed
    const stats = report.senders[0]?.stats
    expect(stats).toMatchObject({ received: n, delivered: 4500, failed: 500, deadLettered: 500, queued: 0, inFlight: 0 })
    expect(stats?.dropped).toEqual({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })
    // The 500 refused ones failed for good; the 500 asked again went once more, alone.
    expect(stats?.retried).toBe(500)
    expect(acceptedI.size).toBe(4500)
    expect(report.undelivered).toBe(500)
    // Nothing accepted went twice: no 409 was ever needed.
    for (const [i, times] of attempts) expect(times, `record ${i}`).toBe(i % 10 === 7 ? 2 : 1)
    const dead = (await readFile(deadLetter, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i)
    expect(dead.sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, k) => k * 10 + 3))
  })
})
