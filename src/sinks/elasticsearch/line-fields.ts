/**
 * The two fields of a record's line the bulk body needs, its first top-level `time` and
 * `@timestamp`, read from the line's bytes without parsing it: pino writes its own `time` right after
 * the level, so a pino line is read up to its second field, and nothing is allocated for the fields
 * passed over.
 */

/** Field the record's time is written to when the record has none (data streams and Kibana need it). */
export const TIMESTAMP_FIELD = '@timestamp'

/** What the bulk body needs of a line. */
export interface LineFields {
  /**
   * The first top-level `time`: a number, a string (unescaped), `null` for any other JSON value, or
   * undefined when there is none. The first because pino writes its own time before the fields the
   * app logged: a logged `time` comes later and must not replace it (JSON.parse keeps the last).
   */
  readonly time: unknown
  /** The first top-level `@timestamp`, as `time`. */
  readonly timestamp: unknown
  /** Whether the line has a top-level `@timestamp` (then none is added). */
  readonly hasTimestamp: boolean
}

const NO_FIELDS: LineFields = { time: undefined, timestamp: undefined, hasTimestamp: false }

const OPEN = 0x7b
const CLOSE = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const MINUS = 0x2d

/**
 * In every line that may have a top-level `@timestamp`: the key spelt plainly, or as
 * `"\u0040timestamp"`. A `\u` escape can spell any of its letters (`"@timest\u0061mp"`): a line
 * holding one is read to its end too. Every spelling holds an `@` or a backslash, which indexOf finds
 * (or not) about eight times faster than a text: the usual line has neither and is done with two
 * such looks.
 */
const TIMESTAMP_NEEDLE = Buffer.from('timestamp"')
const UNICODE_ESCAPE = Buffer.from('\\u')
const AT = 0x40

/** A JSON number, as JSON writes one (`01`, `.5`, `1.` and `+1` are not JSON). */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

/**
 * The line's first top-level `time` and `@timestamp`. The line is read up to its first `time`, or to
 * its end when it may hold a top-level `@timestamp` (see TIMESTAMP_NEEDLE): indexOf finds the needle
 * at native speed in the usual line that has none. A line that is not a JSON object (a hand-made
 * record) has neither field: it goes as it is, and Elasticsearch says what it thinks of it.
 */
export function readLineFields(line: Buffer): LineFields {
  const escapes = line.indexOf(BACKSLASH) >= 0
  const whole =
    (escapes || line.indexOf(AT) >= 0) && (line.indexOf(TIMESTAMP_NEEDLE) >= 0 || (escapes && line.indexOf(UNICODE_ESCAPE) >= 0))
  return scan(line, whole) ?? parsed(line)
}

/** Set by stringEnd: whether the string it passed over holds an escape. */
let escaped = false

/**
 * Reads the line's top-level fields in order, passing over nested values, strings (whatever they
 * hold: braces, commas, escaped quotes) and JSON whitespace anywhere between tokens. Stops at the
 * first `time` unless `whole`. Undefined when the line is not a JSON object as far as it was read.
 */
function scan(line: Buffer, whole: boolean): LineFields | undefined {
  let time: unknown
  let hasTime = false
  let timestamp: unknown
  let hasTimestamp = false
  let i = skipSpace(line, 0)
  if (line[i] !== OPEN) return undefined
  i = skipSpace(line, i + 1)
  if (line[i] !== CLOSE) {
    for (;;) {
      if (line[i] !== QUOTE) return undefined
      const keyEnd = stringEnd(line, i)
      if (keyEnd < 0) return undefined
      const key = keyOf(line, i, keyEnd, escaped)
      if (key === INVALID) return undefined
      i = skipSpace(line, keyEnd)
      if (line[i] !== COLON) return undefined
      i = skipSpace(line, i + 1)
      const wanted = (key === TIME && !hasTime) || (key === TIMESTAMP && !hasTimestamp)
      const start = i
      const end = valueEnd(line, i)
      if (end < 0) return undefined
      if (wanted) {
        const value = valueOf(line, start, end)
        if (value === INVALID) return undefined
        if (key === TIME) {
          time = value
          hasTime = true
          if (!whole) break
        } else {
          timestamp = value
          hasTimestamp = true
        }
        if (hasTime && hasTimestamp) break
      }
      i = skipSpace(line, end)
      if (line[i] === CLOSE) break
      if (line[i] !== COMMA) return undefined
      i = skipSpace(line, i + 1)
    }
  }
  return hasTime || hasTimestamp ? { time, timestamp, hasTimestamp } : NO_FIELDS
}

const TIME = 1
const TIMESTAMP = 2
const OTHER = 3
const INVALID: unique symbol = Symbol('invalid')

/** Which key the string at [start, end) (quotes included) is; an escaped one is decoded first. */
function keyOf(line: Buffer, start: number, end: number, hasEscape: boolean): number | typeof INVALID {
  const length = end - start - 2
  if (hasEscape) {
    const key = decoded(line, start, end)
    return key === INVALID ? INVALID : key === 'time' ? TIME : key === TIMESTAMP_FIELD ? TIMESTAMP : OTHER
  }
  // Compared byte by byte: a string made of every key would cost more than the whole scan of a pino line.
  if (length === 4) return bytesAre(line, start + 1, 'time') ? TIME : OTHER
  if (length === 10) return bytesAre(line, start + 1, TIMESTAMP_FIELD) ? TIMESTAMP : OTHER
  return OTHER
}

/** Whether the line holds the ASCII `text` at `at`. */
function bytesAre(line: Buffer, at: number, text: string): boolean {
  for (let k = 0; k < text.length; k++) if (line[at + k] !== text.charCodeAt(k)) return false
  return true
}

/**
 * Where the value starting at `i` ends, or -1 when no JSON value starts there or it does not end. A
 * value's first byte says what it is: `"` a string, `-` or a digit a number, `t`, `f` or `n` a
 * literal, `{` or `[` a nested value; any other byte is not JSON.
 */
function valueEnd(line: Buffer, i: number): number {
  const first = line[i]
  if (first === undefined) return -1
  if (first === QUOTE) return stringEnd(line, i)
  if (first === MINUS || (first >= 0x30 && first <= 0x39)) {
    let j = i + 1
    for (let c = line[j]; c !== undefined && isNumberByte(c); c = line[++j]);
    return j
  }
  if (first === 0x74) return literalEnd(line, i, 'true')
  if (first === 0x66) return literalEnd(line, i, 'false')
  if (first === 0x6e) return literalEnd(line, i, 'null')
  if (first === OPEN || first === OPEN_ARRAY) return nestedEnd(line, i)
  return -1
}

/** The value at [start, end) as LineFields holds it: a number, a decoded string, or null for any other. */
function valueOf(line: Buffer, start: number, end: number): unknown {
  const first = line[start]
  if (first === QUOTE) {
    // stringEnd set `escaped` for this string: valueEnd read it last.
    return escaped ? decoded(line, start, end) : line.toString('utf8', start + 1, end - 1)
  }
  if (first === MINUS || (first !== undefined && first >= 0x30 && first <= 0x39)) {
    // pino's epoch ms: digits only, summed here (exact up to 15 digits); any other number as text.
    let sum = 0
    let k = start
    for (let c = line[k]; k < end && c !== undefined && c >= 0x30 && c <= 0x39; c = line[++k]) sum = sum * 10 + (c - 0x30)
    if (k === end && end - start <= 15 && (first !== 0x30 || end - start === 1)) return sum
    const text = line.toString('latin1', start, end)
    return JSON_NUMBER.test(text) ? Number(text) : INVALID
  }
  return null
}

/** Index just past the string whose opening quote is at `start`, or -1 when it does not end; sets `escaped`. */
function stringEnd(line: Buffer, start: number): number {
  escaped = false
  const end = line.length
  for (let j = start + 1; j < end; j++) {
    const c = line[j]
    if (c === QUOTE) return j + 1
    if (c === BACKSLASH) {
      escaped = true
      j++
    }
  }
  return -1
}

/** Index just past the object or array opening at `start`, or -1 when it does not close. */
function nestedEnd(line: Buffer, start: number): number {
  const end = line.length
  let depth = 0
  for (let j = start; j < end; j++) {
    const c = line[j]
    if (c === QUOTE) {
      const after = stringEnd(line, j)
      if (after < 0) return -1
      j = after - 1
    } else if (c === OPEN || c === OPEN_ARRAY) depth++
    else if ((c === CLOSE || c === CLOSE_ARRAY) && --depth === 0) return j + 1
  }
  return -1
}

function literalEnd(line: Buffer, start: number, literal: string): number {
  return bytesAre(line, start, literal) ? start + literal.length : -1
}

function isNumberByte(c: number): boolean {
  // Digits, `-`, `+`, `.`, `e` and `E`: whether they make a number is checked when the value is wanted.
  return (c >= 0x30 && c <= 0x39) || c === MINUS || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45
}

/** The JSON string at [start, end) (quotes included), decoded; INVALID for a bad escape. */
function decoded(line: Buffer, start: number, end: number): string | typeof INVALID {
  try {
    return JSON.parse(line.toString('utf8', start, end)) as string
  } catch {
    return INVALID
  }
}

function skipSpace(line: Buffer, from: number): number {
  let i = from
  for (let c = line[i]; c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a; c = line[++i]);
  return i
}

/**
 * A line the scan could not read (it is not JSON, as far as the scan went): parsed, in case it is
 * JSON after all. Whatever JSON.parse refuses has neither field.
 */
function parsed(line: Buffer): LineFields {
  let value: unknown
  try {
    value = JSON.parse(line.toString('utf8'))
  } catch {
    return NO_FIELDS
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return NO_FIELDS
  const record = value as Record<string, unknown>
  return { time: record.time, timestamp: record[TIMESTAMP_FIELD], hasTimestamp: Object.hasOwn(record, TIMESTAMP_FIELD) }
}
