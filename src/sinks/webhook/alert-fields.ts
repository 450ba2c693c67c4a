import { truncate } from './alert-text.js'

/**
 * What an alert shows of one log record: its message, its error (type, message, a trimmed stack),
 * where it came from, and the values it is grouped by. Reads the parsed record; never throws.
 */

/** Options of {@link readExample}. */
export interface AlertFieldOptions {
  /** The logger's `messageKey`. */
  readonly messageKey: string
  /** The logger's `errorKey`. */
  readonly errorKey: string
  /** Most stack frames kept. */
  readonly maxStackLines: number
  /** Most characters of stack frames kept (frames are kept whole). */
  readonly maxStackChars: number
}

/** One record as an alert shows it: the example of its group. */
export interface AlertExample {
  /** When it was logged (ms since epoch): the record's `time`, or when it arrived. */
  readonly time: number
  /** The log message (or the error's message when the record has none). */
  readonly message: string
  /** The error's `type` (pino's err serializer) or `name`. */
  readonly errorType?: string
  /** The error's message. */
  readonly errorMessage?: string
  /** Stack frames, trimmed, without the first line when it only repeats type and message. */
  readonly stack: readonly string[]
  /** Stack frames left out by `maxStackLines` / `maxStackChars`. */
  readonly stackOmitted: number
  /** The logger's `name`, when the record has one. */
  readonly name?: string
  readonly hostname?: string
  readonly pid?: number
}

/** Most characters of a value kept in a group key or shown as a message: bounds memory per group. */
export const MAX_VALUE_CHARS = 1000

/** The value at a dot-separated path (`err.type`, `req.url`), or undefined. */
export function readPath(value: unknown, path: string): unknown {
  let current = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** A value as text for a group key or a display: strings as they are, the rest as JSON, capped. */
export function valueText(value: unknown): string {
  let text: string
  if (value === undefined) return ''
  if (typeof value === 'string') text = value
  else {
    try {
      text = JSON.stringify(value) ?? String(value)
    } catch {
      text = String(value)
    }
  }
  return detach(truncate(text, MAX_VALUE_CHARS))
}

/**
 * A copy of `text` that shares no memory with the string it came from. V8 keeps a slice of a string
 * (or a string JSON.parse cut out of a line) as a view of the whole: a group that keeps 1,000
 * characters of a 1 MB message would keep the megabyte for its whole window.
 */
export function detach(text: string): string {
  return text.length === 0 ? text : (JSON.parse(JSON.stringify(text)) as string)
}

/** The record's time: pino's epoch milliseconds, an ISO string (`stdTimeFunctions.isoTime`), or `arrival`. */
export function recordTime(value: Record<string, unknown>, arrival: number): number {
  const time = value.time
  // pino.stdTimeFunctions.unixTime writes seconds: anything below 1e11 (1973 in milliseconds) is.
  if (typeof time === 'number' && Number.isFinite(time)) return time < 1e11 ? time * 1000 : time
  if (typeof time === 'string') {
    const parsed = Date.parse(time)
    if (!Number.isNaN(parsed)) return parsed
  }
  return arrival
}

/** The error's type as pino's err serializer writes it (`type`), or its `name`. */
export function errorTypeOf(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined
  const { type, name } = error as { type?: unknown; name?: unknown }
  if (typeof type === 'string' && type !== '') return type
  if (typeof name === 'string' && name !== '') return name
  return undefined
}

/** The record's message: the message key, else the error's message, else a placeholder. */
export function messageOf(value: Record<string, unknown>, options: Pick<AlertFieldOptions, 'messageKey' | 'errorKey'>): string {
  const message = value[options.messageKey]
  if (message !== undefined && message !== null && message !== '') return valueText(message)
  const error = value[options.errorKey]
  if (typeof error === 'string' && error !== '') return valueText(error)
  const errorMessage = (error as { message?: unknown } | null | undefined)?.message
  if (typeof errorMessage === 'string' && errorMessage !== '') return valueText(errorMessage)
  return '(no message)'
}

/** Reads the example details of a record. */
export function readExample(value: Record<string, unknown>, arrival: number, options: AlertFieldOptions): AlertExample {
  const error = value[options.errorKey]
  const errorType = errorTypeOf(error)
  let errorMessage: string | undefined
  let stackText: string | undefined
  if (typeof error === 'string') errorMessage = valueText(error)
  else if (error !== null && typeof error === 'object') {
    const { message, stack } = error as { message?: unknown; stack?: unknown }
    if (typeof message === 'string') errorMessage = valueText(message)
    if (typeof stack === 'string') stackText = stack
  }
  const { frames, omitted } = trimStack(stackText, errorType, errorMessage, options)
  const { name, hostname, pid } = value
  return {
    time: recordTime(value, arrival),
    message: messageOf(value, options),
    ...(errorType !== undefined ? { errorType: valueText(errorType) } : {}),
    ...(errorMessage !== undefined ? { errorMessage } : {}),
    stack: frames,
    stackOmitted: omitted,
    ...(typeof name === 'string' ? { name: valueText(name) } : {}),
    ...(typeof hostname === 'string' ? { hostname: valueText(hostname) } : {}),
    ...(typeof pid === 'number' ? { pid } : {}),
  }
}

/**
 * The frames of a stack, trimmed, at most `maxStackLines` of them and `maxStackChars` in all. The
 * first line is left out when it only says what the error line shows already (`TypeError: boom`).
 */
export function trimStack(
  stack: string | undefined,
  errorType: string | undefined,
  errorMessage: string | undefined,
  options: Pick<AlertFieldOptions, 'maxStackLines' | 'maxStackChars'>,
): { frames: string[]; omitted: number } {
  if (!stack) return { frames: [], omitted: 0 }
  const lines = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
  const first = lines[0]
  if (first !== undefined && isHeaderLine(first, errorType, errorMessage)) lines.shift()
  const frames: string[] = []
  let chars = 0
  for (const line of lines) {
    if (frames.length >= options.maxStackLines) break
    // A frame longer than the whole budget is cut rather than lost: it is usually the one that matters.
    const frame = frames.length === 0 && line.length > options.maxStackChars ? truncate(line, options.maxStackChars) : line
    if (chars + frame.length > options.maxStackChars || frame === '') break
    frames.push(detach(frame))
    chars += frame.length + 1
  }
  return { frames, omitted: lines.length - frames.length }
}

function isHeaderLine(line: string, type: string | undefined, message: string | undefined): boolean {
  if (line.startsWith('at ')) return false
  if (message !== undefined && (line === message || line.endsWith(`: ${message}`))) return true
  return type !== undefined && (line === type || line.startsWith(`${type}:`))
}
