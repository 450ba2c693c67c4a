import { DEFAULT_LEVELS } from '../config/levels.js'

/** Level given to lines that carry no usable level (malformed lines, JSON without a level). */
export const FALLBACK_LEVEL = DEFAULT_LEVELS.info as number

let lastSeq = 0

/** The next record seq: arrival order across the whole process, shared by every record and record log. */
export function nextSeq(): number {
  return ++lastSeq
}

/**
 * One log line on its way to the senders. The raw NDJSON line is kept as is so that senders
 * forwarding NDJSON never pay for `JSON.parse` + `JSON.stringify`; `value()` parses lazily, once.
 */
export class LogRecord {
  /** The NDJSON line, without a trailing newline. Always one valid JSON object. */
  readonly line: string
  /** pino level number. */
  readonly level: number
  /** UTF-8 size of the line plus its newline separator. */
  readonly bytes: number
  /** Arrival order across the whole process; senders flush "everything accepted before" by it. */
  readonly seq: number
  /** Arrival time (ms since epoch), used for the batch age limit. */
  readonly time: number
  /** True when the input line was not a JSON object and `line` wraps its raw text. */
  readonly malformed: boolean
  #value: Record<string, unknown> | undefined

  /**
   * `bytes`: the line's UTF-8 size plus one, when the caller has measured it already. `seq` and `time`:
   * for a view of a record that arrived earlier (a record log's), else now.
   */
  constructor(
    line: string,
    level: number,
    malformed = false,
    value?: Record<string, unknown>,
    bytes?: number,
    seq?: number,
    time?: number,
  ) {
    this.line = line
    this.level = level
    this.bytes = bytes ?? Buffer.byteLength(line) + 1
    this.seq = seq ?? nextSeq()
    this.time = time ?? Date.now()
    this.malformed = malformed
    this.#value = value
  }

  /** The parsed log object (parsed on first use and cached). */
  value(): Record<string, unknown> {
    return (this.#value ??= JSON.parse(this.line) as Record<string, unknown>)
  }
}
