import type { LogRecord } from '../../input/record.js'
import {
  errorTypeOf,
  readExample,
  readPath,
  valueText,
  recordTime,
  messageOf,
  type AlertExample,
  type AlertFieldOptions,
} from './alert-fields.js'

/** Why a post is made. */
export type PostReason =
  /** The first alert after a quiet spell, posted at once. */
  | 'first'
  /** A record at or above `flushLevel` arrived: what was collected goes at once. */
  | 'flushLevel'
  /** The window ended with something collected. */
  | 'window'
  /** The sender is closing. */
  | 'close'

/** One group of alike records in a post. */
export interface AlertGroupView {
  /** The group's key (its field values, joined). */
  readonly key: string
  /** The values the group is keyed on, by field path (by default level, message and error type). */
  readonly fields: Readonly<Record<string, string>>
  /** Highest level among its occurrences. */
  readonly level: number
  /** Occurrences in the current window, including ones an earlier post of the window carried. */
  readonly count: number
  /** Occurrences this post carries: not posted before. */
  readonly fresh: number
  /** Time of the first and the last occurrence in the window (ms since epoch). */
  readonly firstAt: number
  readonly lastAt: number
  /** The window's first occurrence, in detail. */
  readonly example: AlertExample
}

/** Occurrences of groups beyond `maxGroups`: counted, never dropped, but not told apart. */
export interface OtherAlerts {
  readonly count: number
  readonly fresh: number
  readonly firstAt: number
  readonly lastAt: number
  readonly level: number
}

/** What one post carries: the groups with new occurrences, as they stand when the post is made. */
export interface DigestSnapshot {
  readonly reason: PostReason
  /** The window the post belongs to (ms since epoch). */
  readonly windowStart: number
  readonly windowEnd: number
  /** When the post was made. */
  readonly at: number
  /** Groups with occurrences not posted before, most severe first, then most frequent. */
  readonly groups: readonly AlertGroupView[]
  /** Occurrences beyond `maxGroups`, when some are new. */
  readonly other: OtherAlerts | undefined
  /** Log records the post carries (each is counted in exactly one post). */
  readonly records: number
  /** Bytes of those records' lines. */
  readonly bytes: number
  /** Highest level among them. */
  readonly level: number
}

/** Options of {@link AlertDigest}. */
export interface AlertDigestOptions extends AlertFieldOptions {
  /** Field paths records are grouped by; undefined: level, message and error type. */
  readonly groupBy: readonly string[] | undefined
  /** Most groups per window; later kinds are counted as other. */
  readonly maxGroups: number
}

interface Group {
  readonly key: string
  readonly fields: Readonly<Record<string, string>>
  level: number
  count: number
  fresh: number
  firstAt: number
  lastAt: number
  readonly example: AlertExample
}

interface Other {
  count: number
  fresh: number
  firstAt: number
  lastAt: number
  level: number
}

/** How a record was taken in. */
export type AddOutcome = 'new' | 'grouped' | 'other'

/**
 * The alerts of the current window, grouped by key. Memory is bounded: at most `maxGroups` groups,
 * each holding counters and one example; occurrences of further kinds go to one "other" bucket.
 */
export class AlertDigest {
  readonly #options: AlertDigestOptions
  readonly #groups = new Map<string, Group>()
  #other: Other | undefined
  #pending = 0
  #pendingBytes = 0

  constructor(options: AlertDigestOptions) {
    this.#options = options
  }

  /** Records taken in and not yet carried by a post. */
  get pending(): number {
    return this.#pending
  }

  /** Bytes of the pending records' lines. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** Groups in the current window. */
  get groups(): number {
    return this.#groups.size
  }

  /** Takes a record in (its `value()` is parsed here). */
  add(record: LogRecord, arrival: number): AddOutcome {
    let value: Record<string, unknown> | undefined
    try {
      value = record.value()
    } catch {
      value = undefined
    }
    // A hand-made record whose line is not a JSON object (not JSON, or `null`, `42`): it still
    // counts, under its raw text.
    if (value === null || typeof value !== 'object' || Array.isArray(value)) value = { [this.#options.messageKey]: record.line }
    this.#pending++
    this.#pendingBytes += record.bytes
    const fields = this.#keyFields(record, value)
    const key = JSON.stringify(Object.values(fields))
    const time = recordTime(value, arrival)
    const group = this.#groups.get(key)
    if (group) {
      bump(group, record, time)
      return 'grouped'
    }
    if (this.#groups.size >= this.#options.maxGroups) {
      this.#other ??= { count: 0, fresh: 0, firstAt: time, lastAt: time, level: record.level }
      bump(this.#other, record, time)
      return 'other'
    }
    const created: Group = {
      key,
      fields,
      level: record.level,
      count: 0,
      fresh: 0,
      firstAt: time,
      lastAt: time,
      example: readExample(value, arrival, this.#options),
    }
    bump(created, record, time)
    this.#groups.set(key, created)
    return 'new'
  }

  /**
   * What a post made now carries: every group with new occurrences. Marks them as posted (the counts
   * of the window stay). Undefined when nothing is pending.
   */
  take(reason: PostReason, window: { start: number; end: number }, at: number): DigestSnapshot | undefined {
    if (this.#pending === 0) return undefined
    const groups: AlertGroupView[] = []
    let level = Number.NEGATIVE_INFINITY
    for (const group of this.#groups.values()) {
      if (group.fresh === 0) continue
      groups.push({
        key: group.key,
        fields: group.fields,
        level: group.level,
        count: group.count,
        fresh: group.fresh,
        firstAt: group.firstAt,
        lastAt: group.lastAt,
        example: group.example,
      })
      if (group.level > level) level = group.level
      group.fresh = 0
    }
    groups.sort((a, b) => b.level - a.level || b.count - a.count || a.firstAt - b.firstAt)
    let other: OtherAlerts | undefined
    const bucket = this.#other
    if (bucket && bucket.fresh > 0) {
      other = { count: bucket.count, fresh: bucket.fresh, firstAt: bucket.firstAt, lastAt: bucket.lastAt, level: bucket.level }
      if (bucket.level > level) level = bucket.level
      bucket.fresh = 0
    }
    const snapshot: DigestSnapshot = {
      reason,
      windowStart: window.start,
      windowEnd: window.end,
      at,
      groups,
      other,
      records: this.#pending,
      bytes: this.#pendingBytes,
      level,
    }
    this.#pending = 0
    this.#pendingBytes = 0
    return snapshot
  }

  /** Starts a new window: forgets every group (pending records must have been taken first). */
  clear(): void {
    this.#groups.clear()
    this.#other = undefined
  }

  /** The values a record is grouped by, by path. */
  #keyFields(record: LogRecord, value: Record<string, unknown>): Record<string, string> {
    const { groupBy, messageKey, errorKey } = this.#options
    if (groupBy === undefined) {
      // The default: level + message + error type, where the type is what pino's err serializer
      // writes (`type`), or an error's `name` as other serializers do.
      return {
        level: String(record.level),
        [messageKey]: messageOf(value, this.#options),
        [`${errorKey}.type`]: valueText(errorTypeOf(value[errorKey])),
      }
    }
    const fields: Record<string, string> = {}
    for (const path of groupBy) fields[path] = valueText(readPath(value, path))
    return fields
  }
}

function bump(group: Group | Other, record: LogRecord, time: number): void {
  group.count++
  group.fresh++
  if (record.level > group.level) group.level = record.level
  if (time < group.firstAt) group.firstAt = time
  if (time > group.lastAt) group.lastAt = time
}
