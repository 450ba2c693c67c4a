/**
 * Reading Loki's 400 answer to a push. Loki answers 400 when it refused some entries and took the
 * rest of the request: the body says how many it refused and why, in one of two forms (Loki's own
 * strings, pkg/distributor and pkg/ingester):
 *
 * - the ingester's, for entries out of order or too far behind in their stream (one stream's
 *   refusals; at most 10 entries listed):
 *   `entry with timestamp 2024-… ignored, reason: 'entry out of order' for stream: {app="api"},\n`
 *   … `total ignored: 3 out of 10` (Loki 2.x) or `user 'fake', total ignored: 3 out of 10 for stream: {…}` (3.x);
 * - the distributor's validation errors, grouped by message (`util.GroupedErrors`): one message alone,
 *   or `2 errors like: Max entry size '256' bytes exceeded for stream '{…}' while adding an entry with
 *   length '300' bytes; 1 errors like: entry for stream '{…}' has timestamp too old: …`. Most name one
 *   entry each; a few refuse a whole stream (its labels), counted here by the entries of that stream.
 *
 * Loki reports only part of what it refused in some cases (the ingester returns the last failing
 * stream's error, the distributor the first failing ingester's, Loki 2.x's distributor its last
 * validation error): the count read is then a lower bound, and Loki's `loki_discarded_samples_total`
 * is the authority.
 */

/** What a 400 said: how many entries were refused, and the distinct reasons with one example each. */
export interface LokiRefusal {
  readonly count: number
  /** Reason (Loki's words, short) → how many entries, and one of Loki's messages for it. */
  readonly reasons: ReadonlyMap<string, { count: number; example: string }>
}

/** The entries of each stream of the request, by the stream's name as Loki writes it (`{app="api"}`). */
export type StreamSizes = () => ReadonlyMap<string, number>

/** Entry-level messages of Loki's distributor, with the short reason each stands for. */
const ENTRY_REASONS: readonly (readonly [RegExp, string])[] = [
  [/^Max entry size '\d+' bytes exceeded/, 'line too long'],
  [/has timestamp too old/, 'timestamp too old'],
  [/has timestamp too new/, 'timestamp too new'],
  [/includes structured metadata, but this feature is disallowed/, 'structured metadata disallowed'],
  [/has structured metadata too large/, 'structured metadata too large'],
  [/has too many structured metadata labels/, 'too many structured metadata labels'],
]

/** Stream-level messages (the whole stream refused), with where each names the stream. */
const STREAM_REASONS: readonly (readonly [RegExp, string])[] = [
  [/^Error parsing labels '(.*)' with error:/s, 'invalid labels'],
  [/^missing required labels .* for stream (\{.*\})/s, 'missing required labels'],
  [/^entry for stream '(.*)' has \d+ label names; limit \d+/s, 'too many labels'],
  [/^stream '(.*)' has label name too long:/s, 'label name too long'],
  [/^stream '(.*)' has label value too long:/s, 'label value too long'],
  [/^stream '(.*)' has duplicate label name:/s, 'duplicate label name'],
]

const TOTAL_IGNORED = /total ignored: (\d+) out of (\d+)/g
const IGNORED_REASON = /reason: '([^']*)'/g
const GROUP = /(?:^|; )(\d+) errors like: /g

/**
 * Reads a 400 body. Undefined when it does not say how many entries were refused (a body Loki could
 * not parse at all, an error this code does not know): the caller then counts the whole request
 * refused, rather than guess.
 */
export function readRefusal(body: string, streams: StreamSizes): LokiRefusal | undefined {
  const text = body.trim()
  if (text === '') return undefined
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
  if (reasons.size === 0) reasons.set('refused', { count, example: text })
  return { count, reasons }
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

function distributorRefusal(text: string, streams: StreamSizes): LokiRefusal | undefined {
  const groups = [...text.matchAll(GROUP)]
  const messages: { times: number; message: string }[] = []
  if (groups.length === 0 || groups[0]?.index !== 0) messages.push({ times: 1, message: text })
  else {
    for (const [i, group] of groups.entries()) {
      const start = (group.index as number) + group[0].length
      const end = groups[i + 1]?.index ?? text.length
      messages.push({ times: Number(group[1]), message: text.slice(start, end) })
    }
  }
  const reasons = new Map<string, { count: number; example: string }>()
  let count = 0
  for (const { times, message } of messages) {
    const refused = classify(message, streams)
    if (refused === undefined) return undefined
    const entries = refused.entries * times
    count += entries
    const seen = reasons.get(refused.reason)
    if (seen) seen.count += entries
    else reasons.set(refused.reason, { count: entries, example: message })
  }
  return count > 0 ? { count, reasons } : undefined
}

/** One message: its reason and how many entries it refused, or undefined for a message not known. */
function classify(message: string, streams: StreamSizes): { reason: string; entries: number } | undefined {
  for (const [pattern, reason] of ENTRY_REASONS) if (pattern.test(message)) return { reason, entries: 1 }
  for (const [pattern, reason] of STREAM_REASONS) {
    const match = pattern.exec(message)
    if (match === null) continue
    const entries = streams().get(match[1] as string)
    return entries === undefined ? undefined : { reason, entries }
  }
  return undefined
}

/** The reasons as one line for stats and warnings: `line too long x2 ("Max entry size …"); …`. */
export function describeRefusal(refusal: LokiRefusal, quote: (text: string) => string): string {
  const parts: string[] = []
  for (const [reason, { count, example }] of refusal.reasons) {
    parts.push(`${reason}${count > 1 ? ` x${count}` : ''} ("${quote(example)}")`)
  }
  return `Loki refused ${refusal.count} entries: ${parts.join('; ')}`
}
