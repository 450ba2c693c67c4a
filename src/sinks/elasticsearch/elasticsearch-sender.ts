import { z } from 'zod'
import { headersSchema } from '../shared/headers-schema.js'
import { ConfigError } from '../../config/config-error.js'
import type { BatchOptions, CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { durationSchema } from '../../timers.js'
import { httpUrlSchema, redactUrl } from '../http/http-post.js'
import { defineSinkType } from '../sink-type.js'
import type { ElasticsearchOpType } from './bulk-body.js'
import { ElasticsearchSink } from './elasticsearch-sink.js'
import { IndexName } from './index-name.js'

export type { ElasticsearchOpType } from './bulk-body.js'
export { BULK_FILTER_PATH, BULK_PATH } from './elasticsearch-sink.js'

/**
 * Default of `index`: one index per UTC day, named from each record's time. It works unchanged on
 * Elasticsearch 7 and 8 and on OpenSearch, with no template or data stream to set up first, and a
 * day's logs are dropped whole by deleting its index (Curator, ILM or ISM). With Elasticsearch 8, a
 * data stream matching its built-in `logs-*-*` template (`logs-pino-default`) is the managed
 * alternative: rollover and retention come with it.
 */
export const DEFAULT_INDEX = 'pino-%{yyyy.MM.dd}'

/**
 * Default of `opType`: `create`. Data streams accept nothing else, and with each record's `_id` fixed
 * by its identity, a record sent again (a retry after a lost answer, a spool replay) answers 409
 * "already there" instead of being written a second time: the sink counts it delivered. `index`
 * would overwrite it (the same content, as a new version and a deleted old one in Lucene). (An `_id`
 * is unique per index: a data stream that rolls over between two attempts of a record can hold it
 * twice, a limit of Elasticsearch's.)
 */
export const DEFAULT_OP_TYPE: ElasticsearchOpType = 'create'

/** An API key: the encoded form (base64 of `id:api_key`), or the two halves from the create-API-key answer. */
export type ElasticsearchApiKey = string | { id: string; api_key: string }

/** Options of {@link createElasticsearchSender}. */
export interface ElasticsearchSenderOptions extends CommonSenderOptions {
  /**
   * The server's base URL (`http://es:9200`, or https). An empty path or `/` gets `/_bulk`; any other
   * path is used as given (a proxy, a prefix, `/my-index/_bulk`). Credentials in it become Basic auth.
   * `filter_path` is set on it (see BULK_FILTER_PATH).
   */
  url: string
  /**
   * Index or data stream, with optional UTC date parts from each record's time: `%{yyyy.MM.dd}`
   * (tokens `yyyy`, `yy`, `MM`, `dd`, `HH`; Logstash's `%{+yyyy.MM.dd}` too). Checked at start-up
   * against Elasticsearch's rules (lowercase; none of `\ / * ? " < > | , # :` or spaces; not starting
   * with `-`, `_` or `+`).
   * @default 'pino-%{yyyy.MM.dd}'
   */
  index?: string
  /** `create` (data streams need it; a replay answers 409, counted delivered) or `index` (overwrites). @default 'create' */
  opType?: ElasticsearchOpType
  /** Ingest pipeline every record goes through (the `pipeline` of each action). @default none */
  pipeline?: string
  /**
   * API key, sent as `Authorization: ApiKey <encoded>`: the encoded form (base64 of `id:api_key`, the
   * `encoded` field of the create-API-key answer), or `{ id, api_key }`, as the official client takes it.
   * It wins over credentials in the URL. @default none
   */
  apiKey?: ElasticsearchApiKey
  /** Extra request headers; an `authorization` header and `apiKey` are not taken together. @default {} */
  headers?: Record<string, string>
  /** gzip the body (`content-encoding: gzip`; both servers accept it). @default false */
  gzip?: boolean
  /**
   * Adds `@timestamp` (ISO 8601, UTC, from the record's `time` in any form pino writes, or its arrival
   * time) to records that have none: data streams refuse documents without it, and Kibana sorts by it.
   * It is spliced into the record's line, which is otherwise sent as it came. @default true
   */
  addTimestamp?: boolean
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /** Batches. @default { maxRecords: 5000, maxBytes: 5242880 (5 MiB), maxWaitMs: 1000 } */
  batch?: BatchOptions
  /** The worker pool. @default { concurrency: 4, timeoutMs: 30000 } */
  pool?: PoolOptions
}

const apiKeySchema = z.union([
  z
    .string()
    .min(1)
    .refine((key) => !/\s/.test(key), 'give the key alone, without "ApiKey " or spaces')
    .refine((key) => !key.includes(':'), 'looks like "id:api_key": give the encoded key (base64 of "id:api_key") or { id, api_key }'),
  z.strictObject({ id: z.string().min(1), api_key: z.string().min(1) }),
])

export const elasticsearchSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: httpUrlSchema,
  index: z
    .string()
    .superRefine((pattern, context) => {
      const parsed = IndexName.parse(pattern)
      if (typeof parsed === 'string') context.addIssue({ code: 'custom', message: parsed })
    })
    .optional(),
  opType: z.enum(['create', 'index']).optional(),
  pipeline: z.string().min(1).optional(),
  apiKey: apiKeySchema.optional(),
  headers: headersSchema.optional(),
  gzip: z.boolean().optional(),
  addTimestamp: z.boolean().optional(),
  keepAliveTimeoutMs: durationSchema(1).optional(),
})

/**
 * Defaults of the Elasticsearch sender that differ from the general ones. Batches of up to 5 MiB:
 * Elastic's guidance is bulk requests of about 5-15 MB (bigger ones gain nothing and weigh on the
 * cluster's heap); the action lines and `@timestamp` add about 130 bytes a record, which keeps a body
 * well under the default `http.max_content_length` of 100 MB and under the 10 MB some managed
 * OpenSearch instances allow. Four requests in flight, as Elastic Agent's throughput preset has four
 * workers: enough to keep a burst moving while one request waits on a busy node. An attempt may take
 * 30 s: a loaded cluster is slow to answer a 5 MB bulk, and a timeout sends it all again.
 */
export const ELASTICSEARCH_SENDER_DEFAULTS: DeliveryOptions = {
  batch: { maxBytes: 5 * 1024 * 1024 },
  pool: { concurrency: 4, timeoutMs: 30_000 },
}

/** Ships records to Elasticsearch or OpenSearch through the `_bulk` API, over plain HTTP(S). */
export class ElasticsearchSender extends QueuedSender {
  /** Scheme and host of the server (the full URL may carry credentials and is never shown). */
  readonly endpoint: string
  /** The index pattern in force. */
  readonly index: string

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: ElasticsearchSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(elasticsearchSenderOptionsSchema, options)
    const { url, index, opType, pipeline, apiKey, headers, gzip, addTimestamp, keepAliveTimeoutMs, ...common } = options
    if (apiKey !== undefined && Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'authorization')) {
      throw new ConfigError('pino-courier: invalid options: apiKey: set either apiKey or an authorization header, not both', {
        paths: ['apiKey'],
      })
    }
    const indexName = IndexName.parse(index ?? DEFAULT_INDEX) as IndexName
    const key = apiKey === undefined || typeof apiKey === 'string' ? apiKey : Buffer.from(`${apiKey.id}:${apiKey.api_key}`).toString('base64')
    const sink = new ElasticsearchSink({
      url,
      index: indexName,
      opType: opType ?? DEFAULT_OP_TYPE,
      pipeline,
      apiKey: key,
      secrets: typeof apiKey === 'object' ? [apiKey.api_key] : undefined,
      headers,
      gzip,
      addTimestamp: addTimestamp ?? true,
      keepAliveTimeoutMs,
    })
    super(resolveSenderConfig(common, context, ELASTICSEARCH_SENDER_DEFAULTS, 'elasticsearch'), sink, context)
    sink.poster.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(url)
    this.index = indexName.pattern
  }
}

/** `{ type: 'elasticsearch', url, index, … }` in the transport options. */
export const elasticsearchSinkType = defineSinkType({
  type: 'elasticsearch',
  schema: elasticsearchSenderOptionsSchema as z.ZodType<ElasticsearchSenderOptions>,
  defaults: ELASTICSEARCH_SENDER_DEFAULTS,
  queued: true,
  create: (options: ElasticsearchSenderOptions, context) => new ElasticsearchSender(options, context, CHECKED),
})

/**
 * Creates a sender that indexes records into Elasticsearch or OpenSearch.
 * @example createElasticsearchSender({ url: 'http://es:9200', index: 'logs-%{yyyy.MM.dd}', apiKey: process.env.ES_API_KEY })
 * @example createElasticsearchSender({ url: 'https://es:9200', index: 'logs-myapp-default' }) // a data stream
 */
export function createElasticsearchSender(options: ElasticsearchSenderOptions, context?: SenderContext): ElasticsearchSender {
  return new ElasticsearchSender(options, context)
}
