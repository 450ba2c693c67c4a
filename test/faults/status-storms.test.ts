/**
 * Fault injection: a sink that answers error statuses. Transient ones (503, 429) are retried until
 * the sink takes the batch or the retry budget runs out; a permanent one (400) fails the batch at
 * once. The app (pino + the real transport worker) runs in a child process, the sink here.
 */
import { describe, expect, it } from 'vitest'
import type { LoggedRequest } from './fault-sink.js'
import { expectLedger, expectSnapshotsBalance, note } from './ledger.js'
import { closeReportOf, describeApp, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()

function recordsIn(requests: readonly LoggedRequest[]): number {
  return requests.reduce((n, r) => n + r.ids.length, 0)
}

describe('503 storms', () => {
  it('a 503 storm of ~2 s, then 200s: every record delivered once, none failed, every 503 retried', async () => {
    const n = 2000
    let stormEndsAt: number | undefined
    const sink = await faultSink((request) => {
      stormEndsAt ??= request.receivedAt + 2000
      return request.receivedAt < stormEndsAt ? { status: 503 } : undefined
    })
    const result = await app({
      url: sink.url,
      count: n,
      // Attempts without a cap that a storm could reach: with the default 20 and full jitter, a batch's
      // delays can all come out short enough to spend every attempt inside the 2 s storm (seen once in
      // CI on a loaded machine: 200 records failed, exhausted). This test is about the storm being
      // ridden out, not the attempt cap.
      sender: { batch: { maxRecords: 200, maxWaitMs: 50 }, retry: { baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 1000 } },
      options: { statsIntervalMs: 100 },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: n })
    expect(ledger).toMatchObject({ delivered: n, failed: 0, dropped: { overflow: 0, closed: 0, oversize: 0 } })

    const rejected = sink.requests.filter((r) => r.outcome === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    expect(rejected.every((r) => r.status === 503)).toBe(true)
    // Each 503 sent its batch round again: the re-sends the sender counts are the records the sink
    // turned away, and every request the sink saw was an attempt.
    expect(ledger.retried).toBe(recordsIn(rejected))
    expect(ledger.attempts).toBe(sink.requests.length)
    // The storm lasted: some batch was turned away more than once before it got through.
    const keys = rejected.map((r) => r.key)
    expect(new Set(keys).size).toBeLessThan(keys.length)
    expectSnapshotsBalance(result.events.find((e) => e.event === 'closed')?.stats ?? [])
    expect(result.stderr).not.toMatch(/pino-courier: closed;/)
  })

  it('a 503 storm that never ends with a short retry.maxRetryTimeMs: every record failed and counted, none silently lost', async () => {
    const n = 1000
    const sink = await faultSink(() => ({ status: 503 }))
    const result = await app({
      url: sink.url,
      count: n,
      // Batches of exactly 100 (they only leave full, or on flush): 10 batches, all of them within
      // the 20 failures that recentFailures keeps.
      sender: {
        batch: { maxRecords: 100, maxWaitMs: 60_000 },
        retry: { baseDelayMs: 20, maxDelayMs: 100, maxRetryTimeMs: 800 },
      },
      options: { statsIntervalMs: 100 },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: n })
    expect(ledger).toMatchObject({ delivered: 0, failed: n, dropped: { overflow: 0, closed: 0, oversize: 0 } })
    expect(report).toMatchObject({ undelivered: n, abandonedAtDeadline: 0, timedOut: false })

    const failures = ledger.stats?.recentFailures ?? []
    const batches = new Set(sink.requests.map((r) => r.key))
    expect(batches.size).toBe(10)
    expect(failures).toHaveLength(batches.size)
    for (const failure of failures) {
      expect(failure).toMatchObject({ reason: 'exhausted', status: 503 })
      expect(failure.attempts).toBeGreaterThan(1)
      expect(failure.error).toMatch(/HTTP 503/)
    }
    expect(failures.reduce((sum, f) => sum + f.records, 0)).toBe(n)
    // Every record reached the sink (and was turned away): the sender tried each batch, then counted it.
    const seen = new Set(sink.requests.flatMap((r) => r.ids))
    expect(seen.size).toBe(n)
    // Every attempt but the last of each batch was followed by a re-send.
    expect(ledger.retried).toBe(recordsIn(sink.requests) - n)
    expect(ledger.attempts).toBe(sink.requests.length)
    expectSnapshotsBalance(result.events.find((e) => e.event === 'closed')?.stats ?? [])
    expect(result.stderr).toMatch(
      new RegExp(`^pino-courier: closed; ${n} of ${n} records could not be delivered - http: ${n} \\(failed ${n}, dropped overflow 0, closed 0, oversize 0(?:; last error: .*)?\\)$`, 'm'),
    )
  })
})

describe('429 with Retry-After', () => {
  it('no request reaches the sink in the second after a 429 with Retry-After: 1, then everything is delivered', async () => {
    const n = 1000
    // The first two requests (a batch and its first retry) and the sixth get a 429.
    const throttled = new Set([0, 1, 5])
    const sink = await faultSink((request) =>
      throttled.has(request.index) ? { status: 429, retryAfter: '1' } : undefined,
    )
    const result = await app({
      url: sink.url,
      count: n,
      // One request at a time, so that "nothing reaches the sink" is exact; backoff alone would
      // retry within 50 ms: only honouring Retry-After makes the gap a second.
      sender: {
        pool: { concurrency: 1 },
        batch: { maxRecords: 100, maxWaitMs: 20 },
        retry: { baseDelayMs: 10, maxDelayMs: 50 },
      },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const ledger = expectLedger(closeReportOf(result), sink, { received: n })
    expect(ledger).toMatchObject({ delivered: n, failed: 0 })

    const requests = sink.requests
    const tooMany = requests.filter((r) => r.status === 429)
    expect(tooMany.map((r) => r.index)).toEqual([...throttled])
    expect(requests.length).toBeGreaterThan(Math.max(...throttled) + 1)
    // The batch turned away first came back with the same idempotency key.
    expect(requests[1]?.key).toBe(requests[0]?.key)
    for (const answer of tooMany) {
      const next = requests[answer.index + 1] as LoggedRequest
      const gap = next.receivedAt - (answer.answeredAt as number)
      note(`429 answered to request ${answer.index}; the next request came ${gap} ms later`)
      // A lower bound only (a loaded machine may take longer); 25 ms of slack for clock rounding.
      expect(gap, `request ${next.index} came ${gap} ms after the 429 to request ${answer.index}`).toBeGreaterThanOrEqual(975)
    }
    expect(ledger.retried).toBe(recordsIn(tooMany))
  })
})

// Batches that fail for good are counted here; the same scenario with a dead-letter file is in
// spool.test.ts ("dead letters through the transport").
describe('permanent 400', () => {
  it('fails the batches that carry a marker record at once (one attempt, reason permanent) and delivers all the others', async () => {
    const n = 1000
    // Markers 100 apart and batches of at most 10 records: each marker in a batch of its own.
    const markers = Array.from({ length: 10 }, (_, k) => 55 + 100 * k)
    const sink = await faultSink((request) => (request.body.includes('"poison":true') ? { status: 400 } : undefined))
    const result = await app({
      url: sink.url,
      count: n,
      poison: markers,
      // A short retry budget, so that a 400 wrongly retried fails this test in seconds, not by timeout.
      sender: { batch: { maxRecords: 10, maxWaitMs: 60_000 }, retry: { baseDelayMs: 20, maxDelayMs: 100, maxRetryTimeMs: 2000 } },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const ledger = expectLedger(closeReportOf(result), sink, { received: n })

    const rejected = sink.requests.filter((r) => r.outcome === 'rejected')
    expect(rejected).toHaveLength(markers.length)
    expect(rejected.every((r) => r.status === 400)).toBe(true)
    // One attempt each: no key of a rejected batch came twice.
    const rejectedKeys = new Set(rejected.map((r) => r.key))
    expect(sink.requests.filter((r) => rejectedKeys.has(r.key))).toHaveLength(markers.length)
    expect(ledger.retried).toBe(0)

    const failedIds = rejected.flatMap((r) => r.ids)
    expect(ledger.failed).toBe(failedIds.length)
    expect(failedIds).toEqual(expect.arrayContaining(markers))
    expect(ledger.delivered).toBe(n - failedIds.length)
    const failures = ledger.stats?.recentFailures ?? []
    expect(failures).toHaveLength(markers.length)
    for (const failure of failures) expect(failure).toMatchObject({ reason: 'permanent', status: 400, attempts: 1 })

    // Every other record was delivered, once: the accepted and the rejected records partition 0..n-1.
    const accepted = sink.acceptedIds()
    expect(new Set([...accepted, ...failedIds]).size).toBe(n)
    expect(accepted.length + failedIds.length).toBe(n)
  })
})
