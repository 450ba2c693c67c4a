/**
 * Reads a `_bulk` answer into the outcome of each record sent. Elasticsearch answers 200 even when
 * items failed: `{"errors":true,"items":[{"create":{"status":400,"error":{…}}},…]}`, one item per
 * action, in the order sent (the same for OpenSearch).
 */
import { DeliveryError } from '../../pool/delivery-error.js'
import { isTransientStatus } from '../../pool/retry-policy.js'
import type { DeliveryResult, RecordRejection } from '../sink.js'
import type { ElasticsearchOpType } from './bulk-body.js'

/** What the answer needs from the sink: how to quote the server's text (secrets cut out) and where from. */
export interface AnswerContext {
  readonly opType: ElasticsearchOpType
  /** The server's scheme and host, for messages. */
  readonly origin: string
  /** Makes server text fit for a message (whitespace folded, credentials cut out, bounded). */
  readonly quote: (text: string) => string
}

/**
 * `{"errors":false` at the top level, before `items` (Elasticsearch 8 writes `errors` first, 7 and
 * OpenSearch after `took`): the common answer, read without parsing a body that names every item.
 */
const ALL_WENT = /^\s*\{\s*(?:"(?:took|ingest_took)"\s*:\s*-?\d+(?:\.\d+)?\s*,\s*)*"errors"\s*:\s*false\s*[,}]/

/** Looked at by the quick check: `errors` comes within the first few fields. */
const HEAD_BYTES = 256

/** HTTP 409: with `create`, the `_id` exists: this record was taken by an earlier attempt. */
const CONFLICT = 409

/**
 * The outcome of the `count` records of a request, from the server's 2xx answer: nothing when all
 * went; else those to retry (429 and 5xx items) and those refused for good (other 4xx items), named by
 * their position in the request. Throws a transient DeliveryError when the answer does not line up
 * with the request (not JSON, no `items`, a different count): which records went is then unknown, so
 * the whole request goes again, which the deterministic `_id`s make harmless with `create` (the ones
 * taken answer 409, counted delivered).
 */
export function readBulkAnswer(body: Buffer, count: number, context: AnswerContext): DeliveryResult | undefined {
  if (ALL_WENT.test(body.toString('latin1', 0, HEAD_BYTES))) return undefined
  let answer: unknown
  try {
    answer = JSON.parse(body.toString('utf8'))
  } catch {
    throw unknownOutcome(context, 'is not JSON')
  }
  if (typeof answer !== 'object' || answer === null) throw unknownOutcome(context, 'is not a JSON object')
  const { errors, items } = answer as { errors?: unknown; items?: unknown }
  if (errors === false) return undefined
  if (!Array.isArray(items)) throw unknownOutcome(context, 'has no "items"')
  if (items.length !== count) throw unknownOutcome(context, `names ${items.length} items for ${count} records sent`)
  const rejected: RecordRejection[] = []
  const retry: RecordRejection[] = []
  for (let index = 0; index < count; index++) {
    const item = itemOf(items[index])
    if (item === undefined) throw unknownOutcome(context, `has an item without a status (item ${index})`)
    const { status } = item
    if (status >= 200 && status < 300) continue
    if (status === CONFLICT && context.opType === 'create') continue
    const entry = { index, status, error: context.quote(reasonOf(item.error)) }
    if (isTransientStatus(status)) retry.push(entry)
    else rejected.push(entry)
  }
  return rejected.length === 0 && retry.length === 0 ? undefined : { rejected, retry }
}

function unknownOutcome(context: AnswerContext, what: string): DeliveryError {
  return new DeliveryError(`the bulk answer from ${context.origin} ${what}: outcome unknown, sending the request again`)
}

/** `{ "<op>": { status, error? } }`, whatever the op is called in the answer. */
function itemOf(item: unknown): { status: number; error: unknown } | undefined {
  if (typeof item !== 'object' || item === null) return undefined
  const values = Object.values(item as Record<string, unknown>)
  if (values.length !== 1) return undefined
  const result = values[0] as { status?: unknown; error?: unknown } | null
  if (typeof result !== 'object' || result === null || typeof result.status !== 'number' || !Number.isInteger(result.status)) return undefined
  return { status: result.status, error: result.error }
}

/** `type: reason` of an item's error, and of its cause (a mapping error says what failed in `caused_by`). */
export function reasonOf(error: unknown): string {
  if (typeof error === 'string') return error
  if (typeof error !== 'object' || error === null) return 'no reason given'
  const { type, reason, caused_by: cause } = error as { type?: unknown; reason?: unknown; caused_by?: unknown }
  let text = [type, reason].filter((part) => typeof part === 'string' && part !== '').join(': ') || 'no reason given'
  if (typeof cause === 'object' && cause !== null) {
    const inner = reasonOf(cause)
    if (inner !== 'no reason given') text += ` (caused by ${inner})`
  }
  return text
}
