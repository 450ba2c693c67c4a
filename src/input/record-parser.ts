import { LevelMap } from '../config/levels.js'
import { jsonObjectBytes } from './json-check.js'
import type { RecordLog } from '../queue/record-log.js'
import { FALLBACK_LEVEL, LogRecord } from './log-record.js'

/** Options of {@link RecordParser}. */
export interface RecordParserOptions {
  /** Level names and numbers of the logger. @default pino's default levels */
  levels?: LevelMap
  /** Key holding the level. @default 'level' */
  levelKey?: string
  /** Key holding the message, used when wrapping malformed lines. @default 'msg' */
  messageKey?: string
}

/**
 * Turns NDJSON lines into {@link LogRecord}s. The level of a pino line is read from its prefix
 * (`{"level":30,`) and the rest is checked by {@link isJsonObjectText}, without `JSON.parse`; only
 * lines in another shape are parsed to find their level. A line that is not exactly one JSON object
 * is wrapped as `{"level":30,"time":…,"msg":"<raw>","malformed":true}` so every sender can still
 * forward valid NDJSON.
 */
export class RecordParser {
  readonly levels: LevelMap
  readonly levelKey: string
  readonly messageKey: string
  readonly #prefix: string
  /** The prefix in UTF-8, for lines that come as bytes. */
  readonly #prefixBytes: Buffer

  constructor(options: RecordParserOptions = {}) {
    this.levels = options.levels ?? new LevelMap()
    this.levelKey = options.levelKey ?? 'level'
    this.messageKey = options.messageKey ?? 'msg'
    this.#prefix = `{${JSON.stringify(this.levelKey)}:`
    this.#prefixBytes = Buffer.from(this.#prefix)
  }

  /**
   * Parses one line (without its newline). Never throws. A byte order mark before the line and a
   * carriage return after it (a file written on Windows, piped in) are not part of the record.
   */
  parse(line: string): LogRecord {
    let text = line
    if (text.charCodeAt(0) === 0xfeff /* BOM */) text = text.slice(1)
    if (text.charCodeAt(text.length - 1) === 13 /* \r */) text = text.slice(0, -1)
    const fast = this.#fastLevel(text)
    if (fast === undefined) return this.#slow(text, line)
    // The prefix says nothing about the rest of the line: a torn line, two objects run together or
    // garbage after the level must not be forwarded as if they were JSON. The check is exact, so a
    // line it refuses is malformed without asking JSON.parse; it measures the line's UTF-8 size too.
    const bytes = jsonObjectBytes(text)
    return bytes >= 0 ? new LogRecord(text, fast, false, undefined, bytes + 1) : this.#malformed(line)
  }

  /**
   * Parses one line straight into `log` (the courier's path): its ref. The line is checked while it
   * is encoded into the log, and no record object is made; a line that is not one JSON object goes in
   * wrapped, flagged malformed. Never throws.
   */
  parseInto(line: string, log: RecordLog, time: number): number {
    let text = line
    if (text.charCodeAt(0) === 0xfeff /* BOM */) text = text.slice(1)
    if (text.charCodeAt(text.length - 1) === 13 /* \r */) text = text.slice(0, -1)
    const fast = this.#fastLevel(text)
    if (fast !== undefined) {
      const ref = log.appendChecked(text, fast, time)
      return ref >= 0 ? ref : log.append(this.#wrap(line), FALLBACK_LEVEL, time, true)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return log.append(this.#wrap(line), FALLBACK_LEVEL, time, true)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return log.append(this.#wrap(line), FALLBACK_LEVEL, time, true)
    // The parsed value is not kept: only its level was needed.
    return log.append(text, this.#levelOf((value as Record<string, unknown>)[this.levelKey]), time)
  }

  /**
   * {@link parseInto} for a line given as UTF-8 bytes, `bytes[start..end)` without its newline (the
   * CLI's path: a piped chunk is split without turning each line into a string and back). A pino line
   * is copied into the log as it is; any other line takes the string path, so the verdicts are the same.
   */
  parseBytesInto(bytes: Uint8Array, start: number, end: number, log: RecordLog, time: number): number {
    let from = start
    let to = end
    if (bytes[from] === 0xef && bytes[from + 1] === 0xbb && bytes[from + 2] === 0xbf /* BOM */) from += 3
    if (to > from && bytes[to - 1] === 13 /* \r */) to--
    const level = this.#fastLevelBytes(bytes, from, to)
    if (level !== undefined) {
      const ref = log.appendCheckedBytes(bytes, from, to, level, time)
      if (ref >= 0) return ref
    }
    return this.parseInto(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end), log, time)
  }

  /** {@link #fastLevel} on bytes: numeric levels only (a label takes the string path). */
  #fastLevelBytes(b: Uint8Array, start: number, end: number): number | undefined {
    const prefix = this.#prefixBytes
    if (end - start <= prefix.length) return undefined
    for (let k = 0; k < prefix.length; k++) if (b[start + k] !== prefix[k]) return undefined
    let i = start + prefix.length
    let c = b[i] as number
    if (!(c >= 48 && c <= 57)) return undefined
    let n = 0
    while (c >= 48 && c <= 57 && i < end) {
      n = n * 10 + (c - 48)
      c = b[++i] as number
    }
    return i < end && (c === 44 /* , */ || c === 125) && Number.isSafeInteger(n) ? n : undefined
  }

  #fastLevel(line: string): number | undefined {
    const prefix = this.#prefix
    if (!line.startsWith(prefix)) return undefined
    let i = prefix.length
    let c = line.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      let n = 0
      while (c >= 48 && c <= 57) {
        n = n * 10 + (c - 48)
        c = line.charCodeAt(++i)
      }
      // Anything else after the digits (".5", "e3") goes through the parser, and so do numbers too
      // long to be exact: hundreds of digits add up to Infinity, which would pass even a 'silent'
      // threshold, whereas JSON.parse + the finite check gives the fallback level.
      return (c === 44 /* , */ || c === 125) && Number.isSafeInteger(n) ? n : undefined
    }
    if (c === 34 /* " */) {
      // pino's formatters.level can write the label instead of the number.
      const end = line.indexOf('"', i + 1)
      if (end < 0) return undefined
      const after = line.charCodeAt(end + 1)
      if (after !== 44 && after !== 125) return undefined
      return this.levels.valueOf(line.slice(i + 1, end))
    }
    return undefined
  }

  /** `text` is the line without BOM and carriage return; a malformed line is wrapped as it came (`raw`). */
  #slow(text: string, raw: string): LogRecord {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return this.#malformed(raw)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.#malformed(raw)
    const object = value as Record<string, unknown>
    return new LogRecord(text, this.#levelOf(object[this.levelKey]), false, object)
  }

  #levelOf(raw: unknown): number {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw
    if (typeof raw === 'string') return this.levels.valueOf(raw) ?? FALLBACK_LEVEL
    return FALLBACK_LEVEL
  }

  #malformed(raw: string): LogRecord {
    const wrapped = this.#wrapped(raw)
    return new LogRecord(JSON.stringify(wrapped), FALLBACK_LEVEL, true, wrapped)
  }

  /** A line that is not one JSON object, as one: its raw text under the message key. */
  #wrapped(raw: string): Record<string, unknown> {
    return { [this.levelKey]: FALLBACK_LEVEL, time: Date.now(), [this.messageKey]: raw, malformed: true }
  }

  #wrap(raw: string): string {
    return JSON.stringify(this.#wrapped(raw))
  }
}

const defaultParser = new RecordParser()

/**
 * Makes a record from one NDJSON line with pino's default levels. Handy for direct `send()` calls.
 * @example sender.send(createRecord('{"level":50,"msg":"boom"}'))
 */
export function createRecord(line: string): LogRecord {
  return defaultParser.parse(line)
}
