/**
 * Feeding pino-courier's fixed-bucket histograms (SenderTimings) to an OpenTelemetry histogram.
 *
 * The API has no way to hand over pre-aggregated buckets: a histogram only takes single
 * observations. So between two stats snapshots the bridge takes each bucket's new observations and
 * records that many values inside the bucket. With the instrument's explicit bucket boundaries
 * advice equal to our bounds, the SDK's buckets are ours: every bucket count (and the total count)
 * is exact. The values are chosen so that their sum equals the snapshots' sum delta too: every
 * finite bucket's observations sit at one point of the bucket, at the same fraction of each bucket's
 * width, and the values above the last bound share what the finite buckets cannot hold. Only what
 * the snapshots do not carry is approximate: min and max, and where inside its bucket a value was.
 */

/** A fixed-bucket histogram as SenderTimings holds it (see src/stats). */
export interface BucketHistogram {
  /** Upper bounds, ascending; a last bucket above every bound is implied. */
  readonly bounds: readonly number[]
  /** Observations per bucket, not cumulative: bounds.length + 1 entries. */
  readonly counts: readonly number[]
  readonly sum: number
  readonly count: number
}

/** Observations to record: `count` times `value`. */
export interface Observation {
  readonly value: number
  readonly count: number
}

/**
 * What `next` holds that `previous` did not (a histogram only grows). When `next` is not a
 * continuation of `previous` (a bucket went down: a sender that started again, a snapshot older than
 * the last one; or other bounds), `next` counts from zero: all of it is new. Undefined when `next` is
 * not a well-formed histogram.
 */
export function histogramDelta(previous: BucketHistogram | undefined, next: BucketHistogram): BucketHistogram | undefined {
  if (!isHistogram(next)) return undefined
  if (previous === undefined || !sameBounds(previous.bounds, next.bounds)) return next
  const counts = next.counts.map((n, i) => n - (previous.counts[i] as number))
  if (counts.some((n) => n < 0)) return next
  return { bounds: next.bounds, counts, sum: Math.max(0, next.sum - previous.sum), count: Math.max(0, next.count - previous.count) }
}

/**
 * Values, in the histogram's own unit times `scale`, to record so that an SDK histogram with the
 * boundaries `bounds × scale` gets exactly `delta`'s bucket counts and (to rounding) its sum.
 * @param scale e.g. 0.001 to turn milliseconds into seconds.
 */
export function representativeObservations(delta: BucketHistogram, scale = 1): Observation[] {
  const bounds = delta.bounds.map((b) => scaled(b, scale))
  const counts = delta.counts
  const k = bounds.length
  const sum = delta.sum * scale
  const overflow = counts[k] ?? 0
  if (k === 0) return overflow > 0 ? [{ value: sum / overflow, count: overflow }] : []
  // Every finite bucket's observations at its upper bound first: the most the finite buckets can hold.
  let atUpper = 0
  let width = 0
  for (let i = 0; i < k; i++) {
    const n = counts[i] ?? 0
    atUpper += n * (bounds[i] as number)
    width += n * ((bounds[i] as number) - lower(bounds, i))
  }
  const last = bounds[k - 1] as number
  let finiteTarget = sum
  let overflowValue = 0
  if (overflow > 0) {
    const mean = (sum - atUpper) / overflow
    // Above the last bound (strictly: a value equal to it belongs to the last finite bucket).
    overflowValue = mean > last ? mean : above(last)
    finiteTarget = sum - overflowValue * overflow
  }
  const out: Observation[] = []
  // The finite buckets give up what they hold beyond finiteTarget, each in proportion to its width.
  let fraction = 1
  if (finiteTarget < atUpper && width > 0) fraction = Math.min(1, Math.max(0, 1 - (atUpper - finiteTarget) / width))
  for (let i = 0; i < k; i++) {
    const n = counts[i] ?? 0
    if (n <= 0) continue
    const hi = bounds[i] as number
    const lo = lower(bounds, i)
    let value = lo + fraction * (hi - lo)
    // A value on a lower bound belongs to the bucket below (buckets are (lo, hi]); the first has none.
    if (i > 0 && !(value > lo)) value = Math.min(hi, above(lo))
    if (value > hi) value = hi
    out.push({ value, count: n })
  }
  if (overflow > 0) out.push({ value: overflowValue, count: overflow })
  return out
}

/** The bounds `bounds × scale`, as the instrument's explicit bucket boundaries advice. */
export function scaledBounds(bounds: readonly number[], scale = 1): number[] {
  return bounds.map((b) => scaled(b, scale))
}

function scaled(value: number, scale: number): number {
  // Multiplying by 0.001 can land a hair off the decimal a person wrote (0.1 ms → 0.00010000000000000002 s).
  return scale === 0.001 ? value / 1000 : value * scale
}

/** The lower end of bucket i: the bound below, or 0 (every timing is ≥ 0) below the first. */
function lower(bounds: readonly number[], i: number): number {
  return i === 0 ? Math.min(0, bounds[0] as number) : (bounds[i - 1] as number)
}

/** A number just above x (x itself would fall in the bucket below). */
function above(x: number): number {
  const next = x + Math.max(Math.abs(x) * 1e-12, 1e-12)
  return next > x ? next : x + Number.EPSILON * Math.max(1, Math.abs(x))
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function isHistogram(h: BucketHistogram): boolean {
  return (
    Array.isArray(h?.bounds) &&
    Array.isArray(h.counts) &&
    h.counts.length === h.bounds.length + 1 &&
    h.counts.every((n) => Number.isFinite(n) && n >= 0) &&
    Number.isFinite(h.sum)
  )
}
