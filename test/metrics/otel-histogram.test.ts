/**
 * Pre-aggregated buckets into an OpenTelemetry histogram: the observations representativeObservations
 * picks, recorded on the real SDK with the same boundaries, give back the bucket counts exactly and
 * the sum to rounding.
 */
import { MeterProvider, MetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { histogramDelta, representativeObservations, scaledBounds, type BucketHistogram } from '../../src/metrics/otel-histogram.js'
import { FixedHistogram } from '../../src/stats/histogram.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../../src/stats/timings.js'

class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Records the observations on an SDK histogram with `bounds × scale` as boundaries; returns its data point. */
async function throughSdk(delta: BucketHistogram, scale: number): Promise<{ counts: number[]; sum: number; count: number }> {
  const reader = new ManualReader()
  const provider = new MeterProvider({ readers: [reader] })
  try {
    const histogram = provider.getMeter('test').createHistogram('h', { advice: { explicitBucketBoundaries: scaledBounds(delta.bounds, scale) } })
    for (const { value, count } of representativeObservations(delta, scale)) for (let i = 0; i < count; i++) histogram.record(value)
    const { resourceMetrics } = await reader.collect()
    const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData | undefined
    const point = metric?.dataPoints[0]
    if (!point) return { counts: new Array<number>(delta.bounds.length + 1).fill(0), sum: 0, count: 0 }
    expect(point.value.buckets.boundaries).toEqual(scaledBounds(delta.bounds, scale))
    return { counts: point.value.buckets.counts, sum: point.value.sum ?? NaN, count: point.value.count }
  } finally {
    await provider.shutdown()
  }
}

function filled(bounds: readonly number[], values: readonly number[]): BucketHistogram {
  const h = new FixedHistogram(bounds)
  for (const v of values) h.observe(v)
  return h.snapshot()
}

/** A deterministic spread of values: many on the bounds themselves, some between, some above the last. */
function spread(bounds: readonly number[], n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const b = bounds[i % bounds.length] as number
    const kind = i % 4
    out.push(kind === 0 ? b : kind === 1 ? b * 0.61 : kind === 2 ? b * 1.37 : b * 3 + (i % 7))
  }
  return out
}

describe('representativeObservations', () => {
  const cases: [string, readonly number[], number[], number][] = [
    ['durations in ms to seconds', DURATION_BOUNDS_MS, spread(DURATION_BOUNDS_MS, 500), 0.001],
    ['batch sizes', BATCH_RECORDS_BOUNDS, spread(BATCH_RECORDS_BOUNDS, 300), 1],
    ['every value on a bound (the smallest sum the buckets allow but one)', DURATION_BOUNDS_MS, [...DURATION_BOUNDS_MS], 0.001],
    ['values just above the bounds', DURATION_BOUNDS_MS, DURATION_BOUNDS_MS.map((b) => b + 0.001), 0.001],
    ['all above the last bound', BATCH_RECORDS_BOUNDS, [20000, 50000, 10001], 1],
    ['just above the last bound, with others at their uppers', BATCH_RECORDS_BOUNDS, [10000.5, 10000, 5000, 1], 1],
    ['zeros and sub-bucket values', DURATION_BOUNDS_MS, [0, 0, 0.2, 0.9, 1, 1.5], 0.001],
  ]
  it.each(cases)('gives the SDK the exact bucket counts and the sum: %s', async (_name, bounds, values, scale) => {
    const snapshot = filled(bounds, values)
    const sdk = await throughSdk(snapshot, scale)
    expect(sdk.counts).toEqual(snapshot.counts)
    expect(sdk.count).toBe(values.length)
    expect(sdk.sum).toBeCloseTo(snapshot.sum * scale, 9)
  })

  it('records nothing for an empty delta', () => {
    expect(representativeObservations(filled(DURATION_BOUNDS_MS, []), 0.001)).toEqual([])
  })
})

describe('histogramDelta', () => {
  it('is what the later snapshot holds beyond the earlier one', async () => {
    const h = new FixedHistogram(DURATION_BOUNDS_MS)
    for (const v of [3, 70, 700]) h.observe(v)
    const first = h.snapshot()
    for (const v of [3, 4000, 90000]) h.observe(v)
    const delta = histogramDelta(first, h.snapshot()) as BucketHistogram
    expect(delta.count).toBe(3)
    expect(delta.sum).toBe(3 + 4000 + 90000)
    expect(delta.counts).toEqual(filled(DURATION_BOUNDS_MS, [3, 4000, 90000]).counts)
    const sdk = await throughSdk(delta, 0.001)
    expect(sdk.counts).toEqual(delta.counts)
  })

  it('takes a snapshot that went down (a sender started again, an older snapshot) as counting from zero', () => {
    const later = filled(DURATION_BOUNDS_MS, [3, 70, 700, 7000])
    const restarted = filled(DURATION_BOUNDS_MS, [2])
    expect(histogramDelta(later, restarted)).toEqual(restarted)
    // Other bounds: not a continuation either.
    const other = filled([5, 50], [1, 60])
    expect(histogramDelta(later, other)).toEqual(other)
  })

  it('refuses what is not a histogram (a custom sender)', () => {
    expect(histogramDelta(undefined, { bounds: [1], counts: [1], sum: 1, count: 1 })).toBeUndefined()
    expect(histogramDelta(undefined, { bounds: [1], counts: [1, -1], sum: 0, count: 0 })).toBeUndefined()
    expect(histogramDelta(undefined, null as unknown as BucketHistogram)).toBeUndefined()
  })
})
