/**
 * Secrets out of quoted error bodies. Servers often echo the request in an error page ("Cannot POST
 * /ingest/<token>", "invalid api_key=…"), in whatever encoding they like: literal, percent-encoded in
 * either case of hex digits, a space as `+`, a slash as JSON's `\/`. The body and every secret are
 * brought to one canonical form (UTF-8 bytes, escapes decoded, `+` as a space, `\/` as `/`) and searched
 * there with indexOf: linear in the body, whatever the secrets' length or number (one regular expression
 * of every secret's every spelling grew past V8's limit with a 6 KB token, and its error message spelt
 * the token out).
 */

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

/** Path, path segments, query, query values and userinfo of a URL, raw and decoded. */
export function urlSecrets(url: URL): string[] {
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
  return [...parts].filter((p) => p !== '/')
}

/** Credentials in request headers (authorization and the like): the value, and the part after its scheme. */
export function headerSecrets(headers: Record<string, string>): string[] {
  const out: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue
    for (const part of [value, value.slice(value.indexOf(' ') + 1)]) if (part.length >= MIN_SECRET_LENGTH) out.push(part)
  }
  return out
}

/**
 * Secrets in their canonical form, ready for {@link redactText} and {@link quoteRedacted}: distinct,
 * at least {@link MIN_SECRET_LENGTH} long, longest first. Compute once per set of secrets.
 */
export function secretNeedles(secrets: readonly string[]): string[] {
  const needles = new Set<string>()
  for (const secret of secrets) {
    const needle = canonical(secret).chars
    if (needle.length >= MIN_SECRET_LENGTH) needles.add(needle)
  }
  return [...needles].sort((a, b) => b.length - a.length)
}

/** Replaces every occurrence of every secret (as {@link secretNeedles} gave them), in any spelling, with an ellipsis. */
export function redactText(text: string, needles: readonly string[]): string {
  if (needles.length === 0 || text.length === 0) return text
  const form = canonical(text)
  let mask: Uint8Array | undefined
  for (const needle of needles) {
    for (let k = form.chars.indexOf(needle); k >= 0; k = form.chars.indexOf(needle, k + 1)) {
      mask ??= new Uint8Array(text.length)
      mask.fill(1, form.start[k], form.end[k + needle.length - 1])
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
 * Redacts, then cuts to `limit` characters. A tail that could be the beginning of a secret whose rest
 * was cut off (or was past what was read of the body) goes too, in any spelling, and so does a
 * percent-escape cut in half.
 */
export function quoteRedacted(text: string, limit: number, needles: readonly string[]): string {
  const redacted = redactText(text, needles)
  if (redacted.length <= limit) return redacted
  let out = redacted.slice(0, limit).replace(/(%[0-9a-fA-F]?|\\)$/, '')
  const form = canonical(out)
  const tail = form.chars
  let cut = out.length
  for (const needle of needles) {
    const last = tail.charCodeAt(tail.length - 1)
    for (let k = Math.min(needle.length - 1, tail.length); k >= MIN_SECRET_LENGTH; k--) {
      if (needle.charCodeAt(k - 1) !== last || !tail.endsWith(needle.slice(0, k))) continue
      cut = Math.min(cut, form.start[tail.length - k] as number)
      break
    }
  }
  out = out.slice(0, cut)
  return `${out}…`
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
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i)
    if (c === 37 /* % */ && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      push(Number.parseInt(text.slice(i + 1, i + 3), 16), i, i + 3)
      i += 3
    } else if (c === 92 /* \ */ && text.charCodeAt(i + 1) === 47 /* / */) {
      push(47, i, i + 2)
      i += 2
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

/** UTF-8 bytes of a code point above 0x7f; a lone surrogate as U+FFFD, as encoders write it. */
function utf8(point: number): number[] {
  if (point >= 0xd800 && point <= 0xdfff) point = 0xfffd
  if (point < 0x800) return [0xc0 | (point >> 6), 0x80 | (point & 63)]
  if (point < 0x10000) return [0xe0 | (point >> 12), 0x80 | ((point >> 6) & 63), 0x80 | (point & 63)]
  return [0xf0 | (point >> 18), 0x80 | ((point >> 12) & 63), 0x80 | ((point >> 6) & 63), 0x80 | (point & 63)]
}

function isHex(c: number): boolean {
  const lower = c | 32
  return (c >= 48 && c <= 57) || (lower >= 97 && lower <= 102)
}
