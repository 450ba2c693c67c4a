/**
 * Records as Loki entries: each one's stream (its labels), its time in nanoseconds, its line and its
 * structured metadata; and the JSON push body of some of them, written as text directly (no object
 * tree is built and serialized: only the lines and values are escaped, by JSON.stringify on strings).
 */
import type { LogRecord } from '../../input/record.js'
import { nanosText, type RecordFields } from '../shared/record-fields.js'
import { fieldKeys, fieldValue, labelValue, metadataValue, type FieldKey, type FieldKeys } from './loki-labels.js'

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
      // Whole ms (pino's default) need no fraction arithmetic.
      ns: Number.isInteger(ms) && ms >= 1 && ms < 1e15 ? `${ms}000000` : nanosText(ms),
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
 * The JSON push body of `entries[i]` for each i of `part` (ascending, so in time order; all when undefined):
 * `{"streams":[{"stream":{…labels},"values":[["<ns>","<line>",{…metadata}?],…]},…]}`, streams in the
 * order of their first entry.
 */
export function pushBody(entries: readonly LokiEntry[], part: readonly number[] | undefined): string {
  const streams = new Map<string, string[]>()
  const count = part === undefined ? entries.length : part.length
  for (let k = 0; k < count; k++) {
    const entry = entries[part === undefined ? k : (part[k] as number)] as LokiEntry
    let values = streams.get(entry.stream)
    if (values === undefined) streams.set(entry.stream, (values = []))
    values.push(`["${entry.ns}",${JSON.stringify(entry.line)}${entry.metadata === undefined ? '' : `,${entry.metadata}`}]`)
  }
  const out: string[] = []
  for (const [stream, values] of streams) out.push(`{"stream":${stream},"values":[${values.join(',')}]}`)
  return `{"streams":[${out.join(',')}]}`
}
