/**
 * Streams as Loki names them in its messages (Prometheus's `labels.String()`: `{app="api", level="info"}`,
 * sorted by name, values quoted as Go's strconv.Quote does), written for our own messages and read
 * back from Loki's 400 answers to find which of a request's streams a refusal names.
 *
 * Loki's names are not ours: Loki 3 adds `service_name` to every stream that lacks it before it
 * validates (`discover_service_name`, on by default: the first of the `service`, `app`, … labels, else
 * `unknown_service`), and its ingester may name a stream shard (`__stream_shard__`, `__time_shard__`).
 * So a name is compared as a label set, labels Loki added and we did not send left out.
 */

/** Labels Loki adds to streams on its own (3.x): a name carrying them still names our stream without them. */
const LOKI_ADDED_LABELS: ReadonlySet<string> = new Set(['service_name', '__stream_shard__', '__time_shard__'])

/** A label set (ordered pairs) as Loki names streams: `{app="api", level="info"}`. */
export function prometheusText(pairs: readonly (readonly [string, string])[]): string {
  const sorted = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return `{${sorted.map(([name, value]) => `${name}=${goQuote(value)}`).join(', ')}}`
}

const GO_ESCAPES: Readonly<Record<string, string>> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' }

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

/**
 * Go's strconv.Quote: `"` and `\` escaped, ASCII controls as `\n` or `\xHH`, other characters Go does
 * not print (C1 controls, U+00A0, U+00AD, U+2028, U+FEFF, …) as `\uHHHH` or `\UHHHHHHHH`; the rest kept.
 * A lone surrogate (no character in UTF-8: Go reads it as U+FFFD) is written as U+FFFD.
 */
export function goQuote(value: string): string {
  let out = '"'
  for (const char of value) {
    const code = char.codePointAt(0) as number
    if (char === '"' || char === '\\') out += `\\${char}`
    else if (code < 0x20 || code === 0x7f) out += GO_ESCAPES[char] ?? `\\x${hex(code, 2)}`
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd'
    else if (GO_PRINTABLE.test(char)) out += char
    else out += code < 0x10000 ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`
  }
  return `${out}"`
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0')
}

/**
 * Reads a stream name as Loki writes it (see {@link prometheusText}; names may be quoted too, as newer
 * Prometheus writes names that are not classic label names) into its labels, values unquoted as Go's
 * strconv.Unquote does. Undefined for text that is not such a name.
 */
export function parseStreamName(text: string): Map<string, string> | undefined {
  const labels = new Map<string, string>()
  const s = text.trim()
  if (s[0] !== '{') return undefined
  let i = skipSpaces(s, 1)
  if (s[i] === '}') return i === s.length - 1 ? labels : undefined
  for (;;) {
    let name: string
    if (s[i] === '"') {
      const quoted = unquote(s, i)
      if (quoted === undefined) return undefined
      ;[name, i] = quoted
    } else {
      LABEL_NAME_AT.lastIndex = i
      const match = LABEL_NAME_AT.exec(s)
      if (match === null) return undefined
      name = match[0]
      i += name.length
    }
    if (s[i] !== '=') return undefined
    const value = unquote(s, i + 1)
    if (value === undefined) return undefined
    labels.set(name, value[0])
    i = skipSpaces(s, value[1])
    if (s[i] === ',') i = skipSpaces(s, i + 1)
    else if (s[i] === '}') return i === s.length - 1 ? labels : undefined
    else return undefined
  }
}

const LABEL_NAME_AT = /[a-zA-Z_][a-zA-Z0-9_]*/y

function skipSpaces(s: string, i: number): number {
  while (s[i] === ' ') i++
  return i
}

const GO_UNESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" }

/** A Go double-quoted string starting at `s[at]`: its value and the index past its closing quote. */
function unquote(s: string, at: number): [string, number] | undefined {
  if (s[at] !== '"') return undefined
  let out = ''
  for (let i = at + 1; i < s.length; ) {
    const char = s[i] as string
    if (char === '"') return [out, i + 1]
    if (char !== '\\') {
      out += char
      i++
      continue
    }
    const kind = s[i + 1] ?? ''
    const simple = GO_UNESCAPES[kind]
    if (simple !== undefined) {
      out += simple
      i += 2
      continue
    }
    const width = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0
    const digits = width > 0 ? s.slice(i + 2, i + 2 + width) : s.slice(i + 1, i + 4)
    const code = width > 0 ? (/^[0-9a-fA-F]+$/.test(digits) && digits.length === width ? parseInt(digits, 16) : NaN) : /^[0-7]{3}$/.test(digits) ? parseInt(digits, 8) : NaN
    if (Number.isNaN(code) || code > 0x10ffff) return undefined
    // A byte past ASCII (\xHH, \OOO) is part of invalid UTF-8, which Go reads as U+FFFD.
    out += (width === 2 || width === 0) && code >= 0x80 ? '\ufffd' : String.fromCodePoint(code)
    i += width > 0 ? 2 + width : 4
  }
  return undefined
}

/**
 * Whether Loki's name of a stream (`theirs`, read by {@link parseStreamName}) is our stream `ours`
 * (labels as sent): the same labels with the same values, but for labels Loki adds on its own that
 * we did not send. `exact` is set when no such label had to be left out.
 */
export function namesStream(ours: Readonly<Record<string, string>>, theirs: ReadonlyMap<string, string>): 'exact' | 'added' | false {
  let added = false
  let shared = 0
  for (const [name, value] of theirs) {
    const mine = ours[name]
    if (mine === undefined) {
      if (!LOKI_ADDED_LABELS.has(name)) return false
      added = true
    } else if (wellFormed(mine) !== value) return false
    else shared++
  }
  if (shared !== Object.keys(ours).length) return false
  return added ? 'added' : 'exact'
}

/** The string as Go holds it after decoding our JSON: lone surrogates become U+FFFD. */
function wellFormed(value: string): string {
  return LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATE_ALL, '\ufffd') : value
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g')
