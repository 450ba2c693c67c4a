import type { Histogram } from './timings.js'

/**
 * A {@link Histogram} being filled: fixed bounds, one counter per bucket, no allocation per
 * observation. Observed once per attempt or per batch, never per record, so a linear scan of a dozen
 * bounds costs nothing next to a request.
 */
export class FixedHistogram {
  /** Shared with every snapshot: frozen, so nobody can change them under another's feet. */
  readonly bounds: readonly number[]
  readonly #counts: number[]
  #sum = 0
  #count = 0

  /** `bounds`: ascending upper bounds (a value equal to a bound falls in its bucket, as Prometheus' `le`). */
  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new RangeError('histogram bounds must be ascending')
    }
    this.bounds = Object.isFrozen(bounds) ? bounds : Object.freeze([...bounds])
    this.#counts = new Array<number>(bounds.length + 1).fill(0)
  }

  /** Counts one value. Not a number, or below 0 (a clock set back), counts as 0. */
  observe(value: number): void {
    const v = value > 0 ? value : 0
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && v > (bounds[i] as number)) i++
    this.#counts[i] = (this.#counts[i] as number) + 1
    this.#sum += v
    this.#count++
  }

  get count(): number {
    return this.#count
  }

  /** A copy, plain data (the worker posts it to the main thread): later observations do not change it. */
  snapshot(): Histogram {
    return { bounds: this.bounds, counts: this.#counts.slice(), sum: this.#sum, count: this.#count }
  }
}
