/**
 * Issue 10, item 1: with a spool, `logger.flush(cb)` resolves once the records are on disk while the
 * sink is down, whatever the number of batches in flight. With the http sender's default 8 requests in
 * flight, 6 batches failed at once: the first failure checked the flush waiters before the other five
 * were on disk, and nothing checked them again, so flush never called back and the app never exited.
 * Through the real transport in a child process, against a port that refuses connections.
 */
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { closeReportOf, describeApp, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()
const { tempDir } = useCleanups()

describe('flush with a spool while the sink refuses connections', () => {
  it.each([
    ['8 requests in flight (the http default), 6 batches', {}],
    ['1 request in flight, 6 batches', { pool: { concurrency: 1 } }],
  ])('calls back once every record is on disk: %s', async (_name, more) => {
    const n = 3000
    const sink = await faultSink()
    await sink.refuse()
    const dir = await tempDir()
    const running = app({
      url: sink.url,
      count: n,
      sender: { spool: { dir, fsync: 'never' }, batch: { maxRecords: 500 }, ...more },
      options: { stderr: false },
      flush: true,
    })
    // Well above what writing 3,000 records to disk takes; before the fix it never came.
    const flushed = await Promise.race([
      running.next('flushed'),
      new Promise<undefined>((resolve) => setTimeout(resolve, 20_000, undefined)),
    ])
    if (!flushed) running.kill()
    const result = await running.result
    expect(flushed, `logger.flush() did not call back within 20 s\n${describeApp(result)}`).toBeDefined()
    expect(result.code, describeApp(result)).toBe(0)

    // Closing with the sink still down leaves every record on disk for the next start, none lost.
    const report = closeReportOf(result)
    const stats = report.senders[0]?.stats
    expect(stats).toMatchObject({ received: n, delivered: 0, failed: 0, queued: 0, inFlight: 0, spooled: n })
    expect(report.spooled).toBe(n)
    expect(sink.requests).toHaveLength(0)
    // Closed without waiting out the close deadline: the sink was down, everything was on disk.
    expect(report.timedOut).toBe(false)
  })
})
