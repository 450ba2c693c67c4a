/** Shortest pause after a 429 without Retry-After, whatever the round-trip time: below it a pause is noise. */
export const MIN_OVERLOAD_PAUSE_MS = 10

/**
 * The rate half of adaptive concurrency: how long the whole sender pauses new requests after a 429
 * that did not say how long to wait (no `Retry-After`).
 *
 * Why a pause and not a second AIMD on the request rate: the concurrency limit already answers a sink
 * that takes N requests at a time, and there a bare 429 is a probe one past N: one round trip of pause
 * (the baseline), reset by the next success, costs a window every few dozen and nothing more. A sink
 * that limits requests per second is the case the limit cannot fix (at concurrency 1 and a 5 ms round
 * trip a sender still makes 200 requests a second): there every request after the first 429 is refused
 * too, and the pause doubles with each, so it reaches the length of the sink's rate window in a few
 * steps, like the retry backoff but for the sender (new batches too, not only the refused one). A rate
 * cap would need its own probing and a rate estimate a window of answers cannot tell from the
 * concurrency's effect; the pause needs neither and is bounded by `retry.maxDelayMs`.
 *
 * 429s of requests sent before the current pause began grow nothing: they are the same overload seen
 * late (four requests in flight refused at once are one event, not four).
 */
export class OverloadPause {
  readonly #maxMs: number
  /** Bare 429s in a row, each from a request sent after the previous pause began. */
  #streak = 0
  /** When the last pause began, on the caller's clock. */
  #pausedAt = Number.NEGATIVE_INFINITY
  #pauses = 0

  /** `maxMs`: the longest pause (`retry.maxDelayMs`). */
  constructor(maxMs: number) {
    this.#maxMs = maxMs
  }

  /** Pauses so far. */
  get pauses(): number {
    return this.#pauses
  }

  /**
   * A bare 429 came for a request sent at `sentAt` (now is `now`, same clock): the pause to start now
   * in ms, or 0 when the current one already answers it. `roundTripMs`: the sink's usual round trip.
   */
  refused(sentAt: number, now: number, roundTripMs: number | undefined): number {
    // retry.maxDelayMs 0 turns the pause off: counted, `pauses` would report pauses that never held anything back.
    if (this.#maxMs <= 0 || sentAt < this.#pausedAt) return 0
    this.#streak++
    this.#pausedAt = now
    this.#pauses++
    const base = Math.max(MIN_OVERLOAD_PAUSE_MS, roundTripMs ?? 0)
    return Math.min(this.#maxMs, base * 2 ** Math.min(this.#streak - 1, 30))
  }

  /** A request came through: the sink has room again, the next bare 429 starts from one round trip. */
  delivered(): void {
    this.#streak = 0
  }
}
