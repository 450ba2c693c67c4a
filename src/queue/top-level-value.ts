/**
 * Reads one top-level field of a JSON object text without parsing the rest: what a queue group's key
 * needs from every record. `JSON.parse` builds the whole object (about 1.5 µs for a 200-byte pino line);
 * this walks the text once, jumping over strings with `indexOf`, and builds only the value asked for.
 *
 * It reads what `JSON.parse(text)[key]` would, for an own key: the last of duplicate keys wins, escapes
 * in keys and strings are decoded, numbers are read as JSON.parse reads them. An object or array
 * value comes back as {@link NOT_SCALAR}. The text must be JSON (every record line is checked when it
 * arrives); a text that is not throws, so that the caller can fall back to `JSON.parse`.
 */

/** The value of a field that holds an object or an array. */
export const NOT_SCALAR: unique symbol = Symbol('pino-courier: an object or array value')

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93

/** The value of `key` at the top level of `text` (undefined when absent); see the module's comment. */
export function topLevelValue(text: string, key: string): string | number | boolean | null | typeof NOT_SCALAR | undefined {
  let i = skipSpace(text, 0)
  if (text.charCodeAt(i) !== OPEN_BRACE) throw new SyntaxError('not a JSON object')
  i = skipSpace(text, i + 1)
  if (text.charCodeAt(i) === CLOSE_BRACE) return undefined
  let found: ReturnType<typeof topLevelValue>
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) throw new SyntaxError('a key expected')
    const keyEnd = stringEnd(text, i)
    const matches = keyIs(text, i, keyEnd, key)
    i = skipSpace(text, keyEnd)
    if (text.charCodeAt(i) !== COLON) throw new SyntaxError('":" expected')
    i = skipSpace(text, i + 1)
    const valueEnd = valueEndAt(text, i)
    // The last one wins, as in JSON.parse: pino writes a child's binding and a call's field of the same name.
    if (matches) found = readValue(text, i, valueEnd)
    i = skipSpace(text, valueEnd)
    const next = text.charCodeAt(i)
    if (next === CLOSE_BRACE) return found
    if (next !== COMMA) throw new SyntaxError('"," or "}" expected')
    i = skipSpace(text, i + 1)
  }
}

function skipSpace(text: string, from: number): number {
  let i = from
  for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
  return i
}

/** Index just past the string that opens at `start` (a quote). */
function stringEnd(text: string, start: number): number {
  let at = start
  for (;;) {
    at = text.indexOf('"', at + 1)
    if (at < 0) throw new SyntaxError('unterminated string')
    // Escaped only after an odd number of backslashes: `"a\\"` ends at its last quote.
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return at + 1
  }
}

/** Whether the key string from `start` to `end` (quotes included) is `key`, escapes decoded. */
function keyIs(text: string, start: number, end: number, key: string): boolean {
  const raw = text.slice(start + 1, end - 1)
  return raw.includes('\\') ? JSON.parse(text.slice(start, end)) === key : raw === key
}

/** Index just past the value that starts at `start`. */
function valueEndAt(text: string, start: number): number {
  const first = text.charCodeAt(start)
  if (first === QUOTE) return stringEnd(text, start)
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = start
    for (let c = text.charCodeAt(i); i < text.length && c !== COMMA && c !== CLOSE_BRACE && c !== CLOSE_BRACKET && c !== 32 && c !== 9 && c !== 10 && c !== 13; c = text.charCodeAt(++i));
    return i
  }
  // An object or array: skip to its end, strings and all.
  let depth = 0
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) i = stringEnd(text, i) - 1
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1
  }
  throw new SyntaxError('unterminated object or array')
}

function readValue(text: string, start: number, end: number): ReturnType<typeof topLevelValue> {
  const first = text.charCodeAt(start)
  if (first === QUOTE) {
    const raw = text.slice(start + 1, end - 1)
    return raw.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : raw
  }
  if (first === OPEN_BRACE || first === OPEN_BRACKET) return NOT_SCALAR
  const literal = text.slice(start, end)
  if (literal === 'true') return true
  if (literal === 'false') return false
  if (literal === 'null') return null
  // JSON.parse and Number read a JSON number alike; anything else here is not JSON.
  const number = Number(literal)
  if (literal === '' || Number.isNaN(number)) throw new SyntaxError(`not a JSON value: ${literal.slice(0, 20)}`)
  return number
}
