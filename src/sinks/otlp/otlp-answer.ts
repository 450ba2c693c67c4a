/**
 * Reads what a collector answers: a 2xx's `ExportLogsServiceResponse`, for its `partial_success`
 * (`{ rejected_log_records = 1 (int64), error_message = 2 }`: the records the collector refused for
 * good, which the OTLP spec says must not be sent again), and a 4xx/5xx's `google.rpc.Status`
 * (`{ code = 1, message = 2, details = 3 }`), for its message. Both come in the request's encoding
 * (the spec; the collector's receiver answers with its encoder for the request's content type), yet
 * a server may answer JSON whatever it was sent (a proxy's `{}`): the request's encoding is read
 * first, then the other one where it can be (see {@link looksJson}). The answer's own content type
 * would say it outright, but HttpPoster.postForAnswer does not hand out the answer's headers.
 */

/** What `partial_success` says. */
export interface PartialSuccess {
  /** Records refused for good (0 when the collector only warns). */
  readonly rejected: number
  readonly errorMessage: string
}

/**
 * The answer's partial success, or undefined when it has none (or none that can be read: an answer
 * that says nothing readable, empty or not, is a full success, as the 2xx status already said).
 * `json`: the request was OTLP/JSON.
 *
 * A protobuf answer is read from its first byte, never past "whitespace": 0x0a is also the tag of
 * `partial_success` (field 1, length-delimited), and a partial success of 123 bytes is followed by
 * 0x7b, a `{`. JSON is tried only for a body that can be JSON (see {@link looksJson}).
 */
export function readPartialSuccess(body: Buffer, json = false): PartialSuccess | undefined {
  if (body.length === 0) return undefined
  if (json) return (looksJson(body) ? fromJson(body) : undefined) ?? fromProtobuf(body)
  return fromProtobuf(body) ?? (looksJson(body) ? fromJson(body) : undefined)
}

/**
 * The message of an error answer's `google.rpc.Status` (protobuf or JSON, as {@link readPartialSuccess}
 * tells them apart), or undefined when the body is not one (a proxy's page, Go's "404 page not
 * found"): the caller then quotes the body as text.
 */
export function readStatusMessage(body: Buffer, json = false): string | undefined {
  if (body.length === 0) return undefined
  if (json) return (looksJson(body) ? statusFromJson(body) : undefined) ?? statusFromProtobuf(body)
  return statusFromProtobuf(body) ?? (looksJson(body) ? statusFromJson(body) : undefined)
}

/**
 * Whether the body may be JSON: its first byte is `{` or JSON whitespace. Only such a body is parsed
 * as JSON; it may still be protobuf (0x0a, 0x09, 0x0d and 0x20 are tags too), which is why the
 * request's encoding is tried first and a protobuf body is never read from past its first byte.
 */
function looksJson(body: Buffer): boolean {
  const first = body[0] as number
  return first === 0x7b /* { */ || first === 0x20 || first === 0x0a || first === 0x0d || first === 0x09
}

function parseJson(body: Buffer): object | undefined {
  let answer: unknown
  try {
    answer = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  return typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? answer : undefined
}

function statusFromJson(body: Buffer): string | undefined {
  const status = parseJson(body)
  const message = status && (status as Record<string, unknown>).message
  return typeof message === 'string' && message !== '' ? message : undefined
}

function fromJson(body: Buffer): PartialSuccess | undefined {
  const answer = parseJson(body)
  if (answer === undefined) return undefined
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

/**
 * A small protobuf reader over one buffer: undefined from any read past the end or of a bad field.
 * Field number 0 does not exist: a tag with it means the body is not protobuf (text, mostly).
 */
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
    } else if (tag >>> 3 === 0 || !reader.skip(tag & 7)) return undefined
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
    } else if (tag >>> 3 === 0 || !reader.skip(tag & 7)) return undefined
  }
  return { rejected, errorMessage }
}

/** `google.rpc.Status.message` (field 2) of a protobuf body, when the whole body reads as a Status with one. */
function statusFromProtobuf(body: Buffer): string | undefined {
  const reader = new Reader(body)
  let message: string | undefined
  while (!reader.done) {
    const tag = reader.varint()
    if (tag === undefined) return undefined
    if (tag === ((2 << 3) | LEN)) {
      const bounds = reader.bytes()
      if (!bounds) return undefined
      message = body.toString('utf8', bounds[0], bounds[1])
    } else if (tag >>> 3 === 0 || !reader.skip(tag & 7)) return undefined
  }
  return message === '' ? undefined : message
}
