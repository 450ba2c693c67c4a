import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { DeliveryError } from '../../pool/delivery-error.js'
import type { Batch, DeliveryContext, DeliveryResult, Sink } from '../sink.js'
import { endpointUrl } from '../shared/endpoint.js'
import { RecordFields } from '../shared/record-fields.js'
import { sendSplitting, TOO_LARGE } from '../shared/request-splitter.js'
import { rejectedCountAnswers, splunkHecAnswers, type AnswerReader } from './answers.js'
import { HttpPoster } from './http-post.js'
import { RecordBody, type AddedFields, type HttpBodyFormat, type SplunkHecOptions } from './record-body.js'

export type { AddedFields, HttpBodyFormat, SplunkHecOptions } from './record-body.js'

const gzip = promisify(gzipCallback)

/** Default of `idempotencyHeader`: the name of the IETF httpapi draft, used by Stripe and others. */
export const DEFAULT_IDEMPOTENCY_HEADER = 'idempotency-key'

/** Path of HEC's JSON event endpoint, added to a `splunk-hec` URL that has no path of its own. */
export const SPLUNK_HEC_PATH = '/services/collector/event'

const CONTENT_TYPES: Readonly<Record<HttpBodyFormat, string>> = {
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  'splunk-hec': 'application/json',
}

/** What the http sink needs of the sender's options. */
export interface HttpSinkOptions {
  url: string
  method?: 'POST' | 'PUT' | undefined
  format?: HttpBodyFormat | undefined
  headers?: Record<string, string> | undefined
  gzip?: boolean | undefined
  keepAliveTimeoutMs?: number | undefined
  idempotencyHeader?: string | false | undefined
  addFields?: AddedFields | undefined
  splunk?: SplunkHecOptions | undefined
  rejectedCountField?: string | undefined
  /** The logger's keys and levels, for the added fields and HEC's time. @default pino's defaults */
  fields?: RecordFields | undefined
}

/**
 * POSTs each batch as one body (NDJSON, a JSON array or HEC events), with the batch id as its
 * idempotency key. A 413 sends the batch again in halves (see sendSplitting), each half split again
 * while the server still finds it too large.
 */
export class HttpSink implements Sink {
  readonly poster: HttpPoster
  readonly #body: RecordBody
  readonly #gzip: boolean
  readonly #headers: Record<string, string>
  readonly #idempotencyHeader: string | undefined
  readonly #answers: AnswerReader | undefined

  constructor(options: HttpSinkOptions) {
    const format = options.format ?? 'ndjson'
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[format], 'user-agent': 'pino-courier' }
    if (options.gzip) headers['content-encoding'] = 'gzip'
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.poster = new HttpPoster({
      url: format === 'splunk-hec' ? endpointUrl(options.url, SPLUNK_HEC_PATH) : options.url,
      method: options.method,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    })
    this.#body = new RecordBody(format, options.fields ?? new RecordFields(), options.addFields, options.splunk)
    this.#gzip = options.gzip ?? false
    this.#headers = headers
    const idempotency = options.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER
    this.#idempotencyHeader = idempotency === false ? undefined : idempotency.toLowerCase()
    this.#answers =
      format === 'splunk-hec'
        ? splunkHecAnswers
        : options.rejectedCountField === undefined
          ? undefined
          : rejectedCountAnswers(options.rejectedCountField)
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    // The whole batch first, without making its records (the NDJSON body is the record log's slices).
    let tooLarge: DeliveryError
    try {
      return await this.#send(batch, undefined, signal)
    } catch (error) {
      if (!(error instanceof DeliveryError) || error.status !== TOO_LARGE) throw error
      tooLarge = error
    }
    // sendSplitting tries the whole batch first: its answer is the 413 just had, not a second request.
    let answered = false
    return sendSplitting(batch.records.length, (indexes) => {
      if (answered) return this.#send(batch, indexes, signal)
      answered = true
      return Promise.reject(tooLarge)
    })
  }

  /** Sends the records at `indexes` (the whole batch when undefined); resolves with what the answer says of them. */
  async #send(batch: Batch, indexes: readonly number[] | undefined, signal: AbortSignal): Promise<void | DeliveryResult> {
    const body = this.#body.body(batch, indexes)
    const sent = this.#gzip ? await gzip(Buffer.isBuffer(body) ? body : Buffer.concat(body)) : body
    const headers: Record<string, string> = { ...this.#headers, 'content-length': String(byteLength(sent)) }
    // A part of a split batch is another body: it gets a key of its own, the same whenever that part goes again.
    if (this.#idempotencyHeader) headers[this.#idempotencyHeader] = indexes ? partKey(batch.id, indexes) : batch.id
    if (!this.#answers) return this.poster.post(sent, headers, signal)
    const { status, body: answer } = await this.poster.postForAnswer(sent, headers, signal, { answers: this.#answers.answers })
    const count = (): number => (indexes ? indexes.length : batch.records.length)
    return this.#answers.read(status, answer, count, (text) => this.poster.quote(text, headers), this.poster.origin)
  }

  close(): Promise<void> {
    return this.poster.close()
  }
}

/** The key of the part of a batch holding the records `indexes` (a run of consecutive ones). */
function partKey(batchId: string, indexes: readonly number[]): string {
  return `${batchId}/${indexes[0] ?? 0}-${indexes[indexes.length - 1] ?? 0}`
}

function byteLength(body: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(body)) return body.length
  let size = 0
  for (const piece of body) size += piece.length
  return size
}
