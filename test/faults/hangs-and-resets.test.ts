/**
 * Fault injection: a sink that accepts connections and never answers, and one that resets the
 * connection in the middle of the request body. The app (pino + the real transport worker) runs in a
 * child process, the sink here.
 */
import { describe, expect, it } from 'vitest'
import { waitUntil } from '../fixtures/integration.js'
import { expectLedger, ledgerFromStderr, note } from './ledger.js'
import { closeReportOf, describeApp, eventOf, useFaults } from './run-app.js'

const { sink: faultSink, app } = useFaults()

describe('a sink that never answers', () => {
  it('times attempts out and retries them; with a short retry.maxRetryTimeMs the batches fail (exhausted), are counted, and close keeps its deadline', async () => {
    const n = 500
    const closeTimeoutMs = 6000
    const sink = await faultSink(() => ({ hang: true }))
    // The app ends right after logging: close itself waits for the batches to run out of retries.
    const result = await app({
      url: sink.url,
      count: n,
      sender: {
        batch: { maxRecords: 100, maxWaitMs: 50 },
        pool: { timeoutMs: 200 },
        retry: { baseDelayMs: 20, maxDelayMs: 100, maxRetryTimeMs: 1000 },
      },
      options: { closeTimeoutMs },
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const report = closeReportOf(result)
    const ledger = expectLedger(report, sink, { received: n })
    expect(ledger).toMatchObject({ delivered: 0, failed: n, dropped: { overflow: 0, closed: 0, oversize: 0 } })
    expect(report).toMatchObject({ undelivered: n, abandonedAtDeadline: 0, timedOut: false })
    expect(ledger.retried).toBeGreaterThan(0)

    const failures = ledger.stats?.recentFailures ?? []
    expect(failures.reduce((sum, f) => sum + f.records, 0)).toBe(n)
    for (const failure of failures) {
      expect(failure).toMatchObject({ reason: 'exhausted' })
      expect(failure.attempts).toBeGreaterThan(1)
      expect(failure.error).toMatch(/timed out after 200 ms/)
      expect(failure.status).toBeUndefined()
    }
    // Each attempt was a request the sink held (one may not have arrived before its client gave up).
    const attempts = ledger.attempts ?? 0
    expect(attempts).toBeGreaterThan(failures.length)
    expect(sink.requests.length).toBeGreaterThan(failures.length)
    expect(sink.requests.length).toBeLessThanOrEqual(attempts)
    expect(sink.tally().acceptedRequests).toBe(0)

    const { closeMs = Number.POSITIVE_INFINITY } = eventOf(result, 'closed')
    note(`close took ${closeMs} ms (deadline ${closeTimeoutMs} ms)`)
    expect(closeMs).toBeLessThan(closeTimeoutMs + 5000)
    expect(result.stderr).toMatch(
      new RegExp(`^pino-courier: closed; ${n} of ${n} records could not be delivered - http: ${n} \\(failed ${n}, dropped overflow 0, closed 0, oversize 0(?:; last error: .*)?\\)$`, 'm'),
    )
  })

  it.each(['exit', 'natural'] as const)(
    'app ends at once (%s): the close deadline passes, the records are counted as dropped (closed), and the process exits 0',
    async (end) => {
      const n = 1000
      const closeTimeoutMs = 1000
      const sink = await faultSink(() => ({ hang: true }))
      // pool.timeoutMs stays at its default (10 s), far beyond the close deadline: nothing times out
      // before close gives up on everything still queued or in flight.
      const result = await app({
        url: sink.url,
        count: n,
        sender: { batch: { maxRecords: 100 } },
        options: { closeTimeoutMs },
        end,
      }).result

      expect(result.signal, describeApp(result)).toBeNull()
      expect(result.code, describeApp(result)).toBe(0)
      expect(result.stderr).not.toMatch(/took too long/)
      expect(result.stderr).toMatch(
        new RegExp(
          `^pino-courier: closed; ${n} of ${n} records could not be delivered \\(close deadline passed, ${n} abandoned\\) - http: ${n} \\(failed 0, dropped overflow 0, closed ${n}, oversize 0(?:; last error: .*)?\\)$`,
          'm',
        ),
      )

      // Batches of 100, 8 at a time: some were in flight (the sink holds them), the rest still queued.
      // (The app is gone already: give this process a moment to read what its connections carried.)
      await waitUntil(() => sink.requests.some((r) => r.outcome === 'hung'), 'a request held by the sink')
      const held = sink.requests.filter((r) => r.outcome === 'hung')
      expect(held.length).toBeLessThanOrEqual(8)

      const ledger = ledgerFromStderr(result.stderr)
      if (!ledger) throw new Error(`no close report on stderr\n${describeApp(result)}`)
      expectLedger(ledger, sink, { received: n })
      expect(ledger).toMatchObject({ delivered: 0, failed: 0, abandonedAtDeadline: n, timedOut: true })
      expect(sink.tally().acceptedRequests).toBe(0)

      // The process was gone soon after the deadline, well inside pino's 10 s exit limit.
      const { exitMs = Number.POSITIVE_INFINITY } = eventOf(result, 'exit')
      note(`exit handler ran ${exitMs} ms after the logging loop (deadline ${closeTimeoutMs} ms)`)
      expect(exitMs).toBeGreaterThanOrEqual(closeTimeoutMs - 50)
      expect(exitMs).toBeLessThan(closeTimeoutMs + 6000)
    },
  )
})

describe('a sink that resets connections mid-body', () => {
  it('delivers everything exactly once when the first requests are reset mid-body and the sink then heals', async () => {
    const n = 1000
    const resets = 6
    const sink = await faultSink()
    // ~1.1 KB records in batches of 100: ~110 KB bodies, read in several chunks, cut after 16 KiB.
    sink.resetMidBody((head) => head.index < resets, 16 * 1024)
    const result = await app({
      url: sink.url,
      count: n,
      padBytes: 1000,
      sender: { batch: { maxRecords: 100, maxWaitMs: 50 }, retry: { baseDelayMs: 20, maxDelayMs: 200 } },
      flush: true,
    }).result

    expect(result.code, describeApp(result)).toBe(0)
    const ledger = expectLedger(closeReportOf(result), sink, { received: n })
    expect(ledger).toMatchObject({ delivered: n, failed: 0, dropped: { overflow: 0, closed: 0, oversize: 0 } })

    const cut = sink.requests.filter((r) => r.outcome === 'reset-mid-body')
    expect(cut).toHaveLength(resets)
    expect(sink.tally().outcomes['reset-after-body']).toBe(0)
    for (const r of cut) {
      expect(r.bytesRead).toBeGreaterThanOrEqual(16 * 1024)
      expect(r.bytesRead).toBeLessThan(r.contentLength)
    }
    // Every batch that was cut off went again, with its idempotency key, and got through once.
    const accepted = new Set(sink.requests.filter((r) => r.outcome === 'accepted').map((r) => r.key))
    for (const r of cut) expect(accepted.has(r.key)).toBe(true)
    expect(sink.tally().acceptedRequests).toBe(accepted.size)
    note(`attempts ${ledger.attempts}, retried ${ledger.retried}, connections ${sink.connections}`)
  })
})
