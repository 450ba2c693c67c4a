import type { DeliveryResult, RecordRejection } from '../sinks/sink.js'
import { DeliveryError } from './delivery-error.js'

/** A {@link DeliveryResult} read against its batch: which records (by index) went where. */
export interface SplitOutcome {
  /** Indexes of the records the sink accepted (including, by count only, those it refused unnamed). */
  readonly accepted: number[]
  /** Named and refused for good. */
  readonly rejected: { readonly indexes: number[]; readonly message: string; readonly status: number | undefined }
  /** Refused for good without names: counted out of `accepted`, which they are part of. */
  readonly unnamed: { readonly count: number; readonly message: string }
  /** Indexes (ascending) of the records to try again, and the error that stands for them in the retry. */
  readonly retry: { readonly indexes: number[]; readonly error: DeliveryError | undefined }
}

/** Most distinct reasons quoted in a failure message; the rest are counted. */
const MAX_REASONS = 3

/**
 * Reads what a sink said about part of a batch of `count` records. Indexes outside the batch, not
 * whole numbers or named twice are ignored (a record named both rejected and to retry is rejected); a
 * count of unnamed rejections is clamped to the records not named. Whatever the sink says, every
 * record of the batch ends in exactly one of the parts: the split is made on the engine's own count,
 * not on the records array a sink may have changed.
 */
export function splitOutcome(count: number, result: DeliveryResult): SplitOutcome {
  const fate = new Uint8Array(count) // 0 accepted, 1 rejected, 2 retry
  const rejected = pick(result.rejected, fate, 1)
  const retry = pick(result.retry, fate, 2)
  const accepted: number[] = []
  const refused: number[] = []
  const again: number[] = []
  for (let i = 0; i < count; i++) {
    if (fate[i] === 1) refused.push(i)
    else if (fate[i] === 2) again.push(i)
    else accepted.push(i)
  }
  const claimed = typeof result.rejectedCount === 'number' && result.rejectedCount > 0 ? Math.floor(result.rejectedCount) : 0
  const unnamed = Math.min(claimed, accepted.length)
  const sinkSays = typeof result.error === 'string' && result.error !== '' ? `: ${result.error}` : ''
  return {
    accepted,
    rejected: {
      indexes: refused,
      message: `${refused.length} of ${count} records refused by the sink: ${reasons(rejected)}`,
      status: rejected.find((r) => r.status !== undefined)?.status,
    },
    unnamed: { count: unnamed, message: `${unnamed} of ${count} records refused by the sink (not named)${sinkSays}` },
    retry: {
      indexes: again,
      error:
        again.length === 0
          ? undefined
          : new DeliveryError(`${again.length} of ${count} records to try again: ${reasons(retry)}`, {
              status: retry.find((r) => r.status !== undefined)?.status,
            }),
    },
  }
}

/** Whether a value a sink resolved with says anything about part of the batch. */
export function isPartial(result: unknown): result is DeliveryResult {
  if (typeof result !== 'object' || result === null) return false
  const r = result as DeliveryResult
  return (
    (Array.isArray(r.rejected) && r.rejected.length > 0) ||
    (Array.isArray(r.retry) && r.retry.length > 0) ||
    (typeof r.rejectedCount === 'number' && r.rejectedCount > 0)
  )
}

/** The valid entries of `list` whose record has no fate yet, marked with `mark`. */
function pick(list: readonly RecordRejection[] | undefined, fate: Uint8Array, mark: number): RecordRejection[] {
  const out: RecordRejection[] = []
  if (!Array.isArray(list)) return out
  for (const entry of list) {
    const index = (entry as RecordRejection | null)?.index
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= fate.length || fate[index as number] !== 0) continue
    fate[index as number] = mark
    out.push(entry)
  }
  return out
}

/** The distinct reasons of some rejections, most frequent first: "mapper_parsing_exception (400) x3; …". */
function reasons(list: readonly RecordRejection[]): string {
  const counts = new Map<string, number>()
  for (const { error, status } of list) {
    const text = `${typeof error === 'string' && error !== '' ? error : 'no reason given'}${status === undefined ? '' : ` (${status})`}`
    counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1])
  const shown = sorted.slice(0, MAX_REASONS).map(([text, n]) => (n > 1 ? `${text} x${n}` : text))
  const more = sorted.length - MAX_REASONS
  return shown.join('; ') + (more > 0 ? `; and ${more} other reason(s)` : '')
}
