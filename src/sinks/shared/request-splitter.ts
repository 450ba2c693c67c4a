import { DeliveryError } from '../../pool/delivery-error.js'
import type { DeliveryResult, RecordRejection } from '../sink.js'

/** Sends the records at `indexes` (of the batch) as one request; may resolve with a partial outcome, indexed in `indexes`. */
export type SendPart = (indexes: readonly number[]) => Promise<void | DeliveryResult>

/** HTTP 413 Content Too Large: the server's body limit is below the batch. */
export const TOO_LARGE = 413

/**
 * Sends a batch of `count` records as one request and, when the server answers 413 (the body is over
 * its limit), in halves, each half split again while the server still finds it too large. A single
 * record the server refuses as too large fails for good (it never fits). Parts go one after the other,
 * within the one attempt (and its timeout).
 *
 * What the parts' answers say is gathered into one {@link DeliveryResult} on the batch's indexes: the
 * engine then settles what went, fails what was refused and retries only the rest. After a part fails
 * transiently (the server went away), the parts not sent yet are not tried now: they are retried with
 * it. When nothing went at all, the failure is thrown as it came, so that the whole batch is retried
 * with the server's `Retry-After`.
 */
export async function sendSplitting(count: number, send: SendPart): Promise<void | DeliveryResult> {
  const all = Array.from({ length: count }, (_, i) => i)
  try {
    return await send(all)
  } catch (error) {
    if (!tooLarge(error) || count === 0) throw error
    // A lone record: halves would be an empty request and the same record again, refused again.
    if (count === 1) return { rejected: [{ index: 0, error: `record too large for the server: ${message(error)}`, status: TOO_LARGE }] }
  }
  const rejected: RecordRejection[] = []
  const retry: RecordRejection[] = []
  const unnamed = { count: 0, errors: new Set<string>() }
  let accepted = 0
  let transient: unknown
  const pending: (readonly number[])[] = [all.slice(0, count >> 1), all.slice(count >> 1)]
  while (pending.length > 0) {
    const part = pending.shift() as readonly number[]
    if (transient !== undefined) {
      for (const index of part) retry.push({ index, error: 'not sent: an earlier part of the batch failed' })
      continue
    }
    try {
      const result = await send(part)
      const named = gather(part, result ?? {}, rejected, retry, unnamed)
      accepted += part.length - named
    } catch (error) {
      if (tooLarge(error) && part.length > 1) {
        const half = part.length >> 1
        pending.unshift(part.slice(0, half), part.slice(half))
      } else if (tooLarge(error) || (error instanceof DeliveryError && error.permanent)) {
        const status = error instanceof DeliveryError ? error.status : undefined
        const reason = part.length === 1 && tooLarge(error) ? `record too large for the server: ${message(error)}` : message(error)
        for (const index of part) rejected.push({ index, error: reason, status })
      } else {
        transient = error
        for (const index of part) retry.push({ index, error: message(error) })
      }
    }
  }
  // Nothing went and nothing was refused: a plain failure of the whole batch, with its Retry-After.
  if (transient !== undefined && accepted === 0 && rejected.length === 0 && unnamed.count === 0) throw transient
  return {
    rejected,
    retry,
    rejectedCount: unnamed.count,
    ...(unnamed.errors.size > 0 ? { error: [...unnamed.errors].join('; ') } : {}),
  }
}

/** Adds a part's outcome (indexed in `part`) to the batch's; returns how many of the part's records it names or counts. */
function gather(
  part: readonly number[],
  result: DeliveryResult,
  rejected: RecordRejection[],
  retry: RecordRejection[],
  unnamed: { count: number; errors: Set<string> },
): number {
  let named = 0
  for (const [list, into] of [
    [result.rejected, rejected],
    [result.retry, retry],
  ] as const) {
    for (const entry of list ?? []) {
      const index = part[entry.index]
      if (index === undefined) continue
      into.push({ ...entry, index })
      named++
    }
  }
  const count = Math.min(Math.max(0, Math.floor(result.rejectedCount ?? 0)), part.length - named)
  if (count > 0) {
    unnamed.count += count
    if (result.error) unnamed.errors.add(result.error)
  }
  return named + count
}

function tooLarge(error: unknown): boolean {
  return error instanceof DeliveryError && error.status === TOO_LARGE
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
