/** Records a slab's tables start with; they double as needed. */
const FIRST_TABLE = 1024

/**
 * One slab: lines back to back, each followed by its newline (a run of records is NDJSON as it
 * stands), and per record its end offset, level, seq, arrival time, flags, and how many senders hold
 * it. After compaction the data is gone and `forward` says where each live record went.
 */
export class Slab {
  readonly no: number
  data: Buffer | undefined
  used = 0
  count = 0
  ends = new Uint32Array(FIRST_TABLE)
  levels = new Float64Array(FIRST_TABLE)
  seqs = new Float64Array(FIRST_TABLE)
  times = new Float64Array(FIRST_TABLE)
  /** Bit 0: malformed (the line wraps raw text). */
  flags = new Uint8Array(FIRST_TABLE)
  holders = new Uint16Array(FIRST_TABLE)
  /** After compaction: 1 + where the record (born here) went (0: not moved). */
  forward: Float64Array | undefined
  /** For a record moved in here: 1 + its ref where it was born (0: born here). Made on the first move in. */
  origins: Float64Array | undefined
  /** Holds taken through this slab's refs and not released. At 0 a sealed slab is freed. */
  refs = 0
  liveBytes = 0
  sealed = false

  /** `data`: a recycled buffer of `size` bytes, else a new one. */
  constructor(no: number, size: number, data?: Buffer) {
    this.no = no
    this.data = data ?? Buffer.allocUnsafeSlow(size)
  }

  start(index: number): number {
    return index === 0 ? 0 : (this.ends[index - 1] as number)
  }

  grow(): void {
    const size = this.ends.length * 2
    const grown = <T extends Uint32Array | Float64Array | Uint8Array | Uint16Array>(a: T, make: (n: number) => T): T => {
      const b = make(size)
      b.set(a)
      return b
    }
    this.ends = grown(this.ends, (n) => new Uint32Array(n))
    this.levels = grown(this.levels, (n) => new Float64Array(n))
    this.seqs = grown(this.seqs, (n) => new Float64Array(n))
    this.times = grown(this.times, (n) => new Float64Array(n))
    this.flags = grown(this.flags, (n) => new Uint8Array(n))
    this.holders = grown(this.holders, (n) => new Uint16Array(n))
    if (this.origins) this.origins = grown(this.origins, (n) => new Float64Array(n))
  }
}
