import type { AlertGroupView, DigestSnapshot } from './alert-digest.js'
import type { AlertLayout, AlertRenderContext } from './alert-text.js'

/** Body formats of the webhook alert sender. */
export type AlertFormatName = 'slack' | 'discord' | 'teams' | 'json'

/** How one sink wants an alert: its payload, and the limits a payload must stay within. */
export interface AlertFormat {
  readonly name: AlertFormatName
  /**
   * Largest body (UTF-8 bytes) sent when `maxBodyBytes` is not set; undefined when the sink's own
   * structural limits are tighter than any byte limit.
   */
  readonly defaultMaxBodyBytes: number | undefined
  /** The payload showing `layout`. Per-field limits are met here, by cutting text. */
  build(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): unknown
  /** Whether a payload meets the sink's limits on the whole message (field counts, total characters). */
  fits(payload: unknown): boolean
  /**
   * Most groups one message can show at all (one block or embed each), so that fitting never tries
   * more. @default no limit besides `fits` and the byte limit
   */
  readonly maxShownGroups?: number
}

/** A body ready to post. */
export interface RenderedAlert {
  readonly body: string
  /** UTF-8 bytes of the body. */
  readonly bytes: number
  readonly shownGroups: number
  readonly omittedGroups: number
  /** Most stack frames shown per group. */
  readonly stackLines: number
}

/** Stack frames per group when full stacks do not fit: the top frames usually say where. */
export const SHORT_STACK_LINES = 3

/**
 * Renders a digest within the sink's limits. Detail goes before groups: stacks are first cut to
 * {@link SHORT_STACK_LINES} frames, then left out; only then are groups left out, the least severe and
 * least frequent first, summed up in a "… N more" line. The shape that shows the most groups wins;
 * between equals, the one with more detail. A post is never made larger than its limits: the sink
 * would refuse it.
 */
export function renderAlert(
  format: AlertFormat,
  digest: DigestSnapshot,
  context: AlertRenderContext,
  maxBodyBytes: number | undefined,
): RenderedAlert {
  const groups = digest.groups
  const deepest = groups.reduce((n, g) => Math.max(n, g.example.stack.length), 0)
  const tiers = [...new Set([deepest, Math.min(deepest, SHORT_STACK_LINES), 0])]
  let best: RenderedAlert | undefined
  for (const stackLines of tiers) {
    const attempt = (shown: number): RenderedAlert | undefined => {
      const layout = layoutOf(groups, shown, stackLines)
      const payload = format.build(digest, layout, context)
      if (!format.fits(payload)) return undefined
      let body: string
      try {
        body = JSON.stringify(payload)
      } catch {
        // Past V8's longest string (thousands of groups with the largest stacks allowed): too big.
        return undefined
      }
      const bytes = Buffer.byteLength(body)
      if (maxBodyBytes !== undefined && bytes > maxBodyBytes) return undefined
      return { body, bytes, shownGroups: shown, omittedGroups: groups.length - shown, stackLines }
    }
    // Groups past what the sink can show at all are never tried: each try builds every shown group.
    const cap = Math.min(groups.length, format.maxShownGroups ?? groups.length)
    const all = cap === groups.length ? attempt(groups.length) : undefined
    if (all) return all
    // Without the "… N more" line the sizes are not monotonic in the number of groups; with it they
    // are, so a binary search finds the most groups that fit.
    let lo = 0
    let hi = cap === groups.length ? groups.length - 1 : cap
    let found: RenderedAlert | undefined
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const fitted = attempt(mid)
      if (fitted) {
        found = fitted
        lo = mid + 1
      } else hi = mid - 1
    }
    if (found && (!best || found.shownGroups > best.shownGroups)) best = found
  }
  if (best) return best
  // Not even the headline fits (a long message in multi-byte characters, a small maxBodyBytes): the
  // headline is cut until the body fits. The shortest cut is the smallest body there is.
  let smallest: RenderedAlert | undefined
  for (const maxHeadlineChars of [500, 200, 80, 40, 20]) {
    const payload = format.build(digest, layoutOf(groups, 0, 0), { ...context, maxHeadlineChars })
    const body = JSON.stringify(payload)
    smallest = { body, bytes: Buffer.byteLength(body), shownGroups: 0, omittedGroups: groups.length, stackLines: 0 }
    if (maxBodyBytes === undefined || smallest.bytes <= maxBodyBytes) break
  }
  return smallest as RenderedAlert
}

function layoutOf(groups: readonly AlertGroupView[], shown: number, stackLines: number): AlertLayout {
  let occurrences = 0
  let records = 0
  for (let i = shown; i < groups.length; i++) {
    const group = groups[i] as AlertGroupView
    occurrences += group.count
    records += group.fresh
  }
  return { shown: groups.slice(0, shown), omitted: { groups: groups.length - shown, occurrences, records }, stackLines }
}
