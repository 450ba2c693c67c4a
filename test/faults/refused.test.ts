/**
 * Fault injection: the sink refuses connections (nothing listens on its port) for 10 s of real time,
 * then listens again on the same port. With the default retry settings every record must arrive,
 * once. The app (pino + the real transport worker) runs in a child process, the sink here.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { expectLedger, expectSnapshotsBalance, note } from './ledger.js'
import { closeReportOf, describeApp, eventOf, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()

const OUTAGE_MS = 10_000

describe('connections refused', () => {
  it('delivers every record exactly once after a 10 s outage, with the default retry settings', async () => {
    const n = 5000
    const sink = await faultSink()
    await sink.refuse()

    // Five bursts of 1,000 records a second apart, all inside the outage.
    const running = app({
      url: sink.url,
      count: n,
      chunk: 1000,
      pauseMs: 1000,
      options: { statsIntervalMs: 250 },
      flush: true,
    })
    await running.next('started')
    await sleep(OUTAGE_MS)
    const recoveredAt = Date.now()
    await sink.recover()
    const result = await running.result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: n })
    expect(ledger).toMatchObject({ delivered: n, failed: 0, dropped: { overflow: 0, closed: 0, oversize: 0 } })
    expect(report).toMatchObject({ undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
    expect(ledger.retried).toBeGreaterThan(0)

    // Nothing got through before the port was open again; the attempts the sink never saw were refused.
    expect(sink.requests.every((r) => r.receivedAt >= recoveredAt)).toBe(true)
    const attempts = ledger.attempts ?? 0
    expect(attempts).toBeGreaterThan(sink.requests.length)
    expect(sink.tally().outcomes.accepted).toBe(sink.requests.length)

    // The stats seen by the app's main thread: always balanced, and during the outage every record
    // logged so far was still held (queued or in flight, waiting for a retry), none given up.
    const snapshots = eventOf(result, 'closed').stats ?? []
    expectSnapshotsBalance(snapshots)
    const during = snapshots.filter((s) => (s.senders[0]?.received ?? 0) === n && (s.senders[0]?.delivered ?? 0) === 0)
    expect(during.length, 'a stats snapshot with every record received and none delivered yet').toBeGreaterThan(0)
    for (const s of during) expect(s.senders[0]).toMatchObject({ failed: 0, dropped: { overflow: 0, closed: 0, oversize: 0 } })
    const { loopMs, at: loggedAt = 0 } = eventOf(result, 'logged')
    note(`refused attempts ${attempts - sink.requests.length}; logging loop ${loopMs} ms; delivered ${(eventOf(result, 'flushed').at - recoveredAt).toString()} ms after recovery; logged ${recoveredAt - loggedAt} ms before recovery`)
  })
})
