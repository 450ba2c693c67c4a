import { DEFAULT_LEVELS, LevelMap } from './levels.js'

/** Level given to lines that carry no usable level (malformed lines, JSON without a level). */
export const FALLBACK_LEVEL = DEFAULT_LEVELS.info as number

let nextSeq = 0

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

  constructor(line: string, level: number, malformed = false, value?: Record<string, unknown>) {
    this.line = line
    this.level = level
    this.bytes = Buffer.byteLength(line) + 1
    this.seq = ++nextSeq
    this.time = Date.now()
    this.malformed = malformed
    this.#value = value
  }

  /** The parsed log object (parsed on first use and cached). */
  value(): Record<string, unknown> {
    return (this.#value ??= JSON.parse(this.line) as Record<string, unknown>)
  }
}

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
 * (`{"level":30,`) without parsing; only lines in another shape are parsed to find their level.
 * A line that is not a JSON object is wrapped as `{"level":30,"time":…,"msg":"<raw>","malformed":true}`
 * so every sender can still forward valid NDJSON.
 */
export class RecordParser {
  readonly levels: LevelMap
  readonly levelKey: string
  readonly messageKey: string
  readonly #prefix: string

  constructor(options: RecordParserOptions = {}) {
    this.levels = options.levels ?? new LevelMap()
    this.levelKey = options.levelKey ?? 'level'
    this.messageKey = options.messageKey ?? 'msg'
    this.#prefix = `{${JSON.stringify(this.levelKey)}:`
  }

  /** Parses one line (without its newline). Never throws. */
  parse(line: string): LogRecord {
    const fast = this.#fastLevel(line)
    if (fast !== undefined) return new LogRecord(line, fast)
    return this.#slow(line)
  }

  #fastLevel(line: string): number | undefined {
    const prefix = this.#prefix
    if (!line.startsWith(prefix) || line.charCodeAt(line.length - 1) !== 125 /* } */) return undefined
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

  #slow(line: string): LogRecord {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      return this.#malformed(line)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.#malformed(line)
    const object = value as Record<string, unknown>
    return new LogRecord(line, this.#levelOf(object[this.levelKey]), false, object)
  }

  #levelOf(raw: unknown): number {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw
    if (typeof raw === 'string') return this.levels.valueOf(raw) ?? FALLBACK_LEVEL
    return FALLBACK_LEVEL
  }

  #malformed(raw: string): LogRecord {
    const wrapped = {
      [this.levelKey]: FALLBACK_LEVEL,
      time: Date.now(),
      [this.messageKey]: raw,
      malformed: true,
    }
    return new LogRecord(JSON.stringify(wrapped), FALLBACK_LEVEL, true, wrapped)
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
