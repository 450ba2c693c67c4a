import { describe, expect, it } from 'vitest'
import { FixedHistogram } from '../../src/stats/histogram.js'
import { TimingsRecorder } from '../../src/stats/timings-recorder.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../../src/stats/timings.js'

describe('FixedHistogram', () => {
  it('puts a value in the first bucket whose bound it does not exceed (a bound is its bucket\'s, as Prometheus\' le)', () => {
    const h = new FixedHistogram([1, 10, 100])
    for (const v of [0, 1, 1.5, 10, 11, 100, 101, 1e9]) h.observe(v)
    expect(h.snapshot()).toEqual({ bounds: [1, 10, 100], counts: [2, 2, 2, 2], sum: 0 + 1 + 1.5 + 10 + 11 + 100 + 101 + 1e9, count: 8 })
  })

  it('has a bucket above every bound (+Inf): counts has bounds.length + 1 entries, summing to count', () => {
    const h = new FixedHistogram(DURATION_BOUNDS_MS)
    h.observe(31_000)
    h.observe(3)
    const s = h.snapshot()
    expect(s.counts).toHaveLength(DURATION_BOUNDS_MS.length + 1)
    expect(s.counts.at(-1)).toBe(1)
    expect(s.counts[DURATION_BOUNDS_MS.indexOf(5)]).toBe(1)
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(s.count)
  })

  it('counts a negative or NaN value (a clock set back) as 0, in the first bucket', () => {
    const h = new FixedHistogram([1, 2])
    h.observe(-5)
    h.observe(Number.NaN)
    expect(h.snapshot()).toEqual({ bounds: [1, 2], counts: [2, 0, 0], sum: 0, count: 2 })
  })

  it('takes snapshots that later observations do not touch, with frozen bounds', () => {
    const h = new FixedHistogram([5])
    h.observe(1)
    const before = h.snapshot()
    h.observe(10)
    expect(before).toEqual({ bounds: [5], counts: [1, 0], sum: 1, count: 1 })
    expect(h.snapshot()).toEqual({ bounds: [5], counts: [1, 1], sum: 11, count: 2 })
    expect(Object.isFrozen(before.bounds)).toBe(true)
    expect(() => (before.counts as number[]).push(1)).not.toThrow()
    expect(h.snapshot().counts).toEqual([1, 1])
  })

  it('refuses bounds that are not ascending', () => {
    expect(() => new FixedHistogram([1, 1])).toThrow(RangeError)
    expect(() => new FixedHistogram([2, 1])).toThrow(RangeError)
  })

  it('exports ascending bounds', () => {
    for (const bounds of [DURATION_BOUNDS_MS, BATCH_RECORDS_BOUNDS]) {
      expect(Object.isFrozen(bounds)).toBe(true)
      expect([...bounds].sort((a, b) => a - b)).toEqual(bounds)
      expect(new Set(bounds).size).toBe(bounds.length)
    }
  })
})

describe('TimingsRecorder', () => {
  it('keeps four histograms; a batch without a queue wait counts only its size', () => {
    const t = new TimingsRecorder()
    t.attempt(12)
    t.delivery(40)
    t.dispatched(7, 200)
    t.dispatched(3, undefined)
    const s = t.snapshot()
    expect(s.attemptMs).toMatchObject({ count: 1, sum: 12 })
    expect(s.deliveryMs).toMatchObject({ count: 1, sum: 40 })
    expect(s.batchRecords).toMatchObject({ count: 2, sum: 10, bounds: BATCH_RECORDS_BOUNDS })
    expect(s.queueWaitMs).toMatchObject({ count: 1, sum: 200, bounds: DURATION_BOUNDS_MS })
  })

  it('snapshots survive structured cloning (the worker posts them) unchanged', () => {
    const t = new TimingsRecorder()
    t.attempt(3)
    t.dispatched(100, 1)
    const s = t.snapshot()
    expect(structuredClone(s)).toEqual(s)
  })
})
