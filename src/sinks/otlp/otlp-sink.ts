import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { LogRecord } from '../../input/record.js'
import { DeliveryError } from '../../pool/delivery-error.js'
import { HttpPoster } from '../http/http-post.js'
import type { RecordFields } from '../shared/record-fields.js'
import { sendSplitting, TOO_LARGE } from '../shared/request-splitter.js'
import type { Batch, DeliveryContext, DeliveryResult, Sink } from '../sink.js'
import { readPartialSuccess, readStatusMessage } from './otlp-answer.js'
import type { OtlpSettings } from './otlp-env.js'
import { OtlpJsonEncoder } from './otlp-json.js'
import { RecordMapper } from './otlp-mapping.js'
import { OTLP_LOGS_PATH, OTLP_SCOPE_NAME } from './otlp-options.js'
import { OtlpProtobufEncoder, type AttributeValue } from './otlp-protobuf.js'

const gzip = promisify(gzipCallback)

/**
 * The statuses OTLP/HTTP says to retry (the spec's "retryable response codes"). Every other 4xx and
 * 5xx is permanent: a collector answers 400 for a request it cannot parse, 500 for one it will never
 * take, and sending either again changes nothing. A request too large (413, or the collector's own
 * 400, see {@link COLLECTOR_TOO_LARGE}) is split into halves first (sendSplitting).
 */
export const OTLP_RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/**
 * Largest answer read: an ExportLogsServiceResponse is a count and a message, a google.rpc.Status
 * much the same; a collector's is a few bytes. Anything bigger is not one (an HTML page from a
 * proxy). A 2xx answer over it, or one that breaks off, still counts as delivered (see #send).
 */
export const MAX_OTLP_ANSWER_BYTES = 1024 * 1024

/**
 * What the OpenTelemetry Collector answers for a body over its `max_request_body_size`: not 413, but
 * 400 with this message (Go's http.MaxBytesReader error, through the receiver's readAndCloseBody).
 * Such a 400 is read as a 413, so that the batch is split.
 */
export const COLLECTOR_TOO_LARGE = 'request body too large'

/** Most of an error answer decoded for its message: far more than a message quotes. */
const MAX_ERROR_TEXT = 16 * 1024

/** Where OTLP/HTTP log endpoints end; a 404 from a URL ending elsewhere says so. */
const NOT_FOUND_HINT =
  'OTLP/HTTP log endpoints usually end in /v1/logs (Loki 3: url http://loki:3100/otlp/v1/logs; Grafana Cloud: https://otlp-gateway-<zone>.grafana.net/otlp/v1/logs)'

/** The statuses whose answer #send reads itself: every failure (for its google.rpc.Status). */
const failureStatus = (status: number): boolean => status >= 400

/**
 * Sends each batch as one ExportLogsServiceRequest (protobuf or JSON) and reads the collector's
 * answer: `partialSuccess.rejectedLogRecords` are counted failed, with its `errorMessage`, and not
 * sent again; 429/502/503/504 and network errors are retried (with `Retry-After`); a 413 splits the
 * batch; any other status fails the batch for good.
 */
export class OtlpSink implements Sink {
  readonly poster: HttpPoster
  readonly #encoder: OtlpProtobufEncoder | OtlpJsonEncoder
  readonly #headers: Readonly<Record<string, string>>
  readonly #gzip: boolean
  readonly #json: boolean
  /** Whether the endpoint's path ends in /v1/logs (else a 404 hints that it should). */
  readonly #standardPath: boolean

  constructor(settings: OtlpSettings, fields: RecordFields) {
    const resource = settings.resource as Readonly<Record<string, AttributeValue>>
    const mapper = new RecordMapper(fields, resource)
    const scope = { name: OTLP_SCOPE_NAME }
    this.#encoder =
      settings.protocol === 'http/json' ? new OtlpJsonEncoder(mapper, resource, scope) : new OtlpProtobufEncoder(mapper, resource, scope)
    const headers: Record<string, string> = {
      'content-type': settings.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      'user-agent': 'pino-courier',
    }
    if (settings.gzip) headers['content-encoding'] = 'gzip'
    this.#headers = { ...headers, ...settings.headers }
    this.#gzip = settings.gzip
    this.#json = settings.protocol === 'http/json'
    this.#standardPath = new URL(settings.url).pathname.endsWith(OTLP_LOGS_PATH)
    // The standard path's words ("logs") are not secrets: collector messages keep them.
    this.poster = new HttpPoster({ url: settings.url, publicPath: OTLP_LOGS_PATH })
  }

  deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    const records = batch.records
    const everything = records.length
    return sendSplitting(everything, (indexes) =>
      this.#send(records, indexes.length === everything ? undefined : indexes, indexes.length, signal, batch.bytes),
    )
  }

  close(): Promise<void> {
    return this.poster.close()
  }

  /** The request body for those records (all of them without `indexes`), encoded and gzipped as set. */
  async body(records: readonly LogRecord[], indexes?: readonly number[], sizeHint = 0): Promise<Buffer> {
    const encoded =
      this.#encoder instanceof OtlpProtobufEncoder ? this.#encoder.encode(records, indexes, sizeHint) : this.#encoder.encode(records, indexes)
    return this.#gzip ? gzip(encoded) : encoded
  }

  async #send(
    records: readonly LogRecord[],
    indexes: readonly number[] | undefined,
    count: number,
    signal: AbortSignal,
    sizeHint: number,
  ): Promise<void | DeliveryResult> {
    const body = await this.body(records, indexes, indexes ? 0 : sizeHint)
    const headers = { ...this.#headers, 'content-length': String(body.length) }
    let answer: { status: number; body: Buffer; retryAfterMs: number | undefined }
    try {
      answer = await this.poster.postForAnswer(body, headers, signal, { maxBytes: MAX_OTLP_ANSWER_BYTES, answers: failureStatus })
    } catch (error) {
      // A 2xx whose answer broke off or ran over MAX_OTLP_ANSWER_BYTES: the collector took the
      // request, and the OTLP spec says a client MUST NOT retry it. It counts as delivered, with
      // whatever partial success the answer may have named unknown (a DeliveryResult cannot say
      // "unknown", and the sender has no warning channel: this comment is where it is said).
      if (error instanceof DeliveryError && error.status !== undefined && error.status >= 200 && error.status < 300) return
      // A failure status whose answer broke off: the status alone decides, without a message.
      if (error instanceof DeliveryError && error.status !== undefined && failureStatus(error.status)) throw this.#failure(error.status, undefined, undefined, headers)
      throw otlpFailure(error)
    }
    if (failureStatus(answer.status)) throw this.#failure(answer.status, answer.body, answer.retryAfterMs, headers)
    const partial = readPartialSuccess(answer.body, this.#json)
    // rejected_log_records 0 with a message is a warning by the spec: the records were all taken, and
    // the warning is dropped (there is no channel for it; the stats count the records delivered).
    if (!partial || partial.rejected === 0) return
    const reason = partial.errorMessage ? this.poster.quote(partial.errorMessage, headers) : 'no reason given'
    return {
      rejectedCount: Math.min(partial.rejected, count),
      error: `the collector at ${this.poster.origin} rejected ${partial.rejected} of ${count} log records: ${reason}`,
    }
  }

  /**
   * The DeliveryError for a 4xx/5xx answer, by OTLP's rules: 429/502/503/504 retried (with
   * `Retry-After`), a request too large (413, or the collector's 400, see COLLECTOR_TOO_LARGE) marked
   * 413 for sendSplitting, every other status permanent. The message quotes the google.rpc.Status
   * message the collector sends (decoded: the raw protobuf is unreadable), or else the body as text,
   * with secrets cut out; a 404 from an endpoint not ending in /v1/logs adds where it usually ends.
   */
  #failure(status: number, body: Buffer | undefined, retryAfterMs: number | undefined, headers: Record<string, string>): DeliveryError {
    const text = body === undefined ? undefined : (readStatusMessage(body, this.#json) ?? body.toString('utf8', 0, Math.min(body.length, MAX_ERROR_TEXT)))
    const detail = text ? this.poster.quote(text, headers) : ''
    const hint = status === 404 && !this.#standardPath ? ` (${NOT_FOUND_HINT})` : ''
    const message = `HTTP ${status} from ${this.poster.origin}${detail ? `: ${detail}` : ''}${hint}`
    // Marked 413 (the splitter's signal) while the message keeps the status the collector gave.
    const tooLarge = status === TOO_LARGE || (status === 400 && text !== undefined && text.includes(COLLECTOR_TOO_LARGE))
    if (tooLarge) return new DeliveryError(message, { status: TOO_LARGE, permanent: true })
    return new DeliveryError(message, { status, permanent: !OTLP_RETRYABLE_STATUSES.has(status), retryAfterMs })
  }
}

/**
 * A failed request as OTLP's rules have it: the poster treats 408, 500 and the other 5xx as
 * transient (as plain HTTP endpoints want); OTLP retries only 429/502/503/504, so the rest become
 * permanent here, keeping the message and status. Network errors, timeouts and a 2xx whose answer
 * broke off (outcome unknown) stay transient.
 */
export function otlpFailure(error: unknown): unknown {
  if (!(error instanceof DeliveryError) || error.status === undefined || error.permanent) return error
  const status = error.status
  if ((status >= 200 && status < 300) || OTLP_RETRYABLE_STATUSES.has(status)) return error
  return new DeliveryError(error.message, { status, permanent: true, cause: error })
}
