import { LevelMap } from '../../config/levels.js'
import type { LogRecord } from '../../input/record.js'
import type { SenderContext } from '../../senders/sender.js'

/** The error fields a backend maps (OpenTelemetry's `exception.*`, a syslog message). */
export interface RecordError {
  readonly type: string | undefined
  readonly message: string | undefined
  readonly stack: string | undefined
}

/**
 * Reads the fields backends map out of a log record, with the logger's own keys (`levelKey`,
 * `messageKey`, `errorKey`) and levels, as the transport learnt them from pino. One per sender.
 */
export class RecordFields {
  readonly levelKey: string
  readonly messageKey: string
  readonly errorKey: string
  readonly #levels: LevelMap
  readonly #labels = new Map<number, string>()

  constructor(context: SenderContext = {}) {
    this.levelKey = context.levelKey ?? 'level'
    this.messageKey = context.messageKey ?? 'msg'
    this.errorKey = context.errorKey ?? 'err'
    this.#levels = context.levels ?? new LevelMap()
  }

  /** The name of a level number (`info`), or the number as text for a level the logger does not name. */
  levelLabel(level: number): string {
    let label = this.#labels.get(level)
    if (label === undefined) this.#labels.set(level, (label = this.#levels.labelOf(level) ?? String(level)))
    return label
  }

  /** The record's message, when it has a string (or number) one. */
  message(value: Record<string, unknown>): string | undefined {
    const message = value[this.messageKey]
    return typeof message === 'string' ? message : typeof message === 'number' ? String(message) : undefined
  }

  /** The record's serialized error (pino's `err`: `{ type, message, stack }`), when it has one. */
  error(value: Record<string, unknown>): RecordError | undefined {
    const error = value[this.errorKey]
    if (typeof error !== 'object' || error === null) return undefined
    const { type, message, stack } = error as Record<string, unknown>
    return {
      type: typeof type === 'string' ? type : undefined,
      message: typeof message === 'string' ? message : undefined,
      stack: typeof stack === 'string' ? stack : undefined,
    }
  }

  /**
   * When the record was logged, in ms since the epoch (fractions kept), from its `time` in any form
   * pino writes: epoch ms (the default), seconds (`unixTime`), an ISO date (`isoTime`, `isoTimeNano`:
   * the digits past the ms kept as a fraction), or none (`nullTime`: the record's arrival time).
   * Numbers, and numbers in strings, are told apart by size: seconds until the year 5138, then ms, µs
   * and ns. Anything else (a negative number, text that is neither a decimal number nor a date) is
   * not a time: the arrival time stands for it.
   *
   * Read first where pino writes its own time (right after the level, see {@link leadingTimeMs})
   * without parsing the line, else from the parsed record (`value`, or parsed now). Where pino wrote
   * it wins over a field of the same name the app logged: pino writes both, and JSON.parse keeps the
   * last. (There is deliberately no reader of a parsed value's `time` alone: it would take the app's.)
   */
  recordTimeMs(record: LogRecord, value?: Record<string, unknown>): number {
    return leadingTimeMs(record.line, record.time) ?? timeOf((value ?? record.value()).time, record.time)
  }
}

/**
 * pino writes the level first and its time right after it (`{"level":30,"time":1700000000000,…`), or
 * the time first when the level is formatted away. Group 1: the time's JSON value (a number, or a
 * string without escapes). Any other line is read from its parsed value.
 */
const PINO_HEAD = /^\{(?:"[^"\\]*":(?:-?\d+(?:\.\d+)?|"[^"\\]*"),)?"time":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"[^"\\]*")[,}]/

/** The time pino wrote at the head of `line` (see PINO_HEAD) in ms, or undefined when it is not there. */
export function leadingTimeMs(line: string, fallback: number): number | undefined {
  const head = PINO_HEAD.exec(line)
  if (head === null) return undefined
  const raw = head[1] as string
  return timeOf(raw.charCodeAt(0) === 34 ? raw.slice(1, -1) : Number(raw), fallback)
}

/** See {@link RecordFields.recordTimeMs}: a `time` value in ms, or `fallback` when it is none. */
export function timeOf(time: unknown, fallback: number): number {
  const ms = msOf(time)
  // Past what the backends hold (OTLP's uint64 of ns ends in 2554): not a time either.
  return ms !== undefined && ms <= MAX_TIME_MS ? ms : fallback
}

/** Latest time taken (ms): 2^64 - 1 ns, the end of OTLP's and Loki's nanosecond timestamps. */
export const MAX_TIME_MS = 18_446_744_073_709

function msOf(time: unknown): number | undefined {
  if (typeof time === 'number') return Number.isFinite(time) && time >= 0 ? scaled(time) : undefined
  if (typeof time === 'string' && time !== '') {
    // Decimal numbers only: Number() also reads '' and '  ' as 0 and '0x1f' as hex, which are not times.
    if (DECIMAL.test(time)) {
      const number = Number(time)
      return Number.isFinite(number) && number >= 0 ? scaled(number) : undefined
    }
    return dateText(time)
  }
  return undefined
}

/**
 * An ISO 8601 / RFC 3339 date (pino's `isoTime`, `isoTimeNano`) or an HTTP date (`toUTCString()`) in
 * ms, digits past the ms kept as a fraction. Other text is not a time: `Date.parse` alone would read
 * "garbage 2020" as a date in the local time zone.
 */
function dateText(text: string): number | undefined {
  const iso = ISO_DATE.exec(text)
  if (!iso && !HTTP_DATE.test(text)) return undefined
  // A date and time without a zone: UTC, as everywhere in pino-courier (Date.parse would take local time).
  const parsed = Date.parse(iso && iso[2] === undefined && /[Tt ]/.test(text) ? `${text}Z` : text)
  if (Number.isNaN(parsed)) return undefined
  const digits = iso?.[1] ?? ''
  return digits.length > 3 ? parsed + Number(`0.${digits.slice(3)}`) : parsed
}

/** RFC 3339 and the ISO 8601 forms Date.parse reads; group 1: the fraction's digits, group 2: the zone. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/
/** An HTTP date, as `Date#toUTCString()` writes it. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** A number written in decimal, as JSON writes one (a leading `+` and a bare fraction allowed). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

function scaled(time: number): number {
  if (time < 1e11) return time * 1000 // seconds
  if (time < 1e14) return time // ms
  if (time < 1e17) return time / 1e3 // µs
  return time / 1e6 // ns
}

/** A time in ms as nanoseconds since the epoch, in decimal: exact where `ms * 1e6` as a number is not. */
export function nanosText(ms: number): string {
  // Whole ms (pino's default): no fraction arithmetic.
  if (Number.isInteger(ms) && ms > 0 && ms < 1e15) return `${ms}000000`
  let whole = Math.floor(ms)
  let fraction = Math.round((ms - whole) * 1e6)
  if (fraction >= 1e6) {
    whole += 1
    fraction = 0
  }
  // Under 1 ms the whole part is 0: no leading zeros ("500000", not "0500000").
  if (whole === 0) return String(fraction)
  return `${whole}${String(fraction).padStart(6, '0')}`
}
