import { z } from 'zod'
import { headersSchema } from '../shared/headers-schema.js'
import type { CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { durationSchema } from '../../timers.js'
import { httpUrlSchema, redactUrl } from '../http/http-post.js'
import { RecordFields } from '../shared/record-fields.js'
import { defineSinkType } from '../sink-type.js'
import { DEFAULT_LEVEL_LABEL } from './loki-entries.js'
import { checkLabelNames, fieldKeyIssues, labelNameProblem, tenantProblem, type FieldKeys } from './loki-labels.js'
import { LokiSink } from './loki-sink.js'

export { DEFAULT_MAX_STREAMS, LOKI_PUSH_PATH } from './loki-sink.js'
export { DEFAULT_LEVEL_LABEL } from './loki-entries.js'
export { DEFAULT_MAX_LABEL_NAMES } from './loki-labels.js'
export { STREAM_IDLE_MS } from './loki-stream-cap.js'

/**
 * Options of {@link createLokiSender}. Labels make streams: keep them few and of low cardinality
 * (app, env, level), never a request or user id; other fields stay in the line, where LogQL's `| json`
 * reads them, or go as `structuredMetadataKeys`.
 */
export interface LokiSenderOptions extends CommonSenderOptions {
  /**
   * Loki's base URL (`http://loki:3100`): with an empty path or `/`, the push path
   * `/loki/api/v1/push` is added; any other path is used as given (a gateway, a prefix).
   * Credentials in it (`https://user:token@…`) become a Basic authorization header.
   */
  url: string
  /**
   * Tenant of a multi-tenant Loki: sent as `X-Scope-OrgID`. Checked at start-up as Loki checks it: at
   * most 150 of `a-z A-Z 0-9 ! - _ . * ' ( )`, and not `.` or `..`. @default none
   */
  tenant?: string
  /** Extra request headers (e.g. `authorization`). They override the defaults. @default {} */
  headers?: Record<string, string>
  /** gzip the body (`content-encoding: gzip`; Loki accepts it). @default false */
  gzip?: boolean
  /** Labels every stream gets: names as Loki takes them (`[a-zA-Z_][a-zA-Z0-9_]*`), values non-empty. @default {} */
  labels?: Record<string, string>
  /**
   * Record fields whose values become labels. A list of field paths names each label after its path,
   * dots made underscores (`['app', 'req.method']` → labels `app`, `req_method`); an object names them
   * yourself (`{ method: 'req.method', req_id: 'req-id' }`). A path is a top-level key first, else a
   * dotted path into nested objects. Strings, numbers and booleans become values; a record without
   * the field (or with an object, null or '') has no such label. Each distinct combination of values
   * is a stream of its own: see `maxStreams`. @default none
   */
  labelKeys?: readonly string[] | Record<string, string>
  /** Name of the label carrying the record's level name (`info`, or the number of an unnamed level); `false` for none. @default 'level' */
  levelLabel?: string | false
  /**
   * Record fields sent as each entry's structured metadata (Loki 3, or 2.9 with
   * `allow_structured_metadata`), named as `labelKeys` names labels: searchable without being labels.
   * Objects are sent as their JSON. The fields stay in the line too. @default none
   */
  structuredMetadataKeys?: readonly string[] | Record<string, string>
  /**
   * Most distinct streams (label combinations) this sender keeps open: a stream nothing was sent to
   * for an hour is forgotten (as Loki stops counting a stream active once it goes idle). A record that
   * would open one more is refused for good (counted failed, dead-lettered when a dead-letter file is
   * set) with a reason naming the cap and the labelKeys. The default is Loki's own default limit of
   * active streams per tenant, past which Loki answers 429 to every push opening a new stream.
   * @default 5000
   */
  maxStreams?: number
  /**
   * Most label names a stream may have (labels, labelKeys and the level label together; a label
   * named `service_name` not counted), checked at start-up: Loki refuses every entry of a stream with
   * more than its `max_label_names_per_series`. Raise it only together with Loki's limit.
   * @default 15
   */
  maxLabelNames?: number
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /**
   * The worker pool. One request in flight by default, which keeps each stream's entries in order at
   * Loki, retries included: a batch that failed is sent again before any later one.
   *
   * With `concurrency` above 1, requests of different streams go in parallel, and a request waits
   * until every earlier one holding any of its streams has settled, so that first attempts of one
   * stream still reach Loki in order. But that wait counts against `timeoutMs` (with one stream and
   * 4 in flight, a request may wait for 3 answers before its own: raise `timeoutMs` to match, or
   * attempts time out and are sent again); and a retried batch lands after later batches of its
   * stream: Loki 2.4 and later (`unordered_writes`, the default) take it when it is within
   * `max_chunk_age / 2` (1 h by default) of the stream's newest entry; older entries, or any with
   * `unordered_writes: false`, are refused ("entry too far behind", "entry out of order") and counted
   * failed.
   * @default { concurrency: 1, timeoutMs: 10000 }
   */
  pool?: PoolOptions
}

/** A FieldKeys option: a list of paths or `{ labelName: path }`, every name one Loki takes. */
const fieldKeysSchema = z
  .union([z.array(z.string().min(1)), z.record(z.string(), z.string().min(1))])
  .superRefine((keys, ctx) => {
    for (const [at, message] of fieldKeyIssues(keys as FieldKeys)) ctx.addIssue({ code: 'custom', path: [at], message })
  })

const labelNameSchema = z.string().superRefine((name, ctx) => {
  const problem = labelNameProblem(name)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

export const lokiSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: httpUrlSchema,
  tenant: z
    .string()
    .min(1)
    .superRefine((tenant, ctx) => {
      const problem = tenantProblem(tenant)
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
    })
    .optional(),
  headers: headersSchema.optional(),
  gzip: z.boolean().optional(),
  labels: z
    .record(z.string(), z.string().min(1, 'a label value must not be empty (Loki drops empty labels)'))
    .superRefine((labels, ctx) => {
      for (const name of Object.keys(labels)) {
        const problem = labelNameProblem(name)
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem })
      }
    })
    .optional(),
  labelKeys: fieldKeysSchema.optional(),
  levelLabel: z.union([labelNameSchema, z.literal(false)]).optional(),
  structuredMetadataKeys: fieldKeysSchema.optional(),
  maxStreams: z.number().int().positive().optional(),
  maxLabelNames: z.number().int().positive().optional(),
  keepAliveTimeoutMs: durationSchema(1).optional(),
})

/**
 * Delivery defaults of the Loki sender. Batches stay at the general 1 MiB of lines: the JSON body is
 * about a fifth larger (escaped quotes, a timestamp per entry), well under the 4 MiB gRPC message
 * limit between Loki's distributor and ingesters (`grpc_server_max_recv_msg_size`, counted after
 * decompression) and under Loki's default ingestion burst of 6 MB per push
 * (`ingestion_burst_size_mb`, which a single push larger than it can never pass: 429 for ever). One
 * request in flight: the only way a retried batch still lands before the later batches of its stream
 * (see `pool` in LokiSenderOptions), and 1 MiB per round trip reaches Loki's default ingestion rate
 * of 4 MB/s per tenant at round trips up to a quarter of a second.
 */
export const LOKI_SENDER_DEFAULTS: DeliveryOptions = { pool: { concurrency: 1 }, batch: { maxBytes: 1024 * 1024 } }

/**
 * Pushes batches to Grafana Loki (JSON push API), entries of each stream in time order.
 *
 * Order. Within a request each stream's entries are sorted by time. Across requests: with one request
 * in flight (the default) batches reach Loki in the order they were made, retries included, since a
 * batch that failed (503, a timeout) is tried again before the next one is sent. With more in flight
 * (`pool.concurrency`), a request waits until every earlier one holding any of its streams has
 * settled (a per-stream sequencer), so first attempts of a stream still go in order while other
 * streams go meanwhile; but that wait counts against the attempt's `pool.timeoutMs`, and a retried
 * batch lands after later ones of its stream. Loki 2.4 and later (`unordered_writes`, the default)
 * take such entries when they are within `max_chunk_age / 2` (1 h by default) of the stream's newest
 * entry; older Loki, or a gap past that window, refuses them with a 400 ("entry out of order", "entry
 * too far behind"), and they are counted failed with Loki's reason.
 *
 * Outcomes. 204: delivered. 400 before Loki read the request (tenant, body: see `tookNothing`): the
 * request failed for good. Any other 400: Loki took the rest of the request; the entries it refused
 * are counted failed with its reasons (at least one when the answer does not say how many) and never
 * sent again. 429 and 5xx: retried (with `Retry-After`); a batch sent again whole may repeat entries
 * Loki had taken, which Loki stores once per stream, timestamp and line, and shows once when
 * queried. 413: the batch is split. Other 4xx: failed for good.
 */
export class LokiSender extends QueuedSender {
  /** Scheme and host of the endpoint (the full URL may carry credentials and is never shown). */
  readonly endpoint: string

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: LokiSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(lokiSenderOptionsSchema, options)
    const {
      url,
      tenant,
      headers,
      gzip,
      labels,
      labelKeys,
      levelLabel,
      structuredMetadataKeys,
      maxStreams,
      maxLabelNames,
      keepAliveTimeoutMs,
      ...common
    } = options
    checkLabelNames(labels ?? {}, labelKeys, levelLabel ?? DEFAULT_LEVEL_LABEL, maxLabelNames)
    const sink = new LokiSink(
      { url, tenant, headers, gzip, labels, labelKeys, levelLabel, structuredMetadataKeys, maxStreams, keepAliveTimeoutMs },
      new RecordFields(context),
    )
    super(resolveSenderConfig(common, context, LOKI_SENDER_DEFAULTS, 'loki'), sink, context)
    sink.poster.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(url)
  }
}

/** `{ type: 'loki', url, … }` in the transport options. */
export const lokiSinkType = defineSinkType({
  type: 'loki',
  schema: lokiSenderOptionsSchema as unknown as z.ZodType<LokiSenderOptions>,
  defaults: LOKI_SENDER_DEFAULTS,
  queued: true,
  create: (options: LokiSenderOptions, context) => new LokiSender(options, context, CHECKED),
})

/**
 * Creates a sender that pushes batches to Grafana Loki.
 * @example createLokiSender({ url: 'http://loki:3100', labels: { app: 'api' }, labelKeys: ['env'] })
 */
export function createLokiSender(options: LokiSenderOptions, context?: SenderContext): LokiSender {
  return new LokiSender(options, context)
}
