import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { z } from 'zod'
import { ConfigError } from '../../config/config-error.js'
import { durationSchema } from '../../timers.js'
import { HttpPoster, httpUrlSchema, redactUrl } from './http-post.js'
import { toJsonArray, toNdjson } from '../ndjson.js'
import type { DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { commonSenderShape, QueuedSender, type CommonSenderOptions, type SenderContext } from '../../senders/queued-sender.js'
import type { Batch, DeliveryContext, Sink } from '../../senders/sender.js'

const gzip = promisify(gzipCallback)

/** Body formats of the HTTP sender. */
export type HttpBodyFormat = 'ndjson' | 'json'

/** Options of {@link createHttpSender}. */
export interface HttpSenderOptions extends CommonSenderOptions {
  /** Endpoint receiving the batches (http or https). Credentials in it become a Basic auth header. */
  url: string
  /** HTTP method. @default 'POST' */
  method?: 'POST' | 'PUT'
  /** `ndjson`: one record per line (`application/x-ndjson`); `json`: a JSON array (`application/json`). @default 'ndjson' */
  format?: HttpBodyFormat
  /**
   * The worker pool. The http sender keeps 8 requests in flight by default (batches may then arrive out
   * of order: `concurrency: 1` keeps them in order).
   * @default { concurrency: 8, timeoutMs: 10000 } (no rate limit)
   */
  pool?: PoolOptions
  /** Extra request headers (e.g. `authorization`). They override the defaults. @default {} */
  headers?: Record<string, string>
  /** gzip the body (`content-encoding: gzip`). @default false */
  gzip?: boolean
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /**
   * Header carrying the batch's id, the same on every attempt of a batch, so that a sink can drop a
   * batch it has already accepted; `false` sends none. @default 'idempotency-key'
   */
  idempotencyHeader?: string | false
}

export const httpSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: httpUrlSchema,
  method: z.enum(['POST', 'PUT']).optional(),
  format: z.enum(['ndjson', 'json']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  gzip: z.boolean().optional(),
  keepAliveTimeoutMs: durationSchema(1).optional(),
  idempotencyHeader: z
    .union([z.string().regex(/^[!#$%&'*+.^`|~\w-]+$/, 'Invalid header name'), z.literal(false)])
    .optional(),
})

/**
 * Defaults of the HTTP sender that differ from the general ones. Eight requests in flight: a burst
 * through a collector 50 ms away needs about that many 1 MiB batches on the way to keep up with the
 * app (measured: with 1 connection closing blocked 830 ms, with 4 up to 160 ms, with 8 about 60 ms),
 * and a backlog waiting in the worker costs memory. Batches may then arrive out of order; a sink that
 * needs order takes `pool.concurrency: 1`.
 */
export const HTTP_SENDER_DEFAULTS: DeliveryOptions = { pool: { concurrency: 8 } }

// The connection handling and the URL redaction live in http-post.ts, shared with the webhook sender.
export { DEFAULT_KEEP_ALIVE_TIMEOUT_MS, redactUrl } from './http-post.js'

/** Default of `idempotencyHeader`: the name of the IETF httpapi draft, used by Stripe and others. */
export const DEFAULT_IDEMPOTENCY_HEADER = 'idempotency-key'

class HttpSink implements Sink {
  readonly poster: HttpPoster
  readonly #format: HttpBodyFormat
  readonly #gzip: boolean
  readonly #headers: Record<string, string>
  readonly #idempotencyHeader: string | undefined

  constructor(options: HttpSenderOptions) {
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
    const ndjson = this.#format === 'json' ? toJsonArray(batch) : toNdjson(batch)
    const body = this.#gzip ? await gzip(ndjson) : ndjson
    const headers: Record<string, string> = { ...this.#headers, 'content-length': String(body.length) }
    if (this.#idempotencyHeader) headers[this.#idempotencyHeader] = batch.id
    await this.poster.post(body, headers, signal)
  }

  close(): Promise<void> {
    return this.poster.close()
  }
}

/** Posts batches to an HTTP endpoint as NDJSON or a JSON array, with keep-alive connection reuse. */
export class HttpSender extends QueuedSender {
  /** Scheme and host of the endpoint (the full URL is a credential and is never shown). */
  readonly endpoint: string

  constructor(options: HttpSenderOptions, context: SenderContext = {}) {
    const parsed = httpSenderOptionsSchema.safeParse(options)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error)
    const { url, method, format, headers, gzip: zip, keepAliveTimeoutMs, idempotencyHeader, ...common } = options
    const sink = new HttpSink({ url, method, format, headers, gzip: zip, keepAliveTimeoutMs, idempotencyHeader })
    super({ ...common, name: common.name ?? 'http' }, sink, {
      ...context,
      defaults: [HTTP_SENDER_DEFAULTS, ...(context.defaults ?? [])],
    })
    sink.poster.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(url)
  }
}

/**
 * Creates a sender that POSTs batches to `url`.
 * @example createHttpSender({ url: 'http://collector:8080/logs', format: 'json', gzip: true })
 */
export function createHttpSender(options: HttpSenderOptions, context?: SenderContext): HttpSender {
  return new HttpSender(options, context)
}
