/**
 * Fault injection: a sink that answers every request, but only after ~2 s, while the app logs
 * 200,000 records as fast as it can through a small queue. The app must finish its logging loop (it
 * is never held up by the sink), memory must stay bounded, and every record must be accounted for:
 * what did not fit in the queue is counted as dropped (overflow). The app (pino + the real transport
 * worker) runs in a child process, the sink here.
 */
import { describe, expect, it } from 'vitest'
import { expectLedger, expectSnapshotsBalance, ledgerFromStderr, note } from './ledger.js'
import { closeReportOf, describeApp, eventOf, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()

const N = 200_000
const QUEUE = { maxRecords: 2000, maxBytes: 1024 * 1024 }

/**
 * Bound on the peak RSS of the whole app process (main thread + transport worker), from
 * process.resourceUsage().maxRSS in the app. Measured first, on 2 cores (Node 20.20, this scenario):
 * 111 MiB with the scenario running alone; 126, 155 and 126 MiB in three runs of the whole suite in
 * parallel; 123-153 MiB with three copies of the scenario running at once. The spread comes mostly
 * from pino's buffer in the app's main thread, which grows while the worker waits for a CPU. The
 * bound leaves ~40% over the highest measurement. For scale, same machine: pino's own `pino/file`
 * transport to /dev/null 88-90 MiB; pino-courier with the default queue (100,000 records) 194 MiB
 * alone, 156-165 MiB under load; with no effective queue bound 160-177 MiB under load. With records
 * this small the bound therefore catches runaway growth (a leak, records held twice), not the
 * difference between this queue and the default one.
 */
const MAX_RSS_BYTES = 220 * 1024 * 1024

describe('a sink that answers, slowly, forever', () => {
  it('200,000 records as fast as the app can log them: the loop finishes, memory stays bounded, overflow is counted and nothing goes unaccounted', async () => {
    const sink = await faultSink(() => ({ delayMs: 2000 }))
    const result = await app({
      url: sink.url,
      count: N,
      // As fast as it can while still an app: 1,000 records per event-loop turn. (One synchronous
      // loop of 200,000 calls measures mostly pino's own buffering in the main thread.)
      chunk: 1000,
      sender: { queue: QUEUE },
      // Close needs about two round trips of the sink (~4 s): the deadline stays out of the way.
      // (Not 9000: transport.end() can then run into thread-stream's own 10 s limit.)
      options: { closeTimeoutMs: 7000, statsIntervalMs: 250 },
    }).result

    expect(result.signal, describeApp(result)).toBeNull()
    expect(result.code, describeApp(result)).toBe(0)
    // The logging loop ran to its end: the slow sink never held the app up for good.
    const logged = eventOf(result, 'logged')
    expect(logged.count).toBe(N)

    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: N })
    expect(ledger.failed).toBe(0)
    expect(ledger.dropped.overflow).toBeGreaterThan(0)
    expect(ledger.dropped.oversize).toBe(0)
    expect(ledger.delivered).toBeGreaterThan(0)
    // The stderr report of the worker tells the same story as the close event.
    const fromStderr = ledgerFromStderr(result.stderr)
    expect(fromStderr, describeApp(result)).toMatchObject({
      received: ledger.received,
      delivered: ledger.delivered,
      failed: ledger.failed,
      dropped: ledger.dropped,
    })

    // Every snapshot balanced, and the queue never held more than its bounds.
    const snapshots = eventOf(result, 'closed').stats ?? []
    expect(snapshots.length).toBeGreaterThan(0)
    expectSnapshotsBalance(snapshots)
    for (const s of snapshots) {
      expect(s.senders[0]?.queued).toBeLessThanOrEqual(QUEUE.maxRecords)
      expect(s.senders[0]?.queuedBytes).toBeLessThanOrEqual(QUEUE.maxBytes)
    }

    const maxRss = (eventOf(result, 'exit').maxRssKb ?? Number.POSITIVE_INFINITY) * 1024
    note(
      `logging loop ${logged.loopMs} ms, close ${eventOf(result, 'closed').closeMs} ms, peak RSS ${(maxRss / 2 ** 20).toFixed(1)} MiB, ${sink.requests.length} requests`,
    )
    expect(maxRss, `peak RSS ${(maxRss / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(MAX_RSS_BYTES)
  })
})
