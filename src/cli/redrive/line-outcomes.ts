import type { LogRecord } from '../../input/record.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { Sender } from '../../senders/sender.js'
import { DROP_REASONS, type DropReason, type FailureRecord } from '../../stats/delivery-stats.js'
import type { RecordObserver, RecordOutcome } from '../../stats/ledger.js'

/** Where a line of the re-driven file ended up, as far as what is kept in the file goes. */
export type LineFate = 'delivered' | 'spooled' | 'failed' | DropReason | 'untaken'

/** A bad outcome's code in the per-line table: 1 failed, 2.. a drop reason (DROP_REASONS order). */
const FAILED = 1

/**
 * Follows the lines of a re-driven file through the courier, as a {@link RecordObserver}: which line a
 * record is (by its arrival seq), and what every sender it went to did with it. A line leaves the file
 * only when every sender that takes it (its level at or above the sender's) reported it delivered or
 * spooled, and none failed or dropped it; a line nobody reported on stays.
 *
 * Kept in typed arrays (about 30 bytes a line), so that a file of millions of lines is followed without
 * an object per line.
 */
export class LineOutcomes implements RecordObserver {
  /** Seq of each line, ascending (lines are written in order, seqs only grow). */
  #seqs = new Float64Array(1024)
  /** Byte offsets of each line in the file: its start and its end (newline included). */
  #starts = new Float64Array(1024)
  #ends = new Float64Array(1024)
  /** Delivered-or-spooled reports per line (capped at 255). */
  #good = new Uint8Array(1024)
  /** The first bad outcome per line (0 none, see FAILED). */
  #bad = new Uint8Array(1024)
  /** Senders that take the line (known from its first report; 0 = never reported). */
  #expected = new Uint8Array(1024)
  /** Lines at least one sender spooled. */
  #spooled = new Uint8Array(1024)
  #count = 0
  /** Failed and dropped record reports, for any seq (the file's lines or records read back from a spool). */
  #badReports = 0
  /** The senders followed: the courier's queued senders (others tell no observer). */
  #followed: readonly Sender[] = []

  /** Number of lines added. */
  get count(): number {
    return this.#count
  }

  /** Failed and dropped records the observer was told of, whatever their seq. */
  get badReports(): number {
    return this.#badReports
  }

  /**
   * The courier's senders, once it is built: the queued ones are followed. Returns the names of the
   * others, whose outcomes cannot decide what is kept (they tell no observer).
   */
  follow(senders: readonly Sender[]): string[] {
    this.#followed = senders.filter((s) => s instanceof QueuedSender)
    return senders.filter((s) => !(s instanceof QueuedSender)).map((s) => s.name)
  }

  /** A line was written to the courier as the record of arrival seq `seq`; its bytes are [start, end) of the file. */
  add(seq: number, start: number, end: number): void {
    if (this.#count === this.#seqs.length) this.#grow()
    const i = this.#count++
    this.#seqs[i] = seq
    this.#starts[i] = start
    this.#ends[i] = end
  }

  start(i: number): number {
    return this.#starts[i] as number
  }

  end(i: number): number {
    return this.#ends[i] as number
  }

  /** What became of line `i` (call once the courier is closed). */
  fate(i: number): LineFate {
    const bad = this.#bad[i] as number
    if (bad === FAILED) return 'failed'
    if (bad > FAILED) return DROP_REASONS[bad - FAILED - 1] as DropReason
    const expected = this.#expected[i] as number
    if (expected === 0 || (this.#good[i] as number) < expected) return 'untaken'
    return this.#spooled[i] === 1 ? 'spooled' : 'delivered'
  }

  settled(records: readonly LogRecord[], outcome: RecordOutcome, _failure?: FailureRecord): void {
    const good = outcome === 'delivered' || outcome === 'spooled'
    if (!good) this.#badReports += records.length
    for (const record of records) {
      const i = this.#indexOf(record.seq)
      if (i < 0) continue
      if (this.#expected[i] === 0) this.#expected[i] = Math.min(255, this.#takers(record.level))
      if (good) {
        if ((this.#good[i] as number) < 255) this.#good[i] = (this.#good[i] as number) + 1
        if (outcome === 'spooled') this.#spooled[i] = 1
      } else if (this.#bad[i] === 0) {
        this.#bad[i] = outcome === 'failed' ? FAILED : FAILED + 1 + DROP_REASONS.indexOf(outcome)
      }
    }
  }

  /** How many followed senders take a record of this level. */
  #takers(level: number): number {
    let n = 0
    for (const sender of this.#followed) if (level >= sender.level) n++
    // A sender reported it, so at least one takes it (one whose level is not what it says).
    return Math.max(n, 1)
  }

  /** The line whose record has this seq, or -1 (a record read back from a spool, or not the file's). */
  #indexOf(seq: number): number {
    const seqs = this.#seqs
    let lo = 0
    let hi = this.#count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const at = seqs[mid] as number
      if (at === seq) return mid
      if (at < seq) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  #grow(): void {
    const size = this.#seqs.length * 2
    const grow = <T extends Float64Array | Uint8Array>(from: T, make: (n: number) => T): T => {
      const to = make(size)
      to.set(from)
      return to
    }
    this.#seqs = grow(this.#seqs, (n) => new Float64Array(n))
    this.#starts = grow(this.#starts, (n) => new Float64Array(n))
    this.#ends = grow(this.#ends, (n) => new Float64Array(n))
    this.#good = grow(this.#good, (n) => new Uint8Array(n))
    this.#bad = grow(this.#bad, (n) => new Uint8Array(n))
    this.#expected = grow(this.#expected, (n) => new Uint8Array(n))
    this.#spooled = grow(this.#spooled, (n) => new Uint8Array(n))
  }
}
