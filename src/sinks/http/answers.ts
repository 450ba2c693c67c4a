import { DeliveryError } from '../../pool/delivery-error.js'
import type { DeliveryResult, RecordRejection } from '../sink.js'

/**
 * What an endpoint's answer says about the records of one request, for endpoints whose answer can
 * refuse part of it. `read` gets the status and body (2xx, or a status `answers` let through), the
 * number of records sent (a function: counting makes a batch's records, which a reader may not need)
 * and `quote` (the sink's text made fit for a message: secrets cut out).
 */
export interface AnswerReader {
  /** Statuses besides 2xx whose body says which records went. */
  readonly answers?: (status: number) => boolean
  read(status: number, body: Buffer, count: () => number, quote: (text: string) => string, origin: string): void | DeliveryResult
}

/** HEC's "Incorrect index": the index is the sender's own, the same for every event of a request. */
const HEC_INCORRECT_INDEX = 7

/**
 * Splunk HTTP Event Collector. A 2xx (`{"text":"Success","code":0}`) took every event. A 400 that
 * names `invalid-event-number` N (0-based) stopped at event N: HEC indexed the events before it and
 * none from it on (a client resending the whole request duplicates them: moby/moby#35862, Vector's
 * vectordotdev/vector#11434). So the events before N are accepted, N is refused for good with HEC's
 * reason, and the rest is tried again; with "Incorrect index" (code 7), which every event of the
 * request shares, the rest is refused too. Any other 400 refuses the request as a whole. A 503
 * ("Server is busy", code 9) is retried whole with its Retry-After, like any 503: whether HEC kept
 * the events before an `invalid-event-number` there is not documented, and resending them is a
 * duplicate at worst, where counting them delivered could lose them.
 */
export const splunkHecAnswers: AnswerReader = {
  answers: (status) => status === 400,
  read(status, body, count, quote, origin) {
    if (status >= 200 && status < 300) return undefined
    const text = body.toString('utf8')
    const answer = parseObject(text)
    const failed = answer?.['invalid-event-number']
    const sent = count()
    const code = answer?.code
    const reason = `HEC ${typeof code === 'number' ? `code ${code}: ` : ''}${quote(typeof answer?.text === 'string' ? answer.text : text)}`
    if (typeof failed !== 'number' || !Number.isInteger(failed) || failed < 0 || failed >= sent) {
      throw new DeliveryError(`HTTP ${status} from ${origin}: ${reason}`, { status, permanent: true })
    }
    const rejected: RecordRejection[] = [{ index: failed, error: reason, status }]
    const retry: RecordRejection[] = []
    for (let index = failed + 1; index < sent; index++) {
      if (code === HEC_INCORRECT_INDEX) rejected.push({ index, error: reason, status })
      else retry.push({ index, error: `not indexed: HEC stopped at an earlier event (${reason})`, status })
    }
    return { rejected, retry }
  },
}

/**
 * Endpoints that answer a 2xx with a JSON count of the records they refused (Axiom's
 * `{"ingested":9,"failed":1,"failures":[{"error":…}]}`): that many are counted failed, with the
 * distinct `error` texts of its `failures` as the reason when it lists them, the answer otherwise.
 * An answer that is not JSON, or has no such count, took every record: the 2xx says so.
 */
export function rejectedCountAnswers(field: string): AnswerReader {
  return {
    read(_status, body, _count, quote) {
      const text = body.toString('utf8')
      const answer = parseObject(text)
      const refused = answer?.[field]
      if (typeof refused !== 'number' || !Number.isFinite(refused) || refused < 1) return undefined
      const reasons = new Set<string>()
      if (Array.isArray(answer?.failures)) {
        for (const failure of answer.failures as unknown[]) {
          const error = (failure as { error?: unknown } | null)?.error
          if (typeof error === 'string' && error !== '') reasons.add(error)
        }
      }
      return { rejectedCount: Math.floor(refused), error: quote(reasons.size > 0 ? [...reasons].join('; ') : text) }
    },
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
