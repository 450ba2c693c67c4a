/**
 * A generic JSON body with the digest as structured data, for an endpoint of your own (an incident
 * tool, a function that fans out to pagers). Times are ISO 8601; counts are numbers.
 */
import type { AlertGroupView, DigestSnapshot, PostReason } from '../alert-digest.js'
import type { AlertFormat } from '../alert-format.js'
import { headline, isoTime, type AlertLayout, type AlertRenderContext } from '../alert-text.js'

/** Default body limit of the `json` format (64 KiB). */
export const JSON_DEFAULT_MAX_BODY_BYTES = 65_536

/** One group in the JSON body. */
export interface JsonAlertGroup {
  /** The values the group is keyed on, by field path. */
  key: Record<string, string>
  level: number
  levelLabel: string
  message: string
  /** Occurrences in the window so far. */
  count: number
  /** Of those, the ones this post carries (not posted before). */
  new: number
  firstAt: string
  lastAt: string
  example: {
    time: string
    error?: { type?: string; message?: string; stack: string[]; stackOmitted: number }
    name?: string
    hostname?: string
    pid?: number
  }
}

/** The JSON body. */
export interface JsonAlertPayload {
  source: 'pino-courier'
  sender: string
  title?: string
  /** A one-line summary (the chat formats' headline). */
  summary: string
  reason: PostReason
  at: string
  window: { start: string; end: string }
  /** Log records this post carries: each record is counted in exactly one post. */
  records: number
  groups: JsonAlertGroup[]
  /** Groups left out to stay under `maxBodyBytes`: they are counted here, not lost. */
  omitted: { groups: number; occurrences: number; records: number }
  /** Occurrences of kinds beyond `maxGroups`. */
  other: { count: number; new: number; firstAt: string; lastAt: string; level: number } | null
}

function group(g: AlertGroupView, layout: AlertLayout, context: AlertRenderContext): JsonAlertGroup {
  const { example } = g
  const frames = example.stack.slice(0, Math.max(0, layout.stackLines))
  const hasError = example.errorType !== undefined || example.errorMessage !== undefined || example.stack.length > 0
  return {
    key: { ...g.fields },
    level: g.level,
    levelLabel: context.levelLabel(g.level).toLowerCase(),
    message: example.message,
    count: g.count,
    new: g.fresh,
    firstAt: isoTime(g.firstAt),
    lastAt: isoTime(g.lastAt),
    example: {
      time: isoTime(example.time),
      ...(hasError
        ? {
            error: {
              ...(example.errorType !== undefined ? { type: example.errorType } : {}),
              ...(example.errorMessage !== undefined ? { message: example.errorMessage } : {}),
              stack: frames,
              stackOmitted: example.stack.length - frames.length + example.stackOmitted,
            },
          }
        : {}),
      ...(example.name !== undefined ? { name: example.name } : {}),
      ...(example.hostname !== undefined ? { hostname: example.hostname } : {}),
      ...(example.pid !== undefined ? { pid: example.pid } : {}),
    },
  }
}

export const jsonFormat: AlertFormat = {
  name: 'json',
  defaultMaxBodyBytes: JSON_DEFAULT_MAX_BODY_BYTES,

  build(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): JsonAlertPayload {
    const { other } = digest
    return {
      source: 'pino-courier',
      sender: context.sender,
      ...(context.title !== undefined ? { title: context.title } : {}),
      summary: headline(digest, context),
      reason: digest.reason,
      at: isoTime(digest.at),
      window: { start: isoTime(digest.windowStart), end: isoTime(digest.windowEnd) },
      records: digest.records,
      groups: layout.shown.map((g) => group(g, layout, context)),
      omitted: { ...layout.omitted },
      other: other
        ? { count: other.count, new: other.fresh, firstAt: isoTime(other.firstAt), lastAt: isoTime(other.lastAt), level: other.level }
        : null,
    }
  },

  // Only the byte limit applies.
  fits: () => true,
}
