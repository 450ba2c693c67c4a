/**
 * Secrets out of quoted error bodies. Servers often echo the request in an error page ("Cannot POST
 * /ingest/<token>", "invalid api_key=…"), in whatever encoding they like: literal, percent-encoded in
 * either case of hex digits, a space as `+`, JSON's `\/` and `\u00e9`, HTML's `&#43;`, `&#x2f;` and
 * `&amp;`. The body and every secret are brought to one canonical form (UTF-8 bytes, those escapes
 * decoded, `+` as a space) and searched there with indexOf, and the raw secret is searched in the raw
 * text too (a `%` just before a hex token reads as an escape in the canonical form): linear in the
 * body, whatever the secrets' length or number. (One regular expression of every secret's every
 * spelling grew past V8's limit with a 6 KB token, and its error message spelt the token out.)
 */

import { isHexDigit } from '../../hex.js'

/** Shortest URL part or header value treated as a secret when it appears in a response body. */
export const MIN_SECRET_LENGTH = 4

/**
 * Names of request headers that carry credentials: `authorization`, `cookie`, Honeycomb's
 * `x-honeycomb-team`, and any name containing `key`, `token`, `secret` or `auth` (`x-api-key`,
 * `dd-api-key`, `x-auth-token`, `x-splunk-secret` …).
 */
export const CREDENTIAL_HEADER = /^(cookie|x-honeycomb-team)$|key|token|secret|auth/i

/** `decodeURIComponent`, or the value as it is when it holds a malformed escape. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * Path, path segments, query, query values and userinfo of a URL, raw and decoded. `publicPath`: a
 * backend's standard path (`/v1/logs`, `/_bulk`): its segments are words every answer may use
 * ("logs"), not secrets; the user's own segments (a token in a path) still are.
 */
export function urlSecrets(url: URL, publicPath?: string): string[] {
  const parts = new Set<string>()
  const add = (value: string): void => {
    for (const candidate of [value, safeDecode(value)]) if (candidate.length >= MIN_SECRET_LENGTH) parts.add(candidate)
  }
  add(url.pathname + url.search)
  add(url.pathname)
  add(url.search)
  for (const segment of url.pathname.split('/')) add(segment)
  for (const [key, value] of url.searchParams) {
    add(value)
    add(`${key}=${value}`)
  }
  // The pairs as sent, percent-encoding and all: a sink may echo the raw query.
  for (const pair of url.search.slice(1).split('&')) {
    add(pair)
    const at = pair.indexOf('=')
    if (at >= 0) add(pair.slice(at + 1))
  }
  add(url.username)
  add(url.password)
  const known = new Set(publicPath === undefined ? [] : [publicPath, ...publicPath.split('/')])
  return [...parts].filter((p) => p !== '/' && !known.has(p))
}

/** Shortest piece of a credential header's value (a cookie's value, `token="…"`) treated as a secret of its own. */
const MIN_SECRET_PIECE_LENGTH = 8

/**
 * Credentials in request headers (authorization and the like): the value, the part after its scheme,
 * and the pieces of it a server may echo alone: each cookie's value (`a=1; session=…`), a `token="…"`
 * parameter. Pieces shorter than 8 characters are left out: words such as `Token` or `session` must
 * not vanish from every quoted body.
 */
export function headerSecrets(headers: Record<string, string>): string[] {
  const out: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue
    for (const part of [value, value.slice(value.indexOf(' ') + 1)]) if (part.length >= MIN_SECRET_LENGTH) out.push(part)
    for (const piece of value.split(/[\s;,=:"']+/)) if (piece.length >= MIN_SECRET_PIECE_LENGTH) out.push(piece)
  }
  return out
}

/** A secret as {@link redactText} searches it: as it is, and in the canonical form of every spelling. */
export interface SecretNeedle {
  readonly raw: string
  readonly canonical: readonly string[]
}

/**
 * Secrets in their canonical form, ready for {@link redactText} and {@link quoteRedacted}: distinct,
 * at least {@link MIN_SECRET_LENGTH} long, longest first. Compute once per set of secrets.
 */
export function secretNeedles(secrets: readonly string[]): SecretNeedle[] {
  const needles = new Map<string, SecretNeedle>()
  for (const secret of new Set(secrets)) {
    if (secret.length < MIN_SECRET_LENGTH) continue
    // Decoded once, as a server echoing it decodes it, and as it was sent (a value holding "%41"
    // comes back as "%41" from a server that decodes the percent-encoding it got).
    const forms = new Set([canonical(secret).chars, canonical(encodeURIComponent(secret)).chars])
    needles.set(secret, { raw: secret, canonical: [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH) })
  }
  return [...needles.values()].sort((a, b) => b.raw.length - a.raw.length)
}

/** Replaces every occurrence of every secret (as {@link secretNeedles} gave them), in any spelling, with an ellipsis. */
export function redactText(text: string, needles: readonly SecretNeedle[]): string {
  if (needles.length === 0 || text.length === 0) return text
  const form = canonical(text)
  let mask: Uint8Array | undefined
  for (const needle of needles) {
    for (let k = text.indexOf(needle.raw); k >= 0; k = text.indexOf(needle.raw, k + 1)) {
      mask ??= new Uint8Array(text.length)
      mask.fill(1, k, k + needle.raw.length)
    }
    for (const spelling of needle.canonical) {
      for (let k = form.chars.indexOf(spelling); k >= 0; k = form.chars.indexOf(spelling, k + 1)) {
        mask ??= new Uint8Array(text.length)
        mask.fill(1, form.start[k] as number, form.end[k + spelling.length - 1] as number)
      }
    }
  }
  if (!mask) return text
  let out = ''
  let from = 0
  for (let i = 0; i < text.length; i++) {
    if (mask[i] !== 1 || (i > 0 && mask[i - 1] === 1)) continue
    out += `${text.slice(from, i)}…`
    let end = i
    while (end < text.length && mask[end] === 1) end++
    from = end
  }
  return out + text.slice(from)
}

/**
 * Redacts, then cuts to `limit` characters. When the text was cut (here, or already when it was read:
 * `cutOff`), a tail that could be the beginning of a secret whose rest is missing goes too, in any
 * spelling, and so does an escape or a surrogate pair cut in half.
 */
export function quoteRedacted(text: string, limit: number, needles: readonly SecretNeedle[], cutOff = false): string {
  const redacted = redactText(text, needles)
  if (redacted.length <= limit && !cutOff) return redacted
  const out = redacted.slice(0, limit).replace(/(%[0-9a-fA-F]?|\\u?[0-9a-fA-F]{0,3}|&#?[0-9a-zA-Z]*|[\ud800-\udbff])$/, '')
  const form = canonical(out)
  let cut = out.length
  for (const needle of needles) {
    cut = Math.min(cut, prefixAtEnd(out, needle.raw), ...needle.canonical.map((spelling) => prefixAtEnd(form.chars, spelling, form.start)))
  }
  return `${out.slice(0, cut)}…`
}

/**
 * Where a tail of `text` begins that is the beginning of `secret` (at least MIN_SECRET_LENGTH long and
 * shorter than the secret), or Infinity. For a canonical form, `start` maps the offset back to the
 * original text.
 */
function prefixAtEnd(text: string, secret: string, start?: readonly number[]): number {
  const last = text.charCodeAt(text.length - 1)
  for (let k = Math.min(secret.length - 1, text.length); k >= MIN_SECRET_LENGTH; k--) {
    if (secret.charCodeAt(k - 1) !== last || !text.endsWith(secret.slice(0, k))) continue
    const at = text.length - k
    return start === undefined ? at : (start[at] as number)
  }
  return Number.POSITIVE_INFINITY
}

/**
 * A text's canonical form: one char per UTF-8 byte, percent-escapes decoded, `+` as a space, `\/` as
 * `/`. `start[k]` / `end[k]`: the span of the text that canonical char k came from.
 */
interface CanonicalForm {
  chars: string
  start: number[]
  end: number[]
}

function canonical(text: string): CanonicalForm {
  const codes: number[] = []
  const start: number[] = []
  const end: number[] = []
  const push = (byte: number, from: number, to: number): void => {
    codes.push(byte === 43 /* + */ ? 32 : byte)
    start.push(from)
    end.push(to)
  }
  const pushPoint = (point: number, from: number, to: number): void => {
    if (point < 0x80) push(point, from, to)
    else for (const byte of utf8(point)) push(byte, from, to)
  }
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i)
    let escape: { point: number; length: number } | undefined
    if (c === 37 /* % */ && isHexDigit(text.charCodeAt(i + 1)) && isHexDigit(text.charCodeAt(i + 2))) {
      push(Number.parseInt(text.slice(i + 1, i + 3), 16), i, i + 3)
      i += 3
    } else if (c === 92 /* \ */ && text.charCodeAt(i + 1) === 47 /* / */) {
      push(47, i, i + 2)
      i += 2
    } else if ((escape = c === 92 ? jsonEscape(text, i) : c === 38 /* & */ ? htmlEscape(text, i) : undefined)) {
      pushPoint(escape.point, i, i + escape.length)
      i += escape.length
    } else if (c < 0x80) {
      push(c, i, i + 1)
      i++
    } else {
      const point = text.codePointAt(i) as number
      const width = point > 0xffff ? 2 : 1
      for (const byte of utf8(point)) push(byte, i, i + width)
      i += width
    }
  }
  let chars = ''
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let k = 0; k < codes.length; k += 8192) chars += String.fromCharCode(...codes.slice(k, k + 8192))
  return { chars, start, end }
}

/** A JSON `\uXXXX` escape at `i` (a surrogate pair of two as one code point). */
function jsonEscape(text: string, i: number): { point: number; length: number } | undefined {
  const unit = hexAt(text, i + 2, 4)
  if (text.charCodeAt(i + 1) !== 117 /* u */ || unit === undefined) return undefined
  if (unit >= 0xd800 && unit <= 0xdbff && text.startsWith('\\u', i + 6)) {
    const low = hexAt(text, i + 8, 4)
    if (low !== undefined && low >= 0xdc00 && low <= 0xdfff) return { point: 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00), length: 12 }
  }
  return { point: unit, length: 6 }
}

const HTML_NAMED: Readonly<Record<string, number>> = { amp: 38, lt: 60, gt: 62, quot: 34, apos: 39, sol: 47, plus: 43, equals: 61, percnt: 37 }

/** An HTML character reference at `i`: `&#43;`, `&#x2f;`, or one of the few names a URL or key holds. */
function htmlEscape(text: string, i: number): { point: number; length: number } | undefined {
  const end = text.indexOf(';', i + 2)
  if (end < 0 || end - i > 10) return undefined
  const body = text.slice(i + 1, end)
  let point: number | undefined
  if (/^#[0-9]{1,7}$/.test(body)) point = Number(body.slice(1))
  else if (/^#[xX][0-9a-fA-F]{1,6}$/.test(body)) point = Number.parseInt(body.slice(2), 16)
  else point = HTML_NAMED[body]
  return point === undefined || point > 0x10ffff ? undefined : { point, length: end - i + 1 }
}

function hexAt(text: string, i: number, digits: number): number | undefined {
  for (let k = 0; k < digits; k++) if (!isHexDigit(text.charCodeAt(i + k))) return undefined
  return Number.parseInt(text.slice(i, i + digits), 16)
}

/** UTF-8 bytes of a code point above 0x7f; a lone surrogate as U+FFFD, as encoders write it. */
function utf8(point: number): number[] {
  if (point >= 0xd800 && point <= 0xdfff) point = 0xfffd
  if (point < 0x800) return [0xc0 | (point >> 6), 0x80 | (point & 63)]
  if (point < 0x10000) return [0xe0 | (point >> 12), 0x80 | ((point >> 6) & 63), 0x80 | (point & 63)]
  return [0xf0 | (point >> 18), 0x80 | ((point >> 12) & 63), 0x80 | ((point >> 6) & 63), 0x80 | (point & 63)]
}
