import { describe, expect, it } from 'vitest'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../../src/stats/timings.js'
import { MAX_RECENT_FAILURES, StatsCounters, totalDropped, type FailureRecord } from '../../src/stats/delivery-stats.js'

const failure = (n: number): FailureRecord => ({ at: n, records: n, attempts: 1, reason: 'exhausted', error: `e${n}` })

describe('StatsCounters', () => {
  it('starts at zero', () => {
    expect(new StatsCounters().snapshot('s')).toEqual({
      name: 's',
      received: 0,
      queued: 0,
      queuedBytes: 0,
      inFlight: 0,
      spooled: 0,
      spooledBytes: 0,
      recovered: 0,
      delivered: 0,
      deliveredBytes: 0,
      retried: 0,
      failed: 0,
      deadLettered: 0,
      dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 },
      attempts: 0,
      recentFailures: [],
      timings: {
        attemptMs: { bounds: DURATION_BOUNDS_MS, counts: new Array(DURATION_BOUNDS_MS.length + 1).fill(0), sum: 0, count: 0 },
        deliveryMs: { bounds: DURATION_BOUNDS_MS, counts: new Array(DURATION_BOUNDS_MS.length + 1).fill(0), sum: 0, count: 0 },
        batchRecords: { bounds: BATCH_RECORDS_BOUNDS, counts: new Array(BATCH_RECORDS_BOUNDS.length + 1).fill(0), sum: 0, count: 0 },
        queueWaitMs: { bounds: DURATION_BOUNDS_MS, counts: new Array(DURATION_BOUNDS_MS.length + 1).fill(0), sum: 0, count: 0 },
      },
    })
  })

  it('takes snapshots that later changes do not touch', () => {
    const counters = new StatsCounters()
    counters.received = 3
    counters.dropped.overflow = 1
    counters.addFailure(failure(1))
    const snapshot = counters.snapshot('s')
    counters.received = 9
    counters.dropped.overflow = 5
    counters.addFailure(failure(2))
    counters.timings.attempt(7)
    expect(snapshot.received).toBe(3)
    expect(snapshot.timings?.attemptMs.count).toBe(0)
    expect(snapshot.dropped.overflow).toBe(1)
    expect(snapshot.recentFailures).toEqual([failure(1)])
  })

  it(`keeps the ${MAX_RECENT_FAILURES} most recent failures, newest last`, () => {
    const counters = new StatsCounters()
    for (let n = 1; n <= MAX_RECENT_FAILURES + 3; n++) counters.addFailure(failure(n))
    const kept = counters.snapshot('s').recentFailures
    expect(kept).toHaveLength(MAX_RECENT_FAILURES)
    expect(kept[0]).toEqual(failure(4))
    expect(kept.at(-1)).toEqual(failure(MAX_RECENT_FAILURES + 3))
  })
})

describe('totalDropped', () => {
  it('adds every reason', () => {
    expect(totalDropped({ dropped: { overflow: 2, closed: 3, oversize: 5, spoolFull: 7, spoolError: 11 } })).toBe(28)
  })

  it('counts reasons a custom sender does not report as 0', () => {
    expect(totalDropped({ dropped: { overflow: 2, closed: 3, oversize: 5 } })).toBe(10)
  })
})
