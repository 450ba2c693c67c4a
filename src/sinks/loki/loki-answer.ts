/**
 * Reading Loki's 400 answer to a push (Loki's own strings, pkg/distributor, pkg/ingester,
 * pkg/validation, v2.4 to v3.7).
 *
 * Two kinds of 400. Before Loki has read the request (the tenant header, decompressing, decoding the
 * JSON, in 3.x parsing the labels: `pushHandler` in pkg/distributor/http.go) a 400 means nothing was
 * taken; its body is the bare error (`tenant ID '…' contains unsupported character '…'`, jsoniter's
 * `… error found in #12 byte of …`, `couldn't parse labels: …`), see {@link tookNothing}. Once Loki has
 * read the request, every 400 means it refused some entries and took the rest; the body says how many
 * and why, in one of two forms:
 *
 * - the ingester's, for entries out of order or too far behind in their stream (one stream's
 *   refusals; at most 10 entries listed):
 *   `entry with timestamp 2024-… ignored, reason: 'entry out of order' for stream: {app="api"},\n`
 *   … `total ignored: 3 out of 10` (Loki 2.x) or `user 'fake', total ignored: 3 out of 10 for stream: {…}` (3.x);
 * - the distributor's validation errors, grouped by message (`util.GroupedErrors`): one message alone,
 *   or `2 errors like: max entry size '256' bytes exceeded for stream '{…}' while adding an entry with
 *   length '300' bytes; 1 errors like: entry for stream '{…}' has timestamp too old: …`. Most name one
 *   entry each; a few refuse a whole stream (its labels), counted here by the entries of that stream.
 *   Loki 3.6 wrote some of them lower-case ("max entry size", "error parsing labels"): matched
 *   without regard to case.
 *
 * A message this code does not know still means at least one entry refused (one per error when
 * grouped): counted so, as a lower bound. Loki also reports only part of what it refused in some cases
 * (the ingester returns the last failing stream's error, the distributor the first failing
 * ingester's, Loki 2.x's distributor its last validation error): Loki's `loki_discarded_samples_total`
 * is the authority.
 */

/** What a 400 said: how many entries were refused, and the distinct reasons with one example each. */
export interface LokiRefusal {
  readonly count: number
  /** Reason (Loki's words, short) → how many entries, and one of Loki's messages for it. */
  readonly reasons: ReadonlyMap<string, { count: number; example: string }>
  /** Some of the count is a lower bound: a message not known, or naming a stream not found. */
  readonly atLeast: boolean
}

/**
 * How many entries of the request are in the stream Loki names `name` (`{app="api", service_name="api"}`),
 * or undefined when the request has no such stream.
 */
export type StreamSizes = (name: string) => number | undefined

/**
 * Bodies of a 400 that Loki gives before it has taken anything of the request, and bodies that are not
 * Loki's at all (a proxy's page, nothing): the whole request failed.
 */
const NOTHING_TAKEN: readonly RegExp[] = [
  // Not an answer Loki writes (http.Error always writes the error), or a proxy's HTML page.
  /^$/,
  /^</,
  // The tenant header (dskit's tenant and user packages).
  /^(?:no org id|multiple org ids present|invalid tenant id|tenant id\b)/i,
  // Reading the body: decompressing, the media type, decoding (jsoniter's errors name the byte).
  /^couldn't (?:parse|decompress)\b/i,
  /^(?:gzip|flate|zlib|snappy|mime|proto): /i,
  /^(?:unexpected )?EOF$/,
  /^Content-Encoding ".*" not supported/i,
  /error found in #\d+ byte of /,
  /^request body too large\b/i,
]

/** Whether a 400's body says Loki took nothing of the request (see {@link NOTHING_TAKEN}). */
export function tookNothing(body: string): boolean {
  const text = body.trim()
  return NOTHING_TAKEN.some((pattern) => pattern.test(text))
}

/** Entry-level messages of Loki's distributor, with the short reason each stands for. */
const ENTRY_REASONS: readonly (readonly [RegExp, string])[] = [
  [/^max entry size '\d+' bytes exceeded/i, 'line too long'],
  [/has timestamp too old/i, 'timestamp too old'],
  [/has timestamp too new/i, 'timestamp too new'],
  [/includes structured metadata, but this feature is disallowed/i, 'structured metadata disallowed'],
  [/has structured metadata too large/i, 'structured metadata too large'],
  [/has too many structured metadata labels/i, 'too many structured metadata labels'],
]

/** Stream-level messages (the whole stream refused), with where each names the stream. */
const STREAM_REASONS: readonly (readonly [RegExp, string])[] = [
  [/^error parsing labels '(.*)' with error:/is, 'invalid labels'],
  // 3.5: `… for stream {…}`; 3.7: `… for stream '{…}' (policy: '…')`. (3.4 names no stream.)
  [/^missing required labels .* for stream '?(\{.*\})'?(?: \(policy: .*\))?$/is, 'missing required labels'],
  [/^entry for stream '(.*)' has \d+ label names; limit \d+/is, 'too many labels'],
  [/^stream '(.*)' has label name too long:/is, 'label name too long'],
  [/^stream '(.*)' has label value too long:/is, 'label value too long'],
  [/^stream '(.*)' has duplicate label name:/is, 'duplicate label name'],
]

/** The reason given to messages this code does not know. */
const UNKNOWN_REASON = 'refused'

const TOTAL_IGNORED = /total ignored: (\d+) out of (\d+)/g
const IGNORED_REASON = /reason: '([^']*)'/g
const GROUP = /(?:^|; )(\d+) errors like: /g

/**
 * Reads the body of a 400 given after Loki read the request (see {@link tookNothing} for the others):
 * how many entries it refused, at least one.
 */
export function readRefusal(body: string, streams: StreamSizes): LokiRefusal {
  const text = body.trim()
  return ingesterRefusal(text) ?? distributorRefusal(text, streams)
}

function ingesterRefusal(text: string): LokiRefusal | undefined {
  let count = 0
  let found = false
  for (const match of text.matchAll(TOTAL_IGNORED)) {
    found = true
    count += Number(match[1])
  }
  if (!found) return undefined
  const reasons = new Map<string, { count: number; example: string }>()
  const listed = [...text.matchAll(IGNORED_REASON)].map((m) => m[1] as string)
  // Only the first entries are listed: the count is shared out over the reasons seen, the rest going to the last.
  for (const [i, reason] of listed.entries()) {
    const short = shortReason(reason)
    const seen = reasons.get(short)
    const share = i === listed.length - 1 ? Math.max(1, count - (listed.length - 1)) : 1
    if (seen) seen.count += share
    else reasons.set(short, { count: share, example: firstLine(text, reason) })
  }
  if (reasons.size === 0) reasons.set(UNKNOWN_REASON, { count, example: text })
  return { count, reasons, atLeast: false }
}

/** `entry too far behind, entry timestamp is: …` → `entry too far behind`. */
function shortReason(reason: string): string {
  const cut = reason.search(/[,(]/)
  return (cut > 0 ? reason.slice(0, cut) : reason).trim()
}

/** The listed line that carries `reason`. */
function firstLine(text: string, reason: string): string {
  return text.split('\n').find((line) => line.includes(reason)) ?? reason
}

function distributorRefusal(text: string, streams: StreamSizes): LokiRefusal {
  const groups = [...text.matchAll(GROUP)]
  const messages: { times: number; message: string }[] = []
  if (groups.length === 0 || groups[0]?.index !== 0) messages.push({ times: 1, message: text })
  else {
    for (const [i, group] of groups.entries()) {
      const start = (group.index as number) + group[0].length
      const end = groups[i + 1]?.index ?? text.length
      messages.push({ times: Math.max(1, Number(group[1])), message: text.slice(start, end) })
    }
  }
  const reasons = new Map<string, { count: number; example: string }>()
  let count = 0
  let atLeast = false
  for (const { times, message } of messages) {
    const refused = classify(message, streams)
    // Each error refused one entry at least.
    const entries = (refused.entries ?? 1) * times
    atLeast ||= refused.entries === undefined
    count += entries
    const seen = reasons.get(refused.reason)
    if (seen) seen.count += entries
    else reasons.set(refused.reason, { count: entries, example: message })
  }
  return { count, reasons, atLeast }
}

/** One message: its reason and how many entries it refused (undefined: not known). */
function classify(message: string, streams: StreamSizes): { reason: string; entries: number | undefined } {
  for (const [pattern, reason] of ENTRY_REASONS) if (pattern.test(message)) return { reason, entries: 1 }
  for (const [pattern, reason] of STREAM_REASONS) {
    const match = pattern.exec(message)
    if (match !== null) return { reason, entries: streams(match[1] as string) }
  }
  return { reason: UNKNOWN_REASON, entries: undefined }
}

/** The reasons as one line for stats and warnings: `line too long x2 ("max entry size …"); …`. */
export function describeRefusal(refusal: LokiRefusal, quote: (text: string) => string): string {
  const parts: string[] = []
  for (const [reason, { count, example }] of refusal.reasons) {
    parts.push(`${reason}${count > 1 ? ` x${count}` : ''} ("${quote(example)}")`)
  }
  const entries = refusal.count === 1 ? 'entry' : 'entries'
  return `Loki refused ${refusal.atLeast ? 'at least ' : ''}${refusal.count} ${entries}: ${parts.join('; ')}`
}
