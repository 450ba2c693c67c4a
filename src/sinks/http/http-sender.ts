import { z } from 'zod'
import { headersSchema } from '../shared/headers-schema.js'
import type { CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { durationSchema } from '../../timers.js'
import { defineSinkType } from '../sink-type.js'
import { ConfigError } from '../../config/config-error.js'
import { RecordFields } from '../shared/record-fields.js'
import { httpUrlSchema, redactUrl } from './http-post.js'
import { HttpSink, type AddedFields, type HttpBodyFormat, type SplunkHecOptions } from './http-sink.js'

export { DEFAULT_IDEMPOTENCY_HEADER, SPLUNK_HEC_PATH, type AddedFields, type HttpBodyFormat, type SplunkHecOptions } from './http-sink.js'

/** Options of {@link createHttpSender}. */
export interface HttpSenderOptions extends CommonSenderOptions {
  /** Endpoint receiving the batches (http or https). Credentials in it become a Basic auth header. */
  url: string
  /** HTTP method. @default 'POST' */
  method?: 'POST' | 'PUT'
  /**
   * `ndjson`: one record per line (`application/x-ndjson`); `json`: a JSON array (`application/json`);
   * `splunk-hec`: Splunk HTTP Event Collector events, one `{"time":…,"event":<the record>}` per record
   * (`time`: the record's time in epoch seconds with ms), with the metadata of {@link splunk}. A
   * `splunk-hec` URL whose path is empty or `/` gets HEC's `/services/collector/event`; HEC's 400
   * naming the event it stopped at counts the events before it delivered, that one failed and retries
   * the rest. The token goes in `headers: { authorization: 'Splunk <token>' }`.
   * @default 'ndjson'
   */
  format?: HttpBodyFormat
  /** HEC metadata of every event (`source`, `sourcetype`, `index`, `host`); only with `format: 'splunk-hec'`. @default none (the token's) */
  splunk?: SplunkHecOptions
  /**
   * Fields written into every record (first, as names the backend reads): `time` holds the record's
   * time as an RFC 3339 UTC date (Better Stack `dt`, Axiom `_time`, Datadog `timestamp`), `level` its
   * level's name (Datadog `status`).
   * @default none (records go as pino wrote them)
   * @example { addFields: { time: 'dt' } }
   */
  addFields?: AddedFields
  /**
   * Field of a JSON 2xx answer counting the records the endpoint refused (Axiom: `failed`): that many
   * count failed, not delivered, and are not sent again. The answer is then read to its end. Not with
   * `format: 'splunk-hec'`, whose answers are read as HEC writes them.
   * @default none (a 2xx accepts the whole batch)
   */
  rejectedCountField?: string
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

const metadataSchema = z.string().min(1).max(1024)
const fieldNameSchema = z.string().min(1).max(200)

export const httpSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: httpUrlSchema,
  method: z.enum(['POST', 'PUT']).optional(),
  format: z.enum(['ndjson', 'json', 'splunk-hec']).optional(),
  splunk: z
    .strictObject({
      source: metadataSchema.optional(),
      sourcetype: metadataSchema.optional(),
      index: metadataSchema.optional(),
      host: metadataSchema.optional(),
    })
    .optional(),
  addFields: z.strictObject({ time: fieldNameSchema.optional(), level: fieldNameSchema.optional() }).optional(),
  rejectedCountField: fieldNameSchema.optional(),
  headers: headersSchema.optional(),
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

/**
 * Posts batches to an HTTP endpoint as NDJSON, a JSON array or Splunk HEC events, with keep-alive
 * connection reuse; a 413 splits the batch and sends the halves.
 */
export class HttpSender extends QueuedSender {
  /** Scheme and host of the endpoint (the full URL is a credential and is never shown). */
  readonly endpoint: string

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: HttpSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(httpSenderOptionsSchema, options)
    const { url, method, format, headers, gzip, keepAliveTimeoutMs, idempotencyHeader, splunk, addFields, rejectedCountField, ...common } =
      options
    // A rule between two options, checked here: the schema stays a plain object the transport's union can extend.
    if (splunk !== undefined && format !== 'splunk-hec') {
      throw new ConfigError("pino-courier: invalid options: splunk: only with format 'splunk-hec'", { paths: ['splunk'] })
    }
    // HEC's answers are read as HEC writes them (splunk-hec answers): a count field would go unread.
    if (rejectedCountField !== undefined && format === 'splunk-hec') {
      throw new ConfigError("pino-courier: invalid options: rejectedCountField: not with format 'splunk-hec' (HEC's answers are read as such)", {
        paths: ['rejectedCountField'],
      })
    }
    const fields = new RecordFields(context)
    const sink = new HttpSink({
      url,
      method,
      format,
      headers,
      gzip,
      keepAliveTimeoutMs,
      idempotencyHeader,
      splunk,
      addFields,
      rejectedCountField,
      fields,
    })
    super(resolveSenderConfig(common, context, HTTP_SENDER_DEFAULTS, 'http'), sink, context)
    sink.poster.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(url)
  }
}

/** `{ type: 'http', url, … }` in the transport options. */
export const httpSinkType = defineSinkType({
  type: 'http',
  schema: httpSenderOptionsSchema as z.ZodType<HttpSenderOptions>,
  defaults: HTTP_SENDER_DEFAULTS,
  queued: true,
  create: (options: HttpSenderOptions, context) => new HttpSender(options, context, CHECKED),
})

/**
 * Creates a sender that POSTs batches to `url`.
 * @example createHttpSender({ url: 'http://collector:8080/logs', format: 'json', gzip: true })
 */
export function createHttpSender(options: HttpSenderOptions, context?: SenderContext): HttpSender {
  return new HttpSender(options, context)
}
