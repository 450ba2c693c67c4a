/**
 * The few protobuf wire operations the OTLP encoder needs, written straight into one growing Buffer:
 * no message objects, no per-field allocations. Nested messages are length-delimited, and their
 * length is known only once their content is written: {@link ProtoWriter.begin} reserves the bytes
 * its length usually takes and {@link ProtoWriter.end} writes it there, moving the content (a
 * memmove) in the rare case that the length needs more or fewer bytes than reserved. The varints are
 * therefore always the shortest form, as every protobuf decoder expects of a canonical encoder.
 */

/** Wire types. */
export const VARINT = 0
export const FIXED64 = 1
export const LEN = 2
export const FIXED32 = 5

/** The one-byte key of a field (every field the OTLP logs messages use is numbered below 16). */
export function key(field: number, wireType: number): number {
  return (field << 3) | wireType
}

const TWO_32 = 2 ** 32
const TWO_63 = 2 ** 63

/** Bytes of the varint of a non-negative number below 2^53. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  let size = 5
  for (let rest = Math.floor(value / 2 ** 35); rest > 0; rest = Math.floor(rest / 128)) size++
  return size
}

/** Writes protobuf fields into a Buffer that grows as needed. */
export class ProtoWriter {
  /** Where the next byte goes. */
  pos = 0
  #buf: Buffer

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, capacity))
  }

  /** The bytes written so far (a view of the writer's buffer, valid until the writer writes again). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.pos)
  }

  /** Makes room for `bytes` more bytes. */
  ensure(bytes: number): void {
    if (this.pos + bytes <= this.#buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.pos + bytes))
    this.#buf.copy(grown, 0, 0, this.pos)
    this.#buf = grown
  }

  /** One byte (a field key): the caller has made room for it. */
  byte(value: number): void {
    this.#buf[this.pos++] = value
  }

  /** A varint of a non-negative integer below 2^53 (a length, an enum, a uint32). */
  varint(value: number): void {
    this.ensure(10)
    this.#putVarint(value)
  }

  /** {@link varint} into room the caller knows is there (inside what is written already). */
  #putVarint(value: number): void {
    const buf = this.#buf
    let rest = value
    while (rest > 0x7fffffff) {
      buf[this.pos++] = (rest % 128) | 0x80
      rest = Math.floor(rest / 128)
    }
    while (rest > 0x7f) {
      buf[this.pos++] = (rest & 0x7f) | 0x80
      rest >>>= 7
    }
    buf[this.pos++] = rest
  }

  /**
   * An int64 varint of an integer-valued number in [-2^63, 2^63): negative ones as their 64-bit two's
   * complement (ten bytes), as protobuf writes them. Exact for every such double (beyond 2^53 a
   * double is a multiple of a power of two, so the split into 32-bit halves loses nothing).
   */
  int64(value: number): void {
    const magnitude = Math.abs(value)
    let lo = magnitude % TWO_32
    let hi = Math.floor(magnitude / TWO_32)
    if (value < 0) {
      lo = (~lo + 1) >>> 0
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0
    }
    this.#varint64(lo, hi)
  }

  /** A fixed64 from its two 32-bit halves, little-endian. */
  fixed64(lo: number, hi: number): void {
    this.ensure(8)
    this.#buf.writeUInt32LE(lo >>> 0, this.pos)
    this.#buf.writeUInt32LE(hi >>> 0, this.pos + 4)
    this.pos += 8
  }

  /**
   * A time in ms since the epoch (fractions kept) as a fixed64 of its nanoseconds, exactly: `ms * 1e6`
   * as a double is not exact past 2^53 ns (early 1970); its two 32-bit halves are. Fractions of a ns
   * are rounded, as nanosText does for the JSON form.
   */
  fixed64Nanos(ms: number): void {
    let whole = Math.floor(ms)
    let fraction = Math.round((ms - whole) * 1e6)
    if (fraction >= 1e6) {
      whole += 1
      fraction -= 1e6
    }
    // whole = a * 2^32 + b; nanos = a * 1e6 * 2^32 + (b * 1e6 + fraction), the last below 2^53.
    const a = Math.floor(whole / TWO_32)
    const low = (whole - a * TWO_32) * 1e6 + fraction
    const carry = Math.floor(low / TWO_32)
    this.fixed64(low - carry * TWO_32, a * 1e6 + carry)
  }

  /** A fixed32, little-endian. */
  fixed32(value: number): void {
    this.ensure(4)
    this.#buf.writeUInt32LE(value >>> 0, this.pos)
    this.pos += 4
  }

  /** A double, little-endian. */
  double(value: number): void {
    this.ensure(8)
    this.#buf.writeDoubleLE(value, this.pos)
    this.pos += 8
  }

  /** A string field (`fieldKey` from {@link key}) as UTF-8, length first. */
  string(fieldKey: number, text: string): void {
    const n = text.length
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    this.ensure(n * 3 + 11)
    const buf = this.#buf
    buf[this.pos++] = fieldKey
    if (n < 43) {
      // Short strings (keys, most values) are mostly ASCII: copied by hand, which is several times
      // cheaper than a call into Buffer#write; the length surely fits one byte (3 x 42 < 128).
      const start = this.pos + 1
      let at = start
      let i = 0
      for (; i < n; i++) {
        const code = text.charCodeAt(i)
        if (code >= 0x80) break
        buf[at++] = code
      }
      if (i < n) at = start + buf.write(text, start, 'utf8')
      buf[this.pos] = at - start
      this.pos = at
      return
    }
    const reserved = varintSize(n * 3)
    const start = this.pos + reserved
    const written = buf.write(text, start, 'utf8')
    const needed = varintSize(written)
    if (needed !== reserved) buf.copyWithin(this.pos + needed, start, start + written)
    this.#putVarint(written)
    this.pos += written
  }

  /** A bytes field from hex text (a trace or span id, already checked to be even-length hex). */
  hexBytes(fieldKey: number, hex: string): void {
    const bytes = hex.length >> 1
    this.ensure(bytes + 2)
    const buf = this.#buf
    buf[this.pos++] = fieldKey
    buf[this.pos++] = bytes
    this.pos += buf.write(hex, this.pos, 'hex')
  }

  /** Raw bytes, as they are (a part encoded once, such as the resource). */
  raw(bytes: Buffer): void {
    this.ensure(bytes.length)
    bytes.copy(this.#buf, this.pos)
    this.pos += bytes.length
  }

  /**
   * Starts a length-delimited field: writes its key and reserves `reserve` bytes for its length.
   * Returns where its content starts, for {@link end}. Reserve what the length will usually need
   * (1 byte below 128, 2 below 16 KiB): a wrong guess costs one memmove of the content.
   */
  begin(fieldKey: number, reserve: number): number {
    this.ensure(reserve + 1)
    this.#buf[this.pos++] = fieldKey
    this.pos += reserve
    return this.pos
  }

  /** Ends the field {@link begin} started with the same `reserve`: writes its length before its content. */
  end(start: number, reserve: number): void {
    const length = this.pos - start
    const needed = varintSize(length)
    if (needed !== reserve) {
      if (needed > reserve) this.ensure(needed - reserve)
      this.#buf.copyWithin(start + needed - reserve, start, this.pos)
      this.pos += needed - reserve
    }
    // The length goes where it was reserved: no ensure() there, which could grow the buffer and copy
    // only what lies before the length, losing the content.
    const end = this.pos
    this.pos = start - reserve
    this.#putVarint(length)
    this.pos = end
  }

  #varint64(lo: number, hi: number): void {
    this.ensure(10)
    const buf = this.#buf
    while (hi > 0) {
      buf[this.pos++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    while (lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80
      lo >>>= 7
    }
    buf[this.pos++] = lo
  }
}

/** True when `value` fits an int64 (the rest goes as a double). */
export function fitsInt64(value: number): boolean {
  return Number.isInteger(value) && value >= -TWO_63 && value < TWO_63
}
