/**
 * The `_bulk` body: per record an action line naming its index and `_id`, then the record's own line,
 * each followed by a newline (Elasticsearch refuses a body without the final one). Built from the
 * record log's bytes: a record's line is copied, not decoded and re-encoded, and read for its time
 * without being parsed (line-fields.ts).
 */
import { createHash } from 'node:crypto'
import { timeOf } from '../shared/record-fields.js'
import { ndjsonPieces } from '../ndjson.js'
import type { Batch } from '../sink.js'
import type { IndexName } from './index-name.js'
import { readLineFields, TIMESTAMP_FIELD } from './line-fields.js'

export { TIMESTAMP_FIELD } from './line-fields.js'

/** What the sink does with a new document: `create` refuses an `_id` that exists (409), `index` overwrites it. */
export type ElasticsearchOpType = 'create' | 'index'

/** Longest `_id` Elasticsearch accepts, in UTF-8 bytes. */
export const MAX_ID_BYTES = 512

/** How a body is made (fixed per sink). */
export interface BulkBodyOptions {
  readonly index: IndexName
  readonly opType: ElasticsearchOpType
  readonly pipeline?: string | undefined
  /** Add `@timestamp` to records that have none. */
  readonly addTimestamp: boolean
}

/**
 * A batch made ready to send, whole or in parts (after a 413): for record i, `heads[i]` (its action
 * line and, when one is added, the start of its document up to the added `@timestamp`) and `rests[i]`
 * (the rest of its line, bytes of the record log). The bytes are valid until the attempt settles.
 */
export interface PreparedBulk {
  readonly count: number
  readonly heads: readonly string[]
  readonly headBytes: readonly number[]
  readonly rests: readonly Buffer[]
}

const NEWLINE = 0x0a
const OPEN = 0x7b
const CLOSE = 0x7d
/** Latest time `Date` can show (ms): later ones fall back to the arrival time. */
const MAX_DATE_MS = 8.64e15

/** Makes bulk bodies for one sink. */
export class BulkBody {
  readonly #options: BulkBodyOptions
  /** The action line up to the `_id` value, per index name (a pattern gives a few names a day). */
  readonly #actionStarts = new Map<string, string>()
  readonly #actionEnd: string
  #second = Number.NaN
  #secondIso = ''

  constructor(options: BulkBodyOptions) {
    this.#options = options
    this.#actionEnd = `${options.pipeline === undefined ? '' : `,"pipeline":${JSON.stringify(options.pipeline)}`}}}\n`
  }

  /** Reads a batch's records: each one's index, `_id` and whether it needs a `@timestamp`. */
  prepare(batch: Batch): PreparedBulk {
    const lines = splitLines(ndjsonPieces(batch))
    const heads: string[] = []
    const headBytes: number[] = []
    const rests: Buffer[] = []
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as Buffer
      const fields = readLineFields(line)
      let ms = timeOf(fields.time, Number.NaN)
      if (!(ms <= MAX_DATE_MS)) ms = timeOf(fields.timestamp, Number.NaN)
      // No usable time in the record (pino's nullTime): its arrival time, as the engine recorded it.
      if (!(ms <= MAX_DATE_MS)) ms = batch.records[i]?.time ?? Date.now()
      const id = recordId(batch, i)
      let head = this.#actionStart(this.#options.index.render(ms)) + idJson(id) + this.#actionEnd
      let rest = line
      const brace = fields.hasTimestamp || !this.#options.addTimestamp ? -1 : openingBrace(line)
      if (brace >= 0) {
        // Spliced after the opening brace: the rest of the line goes as it came, never re-serialised.
        const empty = line[nextNonSpace(line, brace + 1)] === CLOSE
        head += `{"${TIMESTAMP_FIELD}":"${this.#iso(ms)}"${empty ? '' : ','}`
        rest = line.subarray(brace + 1)
      }
      heads.push(head)
      headBytes.push(Buffer.byteLength(head))
      rests.push(rest)
    }
    return { count: lines.length, heads, headBytes, rests }
  }

  #actionStart(index: string): string {
    let start = this.#actionStarts.get(index)
    if (start === undefined) {
      // A pattern renders one name per day or hour: the map stays small, but a long-lived sender
      // must not keep every name it ever made.
      if (this.#actionStarts.size >= 64) this.#actionStarts.clear()
      start = `{"${this.#options.opType}":{"_index":${JSON.stringify(index)},"_id":`
      this.#actionStarts.set(index, start)
    }
    return start
  }

  /** `toISOString()`, made once per second: records of a burst differ in their milliseconds only. */
  #iso(ms: number): string {
    const whole = Math.floor(ms)
    const second = Math.floor(whole / 1000)
    if (second !== this.#second) {
      this.#second = second
      // Up to the seconds' dot: `2024-01-02T03:04:05.`
      this.#secondIso = new Date(second * 1000).toISOString().slice(0, -4)
    }
    return `${this.#secondIso}${String(whole - second * 1000).padStart(3, '0')}Z`
  }
}

/** The body of the records at `indexes`, in one Buffer of the exact size. */
export function assemble(prepared: PreparedBulk, indexes: readonly number[]): Buffer {
  let size = 0
  for (const i of indexes) size += (prepared.headBytes[i] as number) + (prepared.rests[i] as Buffer).length + 1
  const body = Buffer.allocUnsafe(size)
  let offset = 0
  for (const i of indexes) {
    const head = prepared.heads[i] as string
    // An ASCII head (the usual: its byte count is its length) is copied as such, faster than encoded.
    offset += body.write(head, offset, head.length === prepared.headBytes[i] ? 'latin1' : 'utf8')
    offset += (prepared.rests[i] as Buffer).copy(body, offset)
    body[offset++] = NEWLINE
  }
  return body
}

/**
 * The `_id` of record i: its stable identity (`<first batch id>:<position>`), the same on every retry,
 * part retry and spool replay, so that a record sent again is recognised (409 with `create`). Used as
 * it is rather than hashed: it is unique already, costs nothing to make, can be traced back to the
 * batch in pino-courier's messages, and the ids of one batch share a 36-character prefix, which
 * Lucene's terms dictionary stores once per block where random hashes would spread. Only an id over
 * Elasticsearch's 512-byte limit (a custom batch's) is hashed.
 */
export function recordId(batch: Batch, index: number): string {
  const id = batch.recordId ? batch.recordId(index) : `${batch.id}:${index}`
  return Buffer.byteLength(id) <= MAX_ID_BYTES ? id : createHash('sha256').update(id).digest('base64url')
}

function idJson(id: string): string {
  return /^[\w.:~-]+$/.test(id) ? `"${id}"` : JSON.stringify(id)
}

/** The lines of NDJSON pieces, without their newlines (a JSON line holds no raw newline). */
export function splitLines(pieces: readonly Buffer[]): Buffer[] {
  const lines: Buffer[] = []
  for (const piece of pieces) {
    let start = 0
    for (let end = piece.indexOf(NEWLINE); end >= 0; end = piece.indexOf(NEWLINE, start)) {
      lines.push(piece.subarray(start, end))
      start = end + 1
    }
    // Pieces end with a newline; a last line without one (a hand-made record) still counts.
    if (start < piece.length) lines.push(piece.subarray(start))
  }
  return lines
}

/** Position of the line's opening brace (after leading whitespace), or -1 when it is not an object. */
function openingBrace(line: Buffer): number {
  const at = nextNonSpace(line, 0)
  return at >= 0 && line[at] === OPEN ? at : -1
}

function nextNonSpace(line: Buffer, from: number): number {
  let i = from
  while (i < line.length && (line[i] === 0x20 || line[i] === 0x09 || line[i] === 0x0d || line[i] === NEWLINE)) i++
  return i < line.length ? i : -1
}
