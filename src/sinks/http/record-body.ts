import type { LogRecord } from '../../input/record.js'
import type { Batch } from '../sink.js'
import { ndjsonPieces, toJsonArray } from '../ndjson.js'
import type { RecordFields } from '../shared/record-fields.js'

/** Body formats of the HTTP sender. */
export type HttpBodyFormat = 'ndjson' | 'json' | 'splunk-hec'

/**
 * Fields the http sender writes into every record, for backends that read a field of their own
 * rather than pino's: Better Stack's `dt`, Axiom's `_time`, Datadog's `timestamp` and `status`.
 */
export interface AddedFields {
  /**
   * Name of a field holding the record's time as an RFC 3339 UTC date with ms
   * (`2024-01-31T12:00:00.123Z`), read from its `time` in any form pino writes (the arrival time
   * when it has none). @default none
   */
  time?: string
  /** Name of a field holding the record's level as a name (`info`, `error`, a custom level's name). @default none */
  level?: string
}

/**
 * Splunk HTTP Event Collector metadata of every event (`format: 'splunk-hec'`). Each one left out is
 * chosen by HEC (the token's defaults).
 */
export interface SplunkHecOptions {
  /** The events' `source`. @default the token's */
  source?: string
  /** The events' `sourcetype` (`_json` makes Splunk extract the record's fields). @default the token's */
  sourcetype?: string
  /** The events' `index`; it must be one the token allows. @default the token's */
  index?: string
  /** The events' `host`. @default the token's (the client's address) */
  host?: string
}

/**
 * Writes request bodies from a batch's records: the record log's own bytes when the records go as
 * they are, or a body built from the records' lines (a part of a batch, added fields, HEC envelopes).
 * A record's line is always spliced in as received, never parsed and serialized again.
 */
export class RecordBody {
  readonly #format: HttpBodyFormat
  readonly #fields: RecordFields
  readonly #added: AddedFields
  /** `"host":"…","source":"…",…` of every HEC envelope, written once. */
  readonly #hecMetadata: string
  /** Whether records go as received: the whole batch's body is then the record log's own bytes. */
  readonly #verbatim: boolean

  constructor(format: HttpBodyFormat, fields: RecordFields, added: AddedFields = {}, splunk: SplunkHecOptions = {}) {
    this.#format = format
    this.#fields = fields
    this.#added = added
    this.#hecMetadata = (['host', 'source', 'sourcetype', 'index'] as const)
      .filter((key) => splunk[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${JSON.stringify(splunk[key])},`)
      .join('')
    this.#verbatim = format !== 'splunk-hec' && added.time === undefined && added.level === undefined
  }

  /**
   * The body of the records at `indexes` (the whole batch when undefined). The whole batch of records
   * sent as they are is the record log's slices (NDJSON) or one copy of them (a JSON array), without
   * making a record; anything else is built from the records' lines.
   */
  body(batch: Batch, indexes?: readonly number[]): Buffer | readonly Buffer[] {
    if (indexes === undefined && this.#verbatim) return this.#format === 'json' ? toJsonArray(batch) : ndjsonPieces(batch)
    const { records } = batch
    const texts: string[] = []
    if (indexes === undefined) for (const record of records) texts.push(this.#text(record))
    else for (const index of indexes) texts.push(this.#text(records[index] as LogRecord))
    return Buffer.from(this.#format === 'json' ? `[${texts.join(',')}]` : texts.length === 0 ? '' : `${texts.join('\n')}\n`)
  }

  /** One record as it goes into the body. */
  #text(record: LogRecord): string {
    const line = this.#verbatim ? record.line : this.#withFields(record)
    if (this.#format !== 'splunk-hec') return line
    // HEC's time is epoch seconds with the ms as a fraction; the record itself is the event.
    return `{"time":${hecTime(this.#fields.recordTimeMs(record))},${this.#hecMetadata}"event":${line}}`
  }

  /** The record's line with the added fields first: a field of the same name in the record comes later, and wins with parsers that keep the last. */
  #withFields(record: LogRecord): string {
    const { time, level } = this.#added
    let head = ''
    if (time !== undefined) head += `${JSON.stringify(time)}:"${new Date(Math.floor(this.#fields.recordTimeMs(record))).toISOString()}",`
    if (level !== undefined) head += `${JSON.stringify(level)}:${JSON.stringify(this.#fields.levelLabel(record.level))},`
    if (head === '') return record.line
    const line = record.line
    // Lines are JSON objects (the parser wraps anything else), which JSON lets start with whitespace:
    // the fields go right after the opening brace, then the rest as received ('}' at once when empty).
    const brace = OPENING_BRACE.exec(line)
    if (brace === null) return line
    const rest = line.slice(brace[0].length)
    return /^\s*\}/.test(rest) ? `{${head.slice(0, -1)}${rest}` : `{${head}${rest}`
  }
}

/** A line's opening brace and the JSON whitespace before it. */
const OPENING_BRACE = /^[ \t\r\n]*\{/

/** A time in ms as HEC's `time`: epoch seconds with the ms as a three-digit fraction (`1700000000.123`). */
export function hecTime(ms: number): string {
  const whole = Math.floor(ms)
  return `${Math.floor(whole / 1000)}.${String(whole % 1000).padStart(3, '0')}`
}
