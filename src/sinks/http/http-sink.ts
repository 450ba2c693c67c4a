import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { Batch, DeliveryContext, Sink } from '../sink.js'
import { ndjsonPieces, toJsonArray, toNdjson } from '../ndjson.js'
import { HttpPoster } from './http-post.js'

const gzip = promisify(gzipCallback)

/** Body formats of the HTTP sender. */
export type HttpBodyFormat = 'ndjson' | 'json'

/** Default of `idempotencyHeader`: the name of the IETF httpapi draft, used by Stripe and others. */
export const DEFAULT_IDEMPOTENCY_HEADER = 'idempotency-key'

/** What the http sink needs of the sender's options. */
export interface HttpSinkOptions {
  url: string
  method?: 'POST' | 'PUT' | undefined
  format?: HttpBodyFormat | undefined
  headers?: Record<string, string> | undefined
  gzip?: boolean | undefined
  keepAliveTimeoutMs?: number | undefined
  idempotencyHeader?: string | false | undefined
}

/** POSTs each batch as one NDJSON (or JSON array) body, with the batch id as its idempotency key. */
export class HttpSink implements Sink {
  readonly poster: HttpPoster
  readonly #format: HttpBodyFormat
  readonly #gzip: boolean
  readonly #headers: Record<string, string>
  readonly #idempotencyHeader: string | undefined

  constructor(options: HttpSinkOptions) {
    const headers: Record<string, string> = {
      'content-type': options.format === 'json' ? 'application/json' : 'application/x-ndjson',
      'user-agent': 'pino-courier',
    }
    if (options.gzip) headers['content-encoding'] = 'gzip'
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.poster = new HttpPoster({
      url: options.url,
      method: options.method,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    })
    this.#format = options.format ?? 'ndjson'
    this.#gzip = options.gzip ?? false
    this.#headers = headers
    const idempotency = options.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER
    this.#idempotencyHeader = idempotency === false ? undefined : idempotency.toLowerCase()
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void> {
    // NDJSON goes as the record log's own slices; a JSON array or gzip needs a body of its own.
    const body: Buffer | readonly Buffer[] =
      this.#format === 'json' ? toJsonArray(batch) : this.#gzip ? toNdjson(batch) : ndjsonPieces(batch)
    const sent = this.#gzip ? await gzip(body as Buffer) : body
    const headers: Record<string, string> = { ...this.#headers, 'content-length': String(byteLength(sent)) }
    if (this.#idempotencyHeader) headers[this.#idempotencyHeader] = batch.id
    await this.poster.post(sent, headers, signal)
  }

  close(): Promise<void> {
    return this.poster.close()
  }
}

function byteLength(body: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(body)) return body.length
  let size = 0
  for (const piece of body) size += piece.length
  return size
}
