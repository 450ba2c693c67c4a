import type { LogRecord } from '../record.js'

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

/**
 * Records waiting for a worker, kept in one FIFO lane per level so that a full queue can evict the
 * lowest level first in O(1), while batches still leave in arrival order (oldest head across lanes).
 */
export class RecordBuffer {
  readonly #lanes = new Map<number, Lane>()
  /** Levels with a lane, ascending. Few in practice (one per level in use). */
  #levels: number[] = []
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

  push(record: LogRecord): void {
    let lane = this.#lanes.get(record.level)
    if (!lane) {
      lane = new Lane()
      this.#lanes.set(record.level, lane)
      this.#levels = [...this.#levels, record.level].sort((a, b) => a - b)
    }
    lane.push(record)
    this.#size++
    this.#bytes += record.bytes
  }

  /** The oldest waiting record (lowest seq), or undefined. */
  peekOldest(): LogRecord | undefined {
    let oldest: LogRecord | undefined
    for (const level of this.#levels) {
      const head = this.#lanes.get(level)?.peek()
      if (head && (!oldest || head.seq < oldest.seq)) oldest = head
    }
    return oldest
  }

  /** Removes and returns the oldest waiting record. */
  shiftOldest(): LogRecord | undefined {
    const oldest = this.peekOldest()
    if (oldest) this.#taken(this.#lanes.get(oldest.level)?.shift())
    return oldest
  }

  /** Lowest level that has a waiting record, or undefined when empty. */
  lowestLevel(): number | undefined {
    for (const level of this.#levels) {
      if ((this.#lanes.get(level)?.length ?? 0) > 0) return level
    }
    return undefined
  }

  /** Evicts the oldest record of the lowest level present. */
  shiftLowest(): LogRecord | undefined {
    const level = this.lowestLevel()
    return level === undefined ? undefined : this.#taken(this.#lanes.get(level)?.shift())
  }

  /** Evicts the newest record of the lowest level present. */
  popLowest(): LogRecord | undefined {
    const level = this.lowestLevel()
    return level === undefined ? undefined : this.#taken(this.#lanes.get(level)?.pop())
  }

  /** Removes everything, oldest first. */
  drain(): LogRecord[] {
    const out: LogRecord[] = []
    for (let r = this.shiftOldest(); r; r = this.shiftOldest()) out.push(r)
    return out
  }

  #taken(record: LogRecord | undefined): LogRecord | undefined {
    if (record) {
      this.#size--
      this.#bytes -= record.bytes
    }
    return record
  }
}
