/**
 * The wording of alerts, shared by the chat formats: headline, one heading per group, times, the
 * "… N more" line. Plain text; each format escapes and decorates it for its sink.
 */
import type { AlertGroupView, DigestSnapshot, PostReason } from './alert-digest.js'

/** What rendering needs besides the digest. */
export interface AlertRenderContext {
  /** A label in front of every headline (service, environment). */
  readonly title: string | undefined
  /** The sender's name. */
  readonly sender: string
  /** `ERROR`, `FATAL`, a custom level's name, or `LEVEL 55`. */
  readonly levelLabel: (level: number) => string
  /** `maxGroups`, named in the line about occurrences beyond it. */
  readonly maxGroups: number
  /** Group-by paths worth showing next to the message (custom `groupBy` paths other than message, level, error type). */
  readonly extraPaths: readonly string[]
  /** Most characters of the headline: set only when nothing else is left to cut for size. */
  readonly maxHeadlineChars?: number
}

/** Which groups a post shows and how much of each. */
export interface AlertLayout {
  /** Groups shown, in order. */
  readonly shown: readonly AlertGroupView[]
  /** Groups left out for size, summed up in the "… N more" line. */
  readonly omitted: { readonly groups: number; readonly occurrences: number; readonly records: number }
  /** Most stack frames shown per group. */
  readonly stackLines: number
}

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 1) return max === 1 ? '…' : ''
  // Never split a surrogate pair: half an emoji is invalid UTF-16 and some sinks refuse it.
  let end = max - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

/** 10000 -> "10,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

/** "2026-11-23 15:27:41Z": to the second, in UTC, the same for every reader of a shared channel. */
export function formatTime(ms: number): string {
  const date = new Date(ms)
  if (Number.isNaN(date.getTime())) return '?'
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`
}

/** ISO 8601, for machine-readable fields. */
export function isoTime(ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString()
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`
}

/** A marker for the worst level in a post, readable at a glance in a channel. */
export function levelEmoji(level: number): string {
  if (level >= 60) return '🚨'
  if (level >= 50) return '🔴'
  if (level >= 40) return '🟠'
  return 'ℹ️'
}

const REASONS: Readonly<Record<PostReason, string>> = {
  first: 'first alert, posted at once',
  flushLevel: 'posted at once for its level',
  window: 'digest at the end of the window',
  close: 'digest at shutdown',
}

/**
 * The headline: the alert itself when the post carries one record, else how many records and groups.
 * `title` goes in front.
 */
export function headline(digest: DigestSnapshot, context: AlertRenderContext): string {
  const text = fullHeadline(digest, context)
  return context.maxHeadlineChars === undefined ? text : truncate(text, context.maxHeadlineChars)
}

function fullHeadline(digest: DigestSnapshot, context: AlertRenderContext): string {
  const prefix = context.title ? `${context.title} · ` : ''
  const only = digest.groups[0]
  if (digest.records === 1 && only && digest.groups.length === 1) {
    return `${prefix}${context.levelLabel(only.level)}: ${only.example.message}`
  }
  const kinds = digest.groups.length + (digest.other ? 1 : 0)
  const groups = digest.other ? `${plural(digest.groups.length, 'group')} and others` : plural(kinds, 'group')
  return `${prefix}${plural(digest.records, 'new alert')} in ${groups}`
}

/** "window 2026-11-23 15:27:41Z – 15:28:41Z · digest at the end of the window · sender webhook". */
export function windowLine(digest: DigestSnapshot, context: AlertRenderContext): string {
  const start = formatTime(digest.windowStart)
  let end = formatTime(digest.windowEnd)
  if (end.slice(0, 10) === start.slice(0, 10)) end = end.slice(11)
  return `window ${start} – ${end} · ${REASONS[digest.reason]} · sender ${context.sender}`
}

/** "ERROR ×10,000" (no count for a single occurrence). */
export function groupLabel(group: AlertGroupView, context: AlertRenderContext): string {
  return `${context.levelLabel(group.level)}${group.count > 1 ? ` ×${formatCount(group.count)}` : ''}`
}

/** "first … · last … · 9,999 new" or "at …". */
export function timeLine(group: AlertGroupView): string {
  if (group.count === 1) return `at ${formatTime(group.firstAt)}`
  const fresh = group.fresh === group.count ? '' : ` · ${formatCount(group.fresh)} new since the last post`
  return `first ${formatTime(group.firstAt)} · last ${formatTime(group.lastAt)}${fresh}`
}

/** "TypeError: Cannot read …" (only the type when its message is the log message already). */
export function errorLine(group: AlertGroupView): string | undefined {
  const { errorType, errorMessage, message } = group.example
  if (errorType === undefined && errorMessage === undefined) return undefined
  if (errorMessage === undefined || errorMessage === message) return errorType
  return errorType === undefined ? errorMessage : `${errorType}: ${errorMessage}`
}

/** Where the example came from and the custom group-by values: "req.url: /pay · host web-3 · pid 42". */
export function originLine(group: AlertGroupView, context: AlertRenderContext): string | undefined {
  const parts: string[] = []
  for (const path of context.extraPaths) {
    const value = group.fields[path]
    if (value !== undefined && value !== '') parts.push(`${path}: ${value}`)
  }
  const { name, hostname, pid } = group.example
  if (name !== undefined) parts.push(`logger ${name}`)
  if (hostname !== undefined) parts.push(`host ${hostname}`)
  if (pid !== undefined) parts.push(`pid ${pid}`)
  return parts.length > 0 ? parts.join(' · ') : undefined
}

/**
 * The lines about what a post does not show one by one: groups left out for size, and occurrences of
 * kinds beyond `maxGroups`. Every record a post carries is counted in it, shown or not.
 */
export function moreLines(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): string[] {
  const lines: string[] = []
  const { groups, occurrences } = layout.omitted
  if (groups > 0) lines.push(`… ${plural(groups, 'more group')} (${plural(occurrences, 'occurrence')}) left out to fit the message`)
  const other = digest.other
  if (other) {
    lines.push(
      `… ${plural(other.count, 'more occurrence')} of other kinds (over maxGroups = ${formatCount(context.maxGroups)}), ` +
        `${formatTime(other.firstAt)} – ${formatTime(other.lastAt)}`,
    )
  }
  return lines
}

/**
 * Stack frames of a group that fit in `maxChars` once encoded for the sink and joined by newlines
 * (`encode` escapes them; the "… N more frames" line included). Empty when not even one frame fits.
 */
export function framesWithin(
  group: AlertGroupView,
  stackLines: number,
  maxChars: number,
  encode: (text: string) => string,
): string[] {
  const { stack, stackOmitted } = group.example
  const shown = stack.slice(0, Math.max(0, stackLines)).map(encode)
  // Length of shown.join('\n'), kept up to date as frames go: re-joining after each would be quadratic.
  let joined = shown.reduce((n, line) => n + line.length, 0) + Math.max(0, shown.length - 1)
  while (shown.length > 0) {
    const left = stack.length - shown.length + stackOmitted
    const more = left > 0 ? encode(`… ${plural(left, 'more frame')}`) : undefined
    if (joined + (more === undefined ? 0 : more.length + 1) <= maxChars) return more === undefined ? shown : [...shown, more]
    const dropped = shown.pop() as string
    joined -= dropped.length + (shown.length > 0 ? 1 : 0)
  }
  return []
}
