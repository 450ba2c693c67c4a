import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { LogRecord } from '../../input/record.js'
import { DeliveryError } from '../../pool/delivery-error.js'
import { HttpPoster } from '../http/http-post.js'
import type { RecordFields } from '../shared/record-fields.js'
import { sendSplitting } from '../shared/request-splitter.js'
import type { Batch, DeliveryContext, DeliveryResult, Sink } from '../sink.js'
import { readPartialSuccess } from './otlp-answer.js'
import type { OtlpSettings } from './otlp-env.js'
import { OtlpJsonEncoder } from './otlp-json.js'
import { RecordMapper } from './otlp-mapping.js'
import { OTLP_SCOPE_NAME } from './otlp-options.js'
import { OtlpProtobufEncoder, type AttributeValue } from './otlp-protobuf.js'

const gzip = promisify(gzipCallback)

/**
 * The statuses OTLP/HTTP says to retry (the spec's "retryable response codes"). Every other 4xx and
 * 5xx is permanent: a collector answers 400 for a request it cannot parse, 500 for one it will never
 * take, and sending either again changes nothing. A 413 is split into halves first (sendSplitting).
 */
export const OTLP_RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/**
 * Largest answer read: an ExportLogsServiceResponse is a count and a message; a collector's is a few
 * bytes. Anything bigger is not one (an HTML page from a proxy with a 200): the outcome is then
 * unknown and the batch is tried again.
 */
export const MAX_OTLP_ANSWER_BYTES = 1024 * 1024

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
    this.poster = new HttpPoster({ url: settings.url })
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
    let answer: { body: Buffer }
    try {
      answer = await this.poster.postForAnswer(body, headers, signal, { maxBytes: MAX_OTLP_ANSWER_BYTES })
    } catch (error) {
      throw otlpFailure(error)
    }
    const partial = readPartialSuccess(answer.body)
    // rejected_log_records 0 with a message is a warning by the spec: the records were all taken.
    if (!partial || partial.rejected === 0) return
    const reason = partial.errorMessage ? this.poster.quote(partial.errorMessage, headers) : 'no reason given'
    return {
      rejectedCount: Math.min(partial.rejected, count),
      error: `the collector at ${this.poster.origin} rejected ${partial.rejected} of ${count} log records: ${reason}`,
    }
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
