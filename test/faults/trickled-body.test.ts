/**
 * Issue 10, item 6: a sink that sends `200` and its headers at once, then trickles the body. The http
 * sender waited for the body: `delivered` stayed 0 until `pool.timeoutMs`, the attempt then timed out
 * and the batch went again (a duplicate), the worker slots were held meanwhile, and a close report
 * said every record could not be delivered. For the generic http sender a 2xx status is acceptance:
 * it is counted then, and the body is not waited for. Through the real transport in a child process.
 */
import { describe, expect, it } from 'vitest'
import { expectLedger } from './ledger.js'
import { closeReportOf, describeApp, eventOf, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()

describe('a 2xx whose body trickles', () => {
  it('counts the batch delivered at the status, once, without waiting for the body', async () => {
    const n = 5000
    // 200 at once, then a 200-byte body one byte every 100 ms: 20 s, far past the attempt's deadline.
    const sink = await faultSink(() => ({ status: 200, body: 'x'.repeat(200), trickleMs: 100 }))
    const result = await app({
      url: sink.url,
      count: n,
      sender: { pool: { timeoutMs: 2000 }, batch: { maxRecords: 500 } },
      options: { stderr: true, closeTimeoutMs: 5000 },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: n })
    expect(ledger).toMatchObject({ delivered: n, failed: 0, retried: 0 })
    expect(report).toMatchObject({ undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
    // One request per batch: no attempt timed out into a duplicate.
    expect(sink.requests).toHaveLength(n / 500)
    expect(sink.tally()).toMatchObject({ duplicateKeys: 0, duplicateRecords: 0, distinctRecords: n })
    // Nothing to report on stderr: every record was delivered.
    expect(result.stderr).not.toContain('could not be delivered')
    expect(eventOf(result, 'flushed')).toBeDefined()
  })
})
