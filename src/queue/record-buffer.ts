import type { LogRecord } from '../input/record.js'

/** A FIFO on an array with a moving head: O(1) push, shift and pop without re-indexing. */
class Lane {
  items: (LogRecord | undefined)[] = []
  head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(record: LogRecord): void {
    this.items.push(record)
  }

  peek(): LogRecord | undefined {
    return this.items[this.head]
  }

  shift(): LogRecord | undefined {
    if (this.head >= this.items.length) return undefined
    const record = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      // Compact now and then so a long-lived lane does not keep a growing hole at its front.
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return record
  }

  pop(): LogRecord | undefined {
    if (this.head >= this.items.length) return undefined
    const record = this.items.pop()
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    }
    return record
  }
}

/** Width of the level range one lane holds: pino's levels are multiples of ten. */
export const LEVEL_BUCKET_WIDTH = 10
/** Levels from this one up share the top lane (a producer may write a timestamp as its level). */
const TOP_LEVEL = 1000
/** Highest bucket: every level at or above {@link TOP_LEVEL}. */
const TOP_BUCKET = TOP_LEVEL / LEVEL_BUCKET_WIDTH
/** Most lanes a buffer can have: one for negative levels, one per decade below 1000, one above. */
export const MAX_LANES = TOP_BUCKET + 2

/**
 * The lane of a level: its decade (`Math.floor(level / 10)`), with every negative level (and NaN)
 * in bucket -1 and every level from 1000 up in bucket 100. Buckets order like the levels they hold,
 * so level-aware eviction compares buckets, never raw levels.
 */
export function levelBucket(level: number): number {
  if (!(level >= 0)) return -1
  if (level >= TOP_LEVEL) return TOP_BUCKET
  return Math.floor(level / LEVEL_BUCKET_WIDTH)
}

/**
 * Records waiting for a worker, kept in one FIFO lane per level bucket so that a full queue can
 * evict the lowest level first in O(1), while batches still leave in arrival order (oldest head
 * across lanes).
 *
 * Lanes are keyed by {@link levelBucket}, not by the exact level, so that a producer writing
 * arbitrary numbers as levels cannot create a lane per record: there are at most {@link MAX_LANES}
 * lanes, and finding the oldest record or the lowest level walks at most that many. The price:
 * levels within the same decade (a custom 35 and info 30, say) share a lane, so eviction treats
 * them as one level and drops them oldest- or newest-first together.
 */
export class RecordBuffer {
  readonly #lanes = new Map<number, Lane>()
  /** The lanes by ascending bucket (at most MAX_LANES; a lane is kept once made). */
  #ordered: { readonly bucket: number; readonly lane: Lane }[] = []
  #size = 0
  #bytes = 0

  /** Records waiting. */
  get size(): number {
    return this.#size
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes
  }

  /** Lanes made so far (never more than {@link MAX_LANES}). */
  get laneCount(): number {
    return this.#lanes.size
  }

  push(record: LogRecord): void {
    const bucket = levelBucket(record.level)
    let lane = this.#lanes.get(bucket)
    if (!lane) {
      lane = new Lane()
      this.#lanes.set(bucket, lane)
      this.#ordered = [...this.#ordered, { bucket, lane }].sort((a, b) => a.bucket - b.bucket)
    }
    lane.push(record)
    this.#size++
    this.#bytes += record.bytes
  }

  /** The oldest waiting record (lowest seq), or undefined. */
  peekOldest(): LogRecord | undefined {
    return this.#oldestLane()?.peek()
  }

  /** Removes and returns the oldest waiting record. */
  shiftOldest(): LogRecord | undefined {
    return this.#taken(this.#oldestLane()?.shift())
  }

  /** Lowest level bucket ({@link levelBucket}) that has a waiting record, or undefined when empty. */
  lowestBucket(): number | undefined {
    for (const { bucket, lane } of this.#ordered) if (lane.length > 0) return bucket
    return undefined
  }

  /** Evicts the oldest record of the lowest level bucket present. */
  shiftLowest(): LogRecord | undefined {
    return this.#taken(this.#lowestLane()?.shift())
  }

  /** Evicts the newest record of the lowest level bucket present. */
  popLowest(): LogRecord | undefined {
    return this.#taken(this.#lowestLane()?.pop())
  }

  /** Removes everything, oldest first. */
  drain(): LogRecord[] {
    const out: LogRecord[] = []
    for (let r = this.shiftOldest(); r; r = this.shiftOldest()) out.push(r)
    return out
  }

  #oldestLane(): Lane | undefined {
    let oldest: Lane | undefined
    let oldestSeq = Number.POSITIVE_INFINITY
    for (const { lane } of this.#ordered) {
      const head = lane.peek()
      if (head && head.seq < oldestSeq) {
        oldest = lane
        oldestSeq = head.seq
      }
    }
    return oldest
  }

  #lowestLane(): Lane | undefined {
    for (const { lane } of this.#ordered) if (lane.length > 0) return lane
    return undefined
  }

  #taken(record: LogRecord | undefined): LogRecord | undefined {
    if (record) {
      this.#size--
      this.#bytes -= record.bytes
    }
    return record
  }
}
