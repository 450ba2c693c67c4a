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
   * pino writes: epoch ms (the default), seconds (`unixTime`), an ISO date (`isoTime`), or none
   * (`nullTime`: the record's arrival time). Numbers are told apart by size: seconds until the year
   * 5138, then ms, µs and ns.
   */
  timeMs(value: Record<string, unknown>, record: LogRecord): number {
    return timeOf(value.time, record.time)
  }
}

/** See {@link RecordFields.timeMs}: a `time` value in ms, or `fallback` when it is none. */
export function timeOf(time: unknown, fallback: number): number {
  if (typeof time === 'number') return Number.isFinite(time) && time >= 0 ? scaled(time) : fallback
  if (typeof time === 'string' && time !== '') {
    const number = Number(time)
    if (Number.isFinite(number)) return number >= 0 ? scaled(number) : fallback
    const parsed = Date.parse(time)
    return Number.isNaN(parsed) ? fallback : parsed
  }
  return fallback
}

function scaled(time: number): number {
  if (time < 1e11) return time * 1000 // seconds
  if (time < 1e14) return time // ms
  if (time < 1e17) return time / 1e3 // µs
  return time / 1e6 // ns
}

/** A time in ms as nanoseconds since the epoch, in decimal: exact where `ms * 1e6` as a number is not. */
export function nanosText(ms: number): string {
  const whole = Math.floor(ms)
  const fraction = Math.round((ms - whole) * 1e6)
  if (fraction === 0) return `${whole}000000`
  if (fraction >= 1e6) return `${whole + 1}000000`
  return `${whole}${String(fraction).padStart(6, '0')}`
}
