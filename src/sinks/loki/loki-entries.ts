/**
 * Records as Loki entries: each one's stream (its labels), its time in nanoseconds, its line and its
 * structured metadata; and the JSON push body of some of them, written as text directly (no object
 * tree is built and serialized: only the lines and values are escaped, by JSON.stringify on strings).
 */
import type { LogRecord } from '../../input/record.js'
import { nanosText, type RecordFields } from '../shared/record-fields.js'
import { fieldValue } from '../shared/field-path.js'
import { fieldKeys, labelValue, metadataValue, type FieldKey, type FieldKeys } from './loki-labels.js'

/** One record as a Loki entry. */
export interface LokiEntry {
  /** The record's index in its batch. */
  readonly index: number
  /**
   * The stream's labels as the JSON object the push body carries (`{"app":"api","level":"info"}`),
   * labels always in the same order: one stream, one text. It is the stream's key too.
   */
  readonly stream: string
  /** The record's time in ms since the epoch (fractions kept), for sorting. */
  readonly ms: number
  /** The same time in nanoseconds, as Loki takes it: a decimal string. */
  readonly ns: string
  /** The line Loki stores: the record's JSON line as it came, or the raw text of a malformed line. */
  readonly line: string
  /** Structured metadata as a JSON object text, when the record has any of the fields asked for. */
  readonly metadata: string | undefined
}

/** What {@link EntryMaker} needs of the sender's options. */
export interface EntryOptions {
  readonly labels?: Readonly<Record<string, string>> | undefined
  readonly labelKeys?: FieldKeys | undefined
  readonly levelLabel?: string | false | undefined
  readonly structuredMetadataKeys?: FieldKeys | undefined
}

/** Default of `levelLabel`. */
export const DEFAULT_LEVEL_LABEL = 'level'

/** Turns records into entries, with the sender's labels and the logger's keys. One per sender. */
export class EntryMaker {
  readonly #fields: RecordFields
  /** The static labels as JSON members (`"app":"api"`), written first in every stream. */
  readonly #static: string
  readonly #labelKeys: readonly FieldKey[]
  readonly #metadataKeys: readonly FieldKey[]
  /** `"level":` (JSON), or undefined without a level label. */
  readonly #levelName: string | undefined
  /** Whether a record's fields are needed beyond its time (labelKeys, metadata). */
  readonly #needsValue: boolean
  /** The stream of each level, when labels depend on nothing else (no labelKeys). */
  readonly #byLevel = new Map<number, string>()

  constructor(options: EntryOptions, fields: RecordFields) {
    this.#fields = fields
    this.#static = Object.entries(options.labels ?? {})
      .map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`)
      .join(',')
    this.#labelKeys = fieldKeys(options.labelKeys)
    this.#metadataKeys = fieldKeys(options.structuredMetadataKeys)
    const level = options.levelLabel ?? DEFAULT_LEVEL_LABEL
    this.#levelName = level === false ? undefined : `${JSON.stringify(level)}:`
    this.#needsValue = this.#labelKeys.length > 0 || this.#metadataKeys.length > 0
  }

  /** The entry of `record`, the batch's record at `index`. */
  entry(record: LogRecord, index: number): LokiEntry {
    const value = this.#needsValue || record.malformed ? record.value() : undefined
    // pino's own time, where pino writes it (a logged field named `time` comes later in the line and
    // wins in the parsed value); a line without it is parsed.
    const ms = this.#fields.recordTimeMs(record, value)
    // A malformed line travels wrapped as JSON (its raw text under the message key): Loki gets the text.
    const line = record.malformed && value ? (this.#fields.message(value) ?? record.line) : record.line
    return {
      index,
      stream: value && this.#labelKeys.length > 0 ? this.#streamOf(record.level, value) : this.#levelStream(record.level),
      ms,
      ns: nanosText(ms),
      line,
      metadata: value && this.#metadataKeys.length > 0 ? this.#metadataOf(value) : undefined,
    }
  }

  #levelStream(level: number): string {
    let stream = this.#byLevel.get(level)
    if (stream === undefined) this.#byLevel.set(level, (stream = this.#streamOf(level, undefined)))
    return stream
  }

  #streamOf(level: number, value: Record<string, unknown> | undefined): string {
    let members = this.#static
    if (value) {
      for (const key of this.#labelKeys) {
        const label = labelValue(fieldValue(value, key))
        if (label !== undefined) members += `${members === '' ? '' : ','}${JSON.stringify(key.name)}:${JSON.stringify(label)}`
      }
    }
    if (this.#levelName !== undefined) {
      members += `${members === '' ? '' : ','}${this.#levelName}${JSON.stringify(this.#fields.levelLabel(level))}`
    }
    return `{${members}}`
  }

  #metadataOf(value: Record<string, unknown>): string | undefined {
    let members = ''
    for (const key of this.#metadataKeys) {
      const text = metadataValue(fieldValue(value, key))
      if (text !== undefined) members += `${members === '' ? '' : ','}${JSON.stringify(key.name)}:${JSON.stringify(text)}`
    }
    return members === '' ? undefined : `{${members}}`
  }
}

/**
 * Orders entries by time, keeping arrival order among equal times (the sort is stable), so that each
 * stream's entries go in time order; a batch already in order (the usual case) is not sorted.
 */
export function inTimeOrder(entries: LokiEntry[]): LokiEntry[] {
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i] as LokiEntry).ms < (entries[i - 1] as LokiEntry).ms) return entries.sort((a, b) => a.ms - b.ms)
  }
  return entries
}

/**
 * The JSON push body (UTF-8) of `entries[i]` for each i of `part` (ascending, so in time order; all when undefined):
 * `{"streams":[{"stream":{…labels},"values":[["<ns>","<line>",{…metadata}?],…]},…]}`, streams in the
 * order of their first entry.
 */
export function pushBody(entries: readonly LokiEntry[], part: readonly number[] | undefined): Buffer {
  const streams = new Map<string, number[]>()
  const count = part === undefined ? entries.length : part.length
  for (let k = 0; k < count; k++) {
    const index = part === undefined ? k : (part[k] as number)
    const stream = (entries[index] as LokiEntry).stream
    let indexes = streams.get(stream)
    if (indexes === undefined) streams.set(stream, (indexes = []))
    indexes.push(index)
  }
  const out = new BodyWriter(count * 256)
  out.ascii('{"streams":[')
  let firstStream = true
  for (const [stream, indexes] of streams) {
    out.ascii(firstStream ? '{"stream":' : ',{"stream":')
    firstStream = false
    out.text(stream)
    out.ascii(',"values":[')
    for (let k = 0; k < indexes.length; k++) {
      const entry = entries[indexes[k] as number] as LokiEntry
      out.ascii(k === 0 ? '["' : ',["')
      out.ascii(entry.ns)
      out.ascii('",')
      out.jsonString(entry.line)
      if (entry.metadata !== undefined) {
        out.ascii(',')
        out.text(entry.metadata)
      }
      out.ascii(']')
    }
    out.ascii(']}')
  }
  out.ascii(']}')
  return out.finish()
}

/**
 * Writes a push body straight into one growing Buffer. Measured on 5,000 pino lines: 0.5 µs per entry,
 * against 3.3 µs for template strings around JSON.stringify(line) joined and then copied into a Buffer
 * (the strings were most of the Loki sender's time, and of its garbage).
 */
class BodyWriter {
  #buf: Buffer
  #pos = 0
  /** A line's UTF-8 bytes before they are escaped into the body. */
  #scratch = Buffer.allocUnsafe(4096)

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(1024, size))
  }

  /** Text known to be ASCII without anything to escape (punctuation, digits). */
  ascii(text: string): void {
    this.#ensure(text.length)
    this.#pos += this.#buf.write(text, this.#pos, 'latin1')
  }

  /** Text that is JSON already (a stream's labels, structured metadata), as UTF-8. */
  text(text: string): void {
    this.#ensure(text.length * 3)
    this.#pos += this.#buf.write(text, this.#pos, 'utf8')
  }

  /** `text` as a JSON string: quoted, with `"`, `\` and control characters escaped, as JSON.stringify does. */
  jsonString(text: string): void {
    if (this.#scratch.length < text.length * 3) this.#scratch = Buffer.allocUnsafe(text.length * 3)
    const scratch = this.#scratch
    const n = scratch.write(text, 0, 'utf8')
    // At worst every byte becomes a six-byte \u00XX escape.
    this.#ensure(n * 6 + 2)
    const buf = this.#buf
    let pos = this.#pos
    buf[pos++] = 0x22
    for (let i = 0; i < n; i++) {
      const c = scratch[i] as number
      if (c === 0x22 || c === 0x5c) {
        buf[pos++] = 0x5c
        buf[pos++] = c
      } else if (c < 0x20) {
        buf[pos++] = 0x5c
        buf[pos++] = 0x75
        buf[pos++] = 0x30
        buf[pos++] = 0x30
        buf[pos++] = HEX_DIGITS[c >> 4] as number
        buf[pos++] = HEX_DIGITS[c & 15] as number
      } else buf[pos++] = c
    }
    buf[pos++] = 0x22
    this.#pos = pos
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos)
  }

  #ensure(more: number): void {
    if (this.#pos + more <= this.#buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + more))
    this.#buf.copy(grown, 0, 0, this.#pos)
    this.#buf = grown
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef')
