import { isJsonObject } from '../input/json-check.js'
import { LogRecord, nextSeq } from '../input/log-record.js'
import { Slab } from './slab.js'

/** Size of a slab: lines are appended into slabs of this size (a longer line gets a slab of its own). */
export const SLAB_BYTES = 1024 * 1024
/** Refs are `slab number * SLAB_SPAN + index`: a slab holds fewer records than this (lines of 2 bytes or more). */
const SLAB_SPAN = 2 ** 20
/**
 * When the slabs hold more than twice the live bytes plus this much, a sealed slab whose live bytes are
 * below COMPACT_BELOW of its bytes moves its live records to the tail.
 */
const COMPACT_SLACK = 4 * SLAB_BYTES
/** Freed slab buffers kept for reuse. */
const FREE_SLABS = 8
const COMPACT_BELOW = 0.25

/**
 * Where a courier keeps the lines its senders hold: UTF-8 in 1 MiB slabs shared by every sender, so a
 * queued record costs its bytes plus about 30 bytes of tables, not a string and an object, and a
 * record sent to five senders is stored once. A record is named by a ref (a number); a sender holds
 * the refs it has queued or in flight and releases each when the record leaves it. A slab is freed
 * when no sender holds anything in it; a sealed slab that is mostly released (a level-filtered
 * sender keeping one error line in a megabyte of info lines) moves its live records to the tail and
 * frees its data, so a few held records never pin whole slabs.
 *
 * A run of records appended one after the other is NDJSON as it stands: a batch body is made of
 * slices of the slabs ({@link chunks}), without copying a line.
 */
export class RecordLog {
  readonly #slabs = new Map<number, Slab>()
  #tail: Slab
  #nextNo = 0
  /** Cache of the last slab looked up: most lookups are of the newest slabs. */
  #last: Slab
  /**
   * Records handed over as objects (a direct send()), while held: views of them are those very
   * objects, as the caller knows them. The courier's path makes none.
   */
  readonly #originals = new Map<number, LogRecord>()
  /** The index #at found. */
  #atIndex = 0
  /** Slab buffers freed and kept for reuse (at most FREE_SLABS). */
  readonly #free: Buffer[] = []
  /** Bytes of slab data, and of the records in them some sender holds. */
  #dataTotal = 0
  #liveTotal = 0

  /** Slab data allowed beyond twice the live bytes before records are moved (see #startTail). */
  readonly #compactSlack: number

  /** `compactSlack`: for tests. @default 4 slabs */
  constructor(options: { compactSlack?: number } = {}) {
    this.#compactSlack = options.compactSlack ?? COMPACT_SLACK
    this.#tail = this.#last = this.#newSlab(SLAB_BYTES)
  }

  /** Slabs alive (with data or forwarding). */
  get slabs(): number {
    return this.#slabs.size
  }

  /** Bytes of slab data held now (the tail's whole slab included). */
  get dataBytes(): number {
    return this.#dataTotal
  }

  /** Bytes of the records some sender holds. */
  get liveBytes(): number {
    return this.#liveTotal
  }

  /**
   * Appends a line that should be exactly one JSON object, checking it where it was encoded into the
   * slab (json-check.ts): its ref, or -1 when it is not one JSON object (nothing is appended).
   */
  appendChecked(text: string, level: number, time: number): number {
    const slab = this.#room(text)
    const data = slab.data as Buffer
    const written = data.write(text, slab.used, 'utf8')
    // The check's sentinel, where the newline will go.
    data[slab.used + written] = 0
    if (!isJsonObject(data, slab.used, slab.used + written)) return -1
    return this.#commit(slab, written, level, time, 0)
  }

  /**
   * {@link appendChecked} for a line already in UTF-8, `bytes[start..end)` (a piped chunk, the CLI's
   * path), copied as it is: its ref, or -1 when it is not exactly one JSON object (nothing appended).
   */
  appendCheckedBytes(bytes: Uint8Array, start: number, end: number, level: number, time: number): number {
    const size = end - start
    // The line, its newline and the sentinel; looped like #room (a new tail may fill with moved records).
    while ((this.#tail.data as Buffer).length - this.#tail.used < size + 2) this.#startTail(Math.max(SLAB_BYTES, size + 2))
    const slab = this.#tail
    const data = slab.data as Buffer
    const at = slab.used
    // A view and a native copy: a byte loop measured 3-6 times slower for a 240-byte line.
    data.set(bytes.subarray(start, end), at)
    data[at + size] = 0
    if (!isJsonObject(data, at, at + size)) return -1
    return this.#commit(slab, size, level, time, 0)
  }

  /** Appends a line as it is (the caller knows it is valid JSON). */
  append(text: string, level: number, time: number, malformed = false): number {
    const slab = this.#room(text)
    const written = (slab.data as Buffer).write(text, slab.used, 'utf8')
    return this.#commit(slab, written, level, time, malformed ? 1 : 0)
  }

  /** Appends a record made elsewhere (a direct send(), a batch read back from the spool), with its seq and time. */
  appendRecord(record: LogRecord): number {
    const ref = this.append(record.line, record.level, record.time, record.malformed)
    const slab = this.#slab(ref)
    slab.seqs[ref % SLAB_SPAN] = record.seq
    this.#originals.set(ref, record)
    return ref
  }

  level(ref: number): number {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return slab.levels[i] as number
  }

  seq(ref: number): number {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return slab.seqs[i] as number
  }

  time(ref: number): number {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return slab.times[i] as number
  }

  malformed(ref: number): boolean {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return ((slab.flags[i] as number) & 1) === 1
  }

  /** UTF-8 size of the line plus its newline (what LogRecord.bytes counts). */
  bytes(ref: number): number {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return (slab.ends[i] as number) - slab.start(i)
  }

  /** The line, without its newline (decoded: for the slow paths). */
  line(ref: number): string {
    const slab = this.#at(ref)
    const i = this.#atIndex
    return (slab.data as Buffer).toString('utf8', slab.start(i), (slab.ends[i] as number) - 1)
  }

  /** A LogRecord of the record, for code that works on records (custom senders and sinks, the spool). */
  view(ref: number): LogRecord {
    const original = this.#originals.get(ref)
    if (original) return original
    const slab = this.#at(ref)
    const i = this.#atIndex
    const start = slab.start(i)
    const end = slab.ends[i] as number
    const line = (slab.data as Buffer).toString('utf8', start, end - 1)
    return new LogRecord(line, slab.levels[i] as number, ((slab.flags[i] as number) & 1) === 1, undefined, end - start, slab.seqs[i], slab.times[i])
  }

  /** The records' lines as NDJSON, as slices of the slabs: consecutive records are one slice. */
  chunks(refs: readonly number[]): Buffer[] {
    const out: Buffer[] = []
    let data: Buffer | undefined
    let from = 0
    let to = 0
    for (const ref of refs) {
      const slab = this.#at(ref)
    const i = this.#atIndex
      const start = slab.start(i)
      if (slab.data === data && start === to) {
        to = slab.ends[i] as number
        continue
      }
      if (data) out.push(data.subarray(from, to))
      data = slab.data
      from = start
      to = slab.ends[i] as number
    }
    if (data) out.push(data.subarray(from, to))
    return out
  }

  /** A sender holds the record (it is queued there): its slab stays until released. */
  hold(ref: number): void {
    const slab = this.#slab(ref)
    const i = ref % SLAB_SPAN
    slab.refs++
    slab.holders[i] = (slab.holders[i] as number) + 1
    const moved = slab.forward ? (slab.forward[i] as number) - 1 : -1
    if (moved < 0) {
      if (slab.holders[i] === 1) this.#addLive(slab, (slab.ends[i] as number) - slab.start(i))
      return
    }
    // A moved record is held where it now is too.
    const now = this.#slab(moved)
    const j = moved % SLAB_SPAN
    now.refs++
    now.holders[j] = (now.holders[j] as number) + 1
    if (now.holders[j] === 1) this.#addLive(now, (now.ends[j] as number) - now.start(j))
  }

  /** A sender is done with the record (delivered, failed, dropped or on disk). */
  release(ref: number): void {
    const slab = this.#slab(ref)
    const i = ref % SLAB_SPAN
    if (slab.holders[i] === 1) this.#originals.delete(ref)
    slab.refs--
    slab.holders[i] = (slab.holders[i] as number) - 1
    const moved = slab.forward ? (slab.forward[i] as number) - 1 : -1
    if (moved < 0) {
      if (slab.holders[i] === 0) this.#addLive(slab, slab.start(i) - (slab.ends[i] as number))
    } else {
      const now = this.#slab(moved)
      const j = moved % SLAB_SPAN
      now.refs--
      now.holders[j] = (now.holders[j] as number) - 1
      if (now.holders[j] === 0) this.#addLive(now, now.start(j) - (now.ends[j] as number))
      this.#settled(now)
    }
    this.#settled(slab)
  }

  /** Whether nothing is held any more (every slab but an empty tail freed): for tests. */
  idle(): boolean {
    return this.#slabs.size === 1 && this.#tail.refs === 0
  }

  #commit(slab: Slab, written: number, level: number, time: number, flags: number): number {
    const data = slab.data as Buffer
    data[slab.used + written] = 0x0a
    slab.used += written + 1
    const i = slab.count++
    if (i === slab.ends.length) slab.grow()
    slab.ends[i] = slab.used
    slab.levels[i] = level
    slab.seqs[i] = nextSeq()
    slab.times[i] = time
    slab.flags[i] = flags
    slab.holders[i] = 0
    if (slab.origins) slab.origins[i] = 0
    return slab.no * SLAB_SPAN + i
  }

  /**
   * The tail, with room for `text` in the worst case (3 bytes per UTF-16 unit, the newline and the
   * check's sentinel), so that one Buffer#write always writes it whole; else a new tail (a slab of its
   * own for a line longer than a slab). Buffer#write into the slab costs a third of
   * TextEncoder#encodeInto into a view of it.
   */
  #room(text: string): Slab {
    let need = text.length * 3 + 2
    // A line that may not fit a slab is measured: it gets a slab of its exact size.
    if (need > SLAB_BYTES) need = Buffer.byteLength(text) + 2
    // Again after a new tail: moving records out of an old slab (see #startTail) may have filled it.
    while ((this.#tail.data as Buffer).length - this.#tail.used < need) this.#startTail(Math.max(SLAB_BYTES, need))
    return this.#tail
  }

  /** Seals the tail and starts a new one of `size` bytes. */
  #startTail(size: number): Slab {
    const old = this.#tail
    old.sealed = true
    this.#tail = this.#newSlab(size)
    this.#settled(old)
    // Slab data held far beyond what is live means a few records that do not leave (a level-filtered
    // sender's, a stalled sink's) pin mostly released slabs: they move on, and those slabs' data goes.
    // In a burst everything queued is live, and nothing is moved.
    if (this.#dataTotal > 2 * this.#liveTotal + this.#compactSlack) {
      for (const slab of [...this.#slabs.values()]) {
        if (slab.sealed && slab.data && slab.liveBytes < slab.used * COMPACT_BELOW) this.#compact(slab)
      }
    }
    return this.#tail
  }

  #addLive(slab: Slab, bytes: number): void {
    slab.liveBytes += bytes
    this.#liveTotal += bytes
  }

  #newSlab(size: number): Slab {
    const slab = new Slab(this.#nextNo++, size, size === SLAB_BYTES ? this.#free.pop() : undefined)
    this.#dataTotal += size
    this.#slabs.set(slab.no, slab)
    return slab
  }

  /** Frees a sealed slab nobody holds; compacts one that is mostly released. */
  #settled(slab: Slab): void {
    if (!slab.sealed) return
    if (slab.refs === 0) {
      this.#slabs.delete(slab.no)
      if (slab.data) {
        this.#dataTotal -= slab.data.length
        // Nobody holds a record in it any more, so no batch body in flight points into it (a batch
        // holds its records until it settles): its buffer is reused rather than left to the GC, which
        // collects external memory late (a burst left tens of megabytes of dead slabs behind).
        if (slab.data.length === SLAB_BYTES && this.#free.length < FREE_SLABS) this.#free.push(slab.data)
      }
      if (this.#last === slab) this.#last = this.#tail
      return
    }
  }

  /**
   * Moves the slab's live records to the tail and frees its data. A record born here keeps its ref: the
   * slab stays, with only its `forward` table, while it is held. A record moved in earlier moves on,
   * and its birth slab's `forward` is pointed at its new place: a record is never more than one hop
   * from its ref, and a slab is kept only for records born in it.
   */
  #compact(slab: Slab): void {
    const data = slab.data as Buffer
    const forward = (slab.forward ??= new Float64Array(slab.count))
    for (let i = 0; i < slab.count; i++) {
      const holders = slab.holders[i] as number
      if (holders === 0 || (forward[i] as number) > 0) continue
      const start = slab.start(i)
      const end = slab.ends[i] as number
      const tail = this.#roomFor(end - start)
      ;(tail.data as Buffer).set(data.subarray(start, end), tail.used)
      tail.used += end - start
      const j = tail.count++
      if (j === tail.ends.length) tail.grow()
      tail.ends[j] = tail.used
      tail.levels[j] = slab.levels[i] as number
      tail.seqs[j] = slab.seqs[i] as number
      tail.times[j] = slab.times[i] as number
      tail.flags[j] = slab.flags[i] as number
      tail.holders[j] = holders
      tail.refs += holders
      this.#addLive(tail, end - start)
      const origins = (tail.origins ??= new Float64Array(tail.ends.length))
      const born = slab.origins ? (slab.origins[i] as number) - 1 : -1
      const now = tail.no * SLAB_SPAN + j
      if (born < 0) {
        forward[i] = now + 1
        origins[j] = slab.no * SLAB_SPAN + i + 1
      } else {
        // Moved in earlier: it leaves this slab for good, and its birth slab points at its new place.
        ;(this.#slab(born).forward as Float64Array)[born % SLAB_SPAN] = now + 1
        origins[j] = born + 1
        slab.holders[i] = 0
        slab.refs -= holders
      }
    }
    // Reads of its records go through `forward` now: the data and the tables can go.
    this.#dataTotal -= data.length
    this.#addLive(slab, -slab.liveBytes)
    slab.data = undefined
    slab.ends = new Uint32Array(0)
    slab.levels = slab.seqs = slab.times = new Float64Array(0)
    slab.flags = new Uint8Array(0)
    slab.origins = undefined
    this.#settled(slab)
  }

  /** The tail, with room for `bytes` (a new one if it has not). */
  #roomFor(bytes: number): Slab {
    const tail = this.#tail
    if ((tail.data as Buffer).length - tail.used >= bytes) return tail
    return this.#startTail(Math.max(SLAB_BYTES, bytes))
  }

  #slab(ref: number): Slab {
    const no = Math.floor(ref / SLAB_SPAN)
    const last = this.#last
    if (last.no === no) return last
    const slab = this.#slabs.get(no)
    if (!slab) throw new RangeError(`record log: no slab for ref ${ref}`)
    this.#last = slab
    return slab
  }

  /**
   * Where the record's data is now (one hop at most, see #compact): the slab, and the index in
   * #atIndex. Two fields rather than a tuple: it runs several times per record.
   */
  #at(ref: number): Slab {
    const slab = this.#slab(ref)
    const i = ref % SLAB_SPAN
    const moved = slab.forward ? (slab.forward[i] as number) - 1 : -1
    if (moved < 0) {
      this.#atIndex = i
      return slab
    }
    this.#atIndex = moved % SLAB_SPAN
    return this.#slab(moved)
  }
}
