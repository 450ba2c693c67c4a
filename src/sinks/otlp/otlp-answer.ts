/**
 * Reads a collector's 2xx answer, an `ExportLogsServiceResponse`, for its `partial_success`
 * (`{ rejected_log_records = 1 (int64), error_message = 2 }`): the records the collector refused for
 * good (the OTLP spec: they must not be sent again). Protobuf or JSON, told apart by the first byte,
 * since a server may answer JSON whatever it was sent (a proxy's `{}`). An answer that says nothing
 * readable, empty or not, is a full success: the 2xx status already said so.
 */

/** What `partial_success` says. */
export interface PartialSuccess {
  /** Records refused for good (0 when the collector only warns). */
  readonly rejected: number
  readonly errorMessage: string
}

/** The answer's partial success, or undefined when it has none (or none that can be read). */
export function readPartialSuccess(body: Buffer): PartialSuccess | undefined {
  let first = 0
  while (first < body.length && isSpace(body[first] as number)) first++
  if (first === body.length) return undefined
  return body[first] === 0x7b /* { */ ? fromJson(body) : fromProtobuf(body)
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

function fromJson(body: Buffer): PartialSuccess | undefined {
  let answer: unknown
  try {
    answer = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof answer !== 'object' || answer === null) return undefined
  // Servers write the lowerCamelCase names; protobuf JSON parsers accept the proto names too.
  const partial = field(answer, 'partialSuccess', 'partial_success')
  if (typeof partial !== 'object' || partial === null) return undefined
  const rejected = Number(field(partial, 'rejectedLogRecords', 'rejected_log_records') ?? 0)
  const message = field(partial, 'errorMessage', 'error_message')
  return {
    rejected: Number.isFinite(rejected) && rejected > 0 ? Math.floor(rejected) : 0,
    errorMessage: typeof message === 'string' ? message : '',
  }
}

function field(object: object, name: string, protoName: string): unknown {
  const record = object as Record<string, unknown>
  return record[name] ?? record[protoName]
}

/** Wire types (see proto-writer.ts). */
const VARINT = 0
const FIXED64 = 1
const LEN = 2
const FIXED32 = 5

/** A small protobuf reader over one buffer: undefined from any read past the end or of a bad field. */
class Reader {
  pos: number
  readonly #end: number
  readonly #buf: Buffer

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf
    this.pos = start
    this.#end = end
  }

  get done(): boolean {
    return this.pos >= this.#end
  }

  /** A varint as a number (exact below 2^53; int64 counts never get near). */
  varint(): number | undefined {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.#end) return undefined
      const byte = this.#buf[this.pos++] as number
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
      scale *= 128
    }
    return undefined
  }

  /** A length-delimited field's bounds. */
  bytes(): [start: number, end: number] | undefined {
    const length = this.varint()
    if (length === undefined || this.pos + length > this.#end) return undefined
    const start = this.pos
    this.pos += length
    return [start, this.pos]
  }

  /** Skips a field of `wireType`; false for a wire type this reader does not know (groups). */
  skip(wireType: number): boolean {
    if (wireType === VARINT) return this.varint() !== undefined
    if (wireType === LEN) return this.bytes() !== undefined
    const size = wireType === FIXED64 ? 8 : wireType === FIXED32 ? 4 : -1
    if (size < 0 || this.pos + size > this.#end) return false
    this.pos += size
    return true
  }
}

function fromProtobuf(body: Buffer): PartialSuccess | undefined {
  const reader = new Reader(body)
  let partial: PartialSuccess | undefined
  while (!reader.done) {
    const tag = reader.varint()
    if (tag === undefined) return undefined
    if (tag === ((1 << 3) | LEN)) {
      const bounds = reader.bytes()
      if (!bounds) return undefined
      partial = readPartial(body, bounds[0], bounds[1])
      if (!partial) return undefined
    } else if (!reader.skip(tag & 7)) return undefined
  }
  return partial
}

function readPartial(body: Buffer, start: number, end: number): PartialSuccess | undefined {
  const reader = new Reader(body, start, end)
  let rejected = 0
  let errorMessage = ''
  while (!reader.done) {
    const tag = reader.varint()
    if (tag === undefined) return undefined
    if (tag === ((1 << 3) | VARINT)) {
      const value = reader.varint()
      if (value === undefined) return undefined
      // A negative int64 reads as a huge number (ten bytes): not a count.
      rejected = value < 2 ** 53 ? value : 0
    } else if (tag === ((2 << 3) | LEN)) {
      const bounds = reader.bytes()
      if (!bounds) return undefined
      errorMessage = body.toString('utf8', bounds[0], bounds[1])
    } else if (!reader.skip(tag & 7)) return undefined
  }
  return { rejected, errorMessage }
}
