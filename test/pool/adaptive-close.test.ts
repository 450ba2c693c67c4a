/**
 * Adaptive concurrency at close: a slot freed while the sender is stopping (the close deadline settles
 * or spools what is in flight) must not launch more work.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import { useCleanups } from '../helpers/cleanups.js'
import { ledgerGap, rec, spooledSender, SwitchSink } from '../helpers/switch-sink.js'

const { tempDir, defer } = useCleanups()

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k)
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('adaptive concurrency at close', () => {
  it('spools what is left at the close deadline of a slow sink, and launches nothing after it', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'hang'
    const first = spooledSender(defer, dir, sink, { closeTimeoutMs: 1000, pool: { concurrency: 'adaptive', maxConcurrency: 8, timeoutMs: 60_000 } })
    for (let i = 0; i < 25; i++) first.send(rec(i))
    const closing = first.close()
    await vi.advanceTimersByTimeAsync(1500)
    const report = await closing
    const attemptsAtClose = sink.attempts.length
    await vi.advanceTimersByTimeAsync(100)
    expect(sink.attempts.length).toBe(attemptsAtClose)
    const stats: SenderStats = first.stats()
    expect(stats.inFlight).toBe(0)
    expect(stats.concurrency?.active).toBe(0)
    expect(report).toMatchObject({ timedOut: true, undelivered: 0, spooled: 25 })
    expect(ledgerGap(report.stats)).toBe(0)
    expect(totalDropped(stats)).toBe(0)

    sink.mode = 'accept'
    const second = spooledSender(defer, dir, sink)
    await vi.advanceTimersByTimeAsync(0)
    await second.flush()
    expect(sink.delivered).toEqual(range(0, 25))
  })
})
