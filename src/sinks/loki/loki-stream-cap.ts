/**
 * The `maxStreams` cap: how many distinct streams a Loki sender keeps open at once. A stream nothing
 * was sent to for {@link STREAM_IDLE_MS} is forgotten, so that labels whose values change slowly (a
 * version, a deploy colour) open new streams as old ones go quiet, as Loki's own count of active
 * streams does, rather than be refused for good once the cap was reached.
 */

/**
 * How long a stream without entries still counts against `maxStreams`: an hour. Loki counts a stream
 * active (against `max_global_streams_per_user`) until its ingester flushes the stream's idle chunk,
 * `chunk_idle_period` (30 min by default) after its last entry: an hour stays on the safe side of that.
 */
export const STREAM_IDLE_MS = 60 * 60 * 1000

/**
 * Default of `maxStreams`: Loki's own default limit of active streams per tenant
 * (`limits_config.max_global_streams_per_user`, 5,000). Past it Loki answers every push that opens a
 * new stream with 429 "maximum active stream limit exceeded", which a sender would retry in vain.
 */
export const DEFAULT_MAX_STREAMS = 5000

export class StreamCap {
  readonly #max: number
  readonly #idleMs: number
  /** Each stream's last use (ms), least recently used first: a use moves the stream to the end. */
  readonly #lastUse = new Map<string, number>()

  constructor(max = DEFAULT_MAX_STREAMS, idleMs = STREAM_IDLE_MS) {
    this.#max = max
    this.#idleMs = idleMs
  }

  /** Whether an entry of `stream` may go at `now` (ms): a stream in use, or a new one within the cap. */
  admit(stream: string, now: number): boolean {
    const last = this.#lastUse.get(stream)
    if (last !== undefined) {
      if (last !== now) {
        this.#lastUse.delete(stream)
        this.#lastUse.set(stream, now)
      }
      return true
    }
    if (this.#lastUse.size >= this.#max) this.#forgetIdle(now)
    if (this.#lastUse.size >= this.#max) return false
    this.#lastUse.set(stream, now)
    return true
  }

  /** Streams counted now. */
  get size(): number {
    return this.#lastUse.size
  }

  /** Forgets the streams idle for `idleMs` or more: the oldest come first, so it stops at the first in use. */
  #forgetIdle(now: number): void {
    for (const [stream, last] of this.#lastUse) {
      if (now - last < this.#idleMs) return
      this.#lastUse.delete(stream)
    }
  }
}
