import type { RecordLog } from './record-log.js'

/** Records and bytes waiting across several buffers (a grouped queue's groups). */
export interface QueueTotals {
  size: number
  bytes: number
}

/** A FIFO of refs on a growable ring (8 bytes a record): O(1) push, shift and pop. */
class Lane {
  #ring = new Float64Array(64)
  #head = 0
  length = 0

  push(ref: number): void {
    if (this.length === this.#ring.length) {
      const grown = new Float64Array(this.#ring.length * 2)
      for (let i = 0; i < this.length; i++) grown[i] = this.#ring[(this.#head + i) % this.#ring.length] as number
      this.#ring = grown
      this.#head = 0
    }
    this.#ring[(this.#head + this.length) % this.#ring.length] = ref
    this.length++
  }

  /** The oldest ref, or -1. */
  peek(): number {
    return this.length === 0 ? -1 : (this.#ring[this.#head] as number)
  }

  shift(): number {
    if (this.length === 0) return -1
    const ref = this.#ring[this.#head] as number
    this.#head = (this.#head + 1) % this.#ring.length
    this.length--
    this.#shrink()
    return ref
  }

  pop(): number {
    if (this.length === 0) return -1
    this.length--
    const ref = this.#ring[(this.#head + this.length) % this.#ring.length] as number
    this.#shrink()
    return ref
  }

  /** A lane that held a burst gives its ring back once it is empty. */
  #shrink(): void {
    if (this.length === 0 && this.#ring.length > 1024) {
      this.#ring = new Float64Array(64)
      this.#head = 0
    }
  }
}

/** Width of the level range one lane holds: pino's levels are multiples of ten. */
export const LEVEL_BUCKET_WIDTH = 10
/** Levels from this one up share the top lane (a producer may write a timestamp as its level). */
const TOP_LEVEL = 1000
/** Highest bucket: every level at or above {@link TOP_LEVEL}. */
export const TOP_BUCKET = TOP_LEVEL / LEVEL_BUCKET_WIDTH
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
 * Records waiting for a worker, as refs into the courier's {@link RecordLog}, kept in one FIFO lane
 * per level bucket so that a full queue can evict the lowest level first in O(1), while batches still
 * leave in arrival order (oldest head across lanes).
 *
 * Lanes are keyed by {@link levelBucket}, not by the exact level, so that a producer writing
 * arbitrary numbers as levels cannot create a lane per record: there are at most {@link MAX_LANES}
 * lanes, and finding the oldest record or the lowest level walks at most that many. The price:
 * levels within the same decade (a custom 35 and info 30, say) share a lane, so eviction treats
 * them as one level and drops them oldest- or newest-first together.
 */
export class RecordBuffer {
  readonly #log: RecordLog
  /** Counts shared by the buffers of a grouped queue, kept up to date by each of them. */
  readonly #totals: QueueTotals | undefined
  readonly #lanes = new Map<number, Lane>()
  /** The lanes by ascending bucket (at most MAX_LANES; a lane is kept once made). */
  #ordered: { readonly bucket: number; readonly lane: Lane }[] = []
  #size = 0
  #bytes = 0

  constructor(log: RecordLog, totals?: QueueTotals) {
    this.#log = log
    this.#totals = totals
  }

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

  /** Queues `ref`; its `level` and `bytes` as the caller read them from the log already. */
  push(ref: number, level: number, bytes: number): void {
    const bucket = levelBucket(level)
    let lane = this.#lanes.get(bucket)
    if (!lane) {
      lane = new Lane()
      this.#lanes.set(bucket, lane)
      this.#ordered = [...this.#ordered, { bucket, lane }].sort((a, b) => a.bucket - b.bucket)
    }
    lane.push(ref)
    this.#size++
    this.#bytes += bytes
    if (this.#totals) {
      this.#totals.size++
      this.#totals.bytes += bytes
    }
  }

  /** The oldest waiting record (lowest seq), or -1. */
  peekOldest(): number {
    return this.#oldestLane()?.peek() ?? -1
  }

  /** Removes and returns the oldest waiting record, or -1. */
  shiftOldest(): number {
    return this.#taken(this.#oldestLane()?.shift() ?? -1)
  }

  /** Lowest level bucket ({@link levelBucket}) that has a waiting record, or undefined when empty. */
  lowestBucket(): number | undefined {
    for (const { bucket, lane } of this.#ordered) if (lane.length > 0) return bucket
    return undefined
  }

  /** Evicts the oldest record of the lowest level bucket present (-1 when empty). */
  shiftLowest(): number {
    return this.#taken(this.#lowestLane()?.shift() ?? -1)
  }

  /** Evicts the newest record of the lowest level bucket present (-1 when empty). */
  popLowest(): number {
    return this.#taken(this.#lowestLane()?.pop() ?? -1)
  }

  /** Removes everything, oldest first. */
  drain(): number[] {
    const out: number[] = []
    for (let ref = this.shiftOldest(); ref >= 0; ref = this.shiftOldest()) out.push(ref)
    return out
  }

  #oldestLane(): Lane | undefined {
    let oldest: Lane | undefined
    let oldestSeq = Number.POSITIVE_INFINITY
    for (const { lane } of this.#ordered) {
      const head = lane.peek()
      if (head < 0) continue
      const seq = this.#log.seq(head)
      if (seq < oldestSeq) {
        oldest = lane
        oldestSeq = seq
      }
    }
    return oldest
  }

  #lowestLane(): Lane | undefined {
    for (const { lane } of this.#ordered) if (lane.length > 0) return lane
    return undefined
  }

  #taken(ref: number): number {
    if (ref >= 0) {
      const bytes = this.#log.bytes(ref)
      this.#size--
      this.#bytes -= bytes
      if (this.#totals) {
        this.#totals.size--
        this.#totals.bytes -= bytes
      }
    }
    return ref
  }
}
