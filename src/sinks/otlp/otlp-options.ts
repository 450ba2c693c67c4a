import { z } from 'zod'
import { headersSchema } from '../shared/headers-schema.js'
import type { BatchOptions, CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { commonSenderShape } from '../../config/schema.js'
import { httpUrlSchema } from '../http/http-post.js'

/** The OTLP/HTTP encodings. gRPC is not offered: it needs HTTP/2 and a gRPC stack for one more framing of the same messages. */
export type OtlpProtocol = 'http/protobuf' | 'http/json'

/** The values of an attribute in `resource`: what OpenTelemetry's resource attributes hold. */
export type ResourceAttributeValue = string | number | boolean | readonly (string | number | boolean)[]

/**
 * Options of {@link createOtlpSender}. Every one of `url`, `protocol`, `headers` and `gzip` can come
 * from the standard `OTEL_EXPORTER_OTLP_*` environment variables instead, read as the OpenTelemetry
 * Node SDK reads them; an option given here always wins over the environment.
 */
export interface OtlpSenderOptions extends CommonSenderOptions {
  /**
   * The collector's base URL (`http://collector:4318`): with an empty path or `/` the logs go to
   * `/v1/logs`; any other path is used as given (a proxy, a vendor's own path), so give the full
   * logs path of an endpoint under a prefix: Loki 3 `http://loki:3100/otlp/v1/logs`, Grafana Cloud
   * `https://otlp-gateway-<zone>.grafana.net/otlp/v1/logs` (a 404 from a path not ending in
   * `/v1/logs` says so in its message). Credentials in it become a Basic auth header. Without it, `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (used as is) or
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (with `v1/logs` appended to its path, as the SDKs do) is the
   * endpoint; with none of the three, start-up fails with a ConfigError naming `url`.
   */
  url?: string
  /**
   * The encoding of the requests. Without it, `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` or else
   * `OTEL_EXPORTER_OTLP_PROTOCOL` decides; `grpc` there (often set for the app's own SDK) is a
   * ConfigError unless this option is given, which always wins over the variables.
   * @default 'http/protobuf'
   */
  protocol?: OtlpProtocol
  /**
   * Request headers (an API key: `{ 'x-api-key': '…' }`, `authorization`). They are merged over those of
   * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_LOGS_HEADERS` (`k=v,k2=v2`, percent-decoded),
   * name by name, these winning, and those variables' headers are sent even when `url` is given (as
   * the OpenTelemetry JS SDK does): unset them, or override a header by name here, when they are
   * meant for another endpoint. Their values never appear in messages or stats.
   * @default {}
   */
  headers?: Record<string, string>
  /**
   * gzip the body (`content-encoding: gzip`; every collector accepts it). Without it,
   * `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION` or else `OTEL_EXPORTER_OTLP_COMPRESSION` (`gzip` | `none`) decides.
   * @default false
   */
  gzip?: boolean
  /**
   * Resource attributes (`{ 'service.name': 'checkout', 'deployment.environment.name': 'prod' }`), over
   * those of `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` (which wins over the former's
   * `service.name`), over the defaults: `service.name` `unknown_service:<process.argv0>` (the Node SDK's,
   * `unknown_service:node` for an app started as `node app.js`), `host.name` (os.hostname()) and
   * `process.pid`. A record's own `pid` and `hostname` equal to the last two are not repeated as its
   * attributes.
   * @default {}
   */
  resource?: Record<string, ResourceAttributeValue>
  /**
   * The worker pool: 8 requests in flight by default, as for the http sender.
   * @default { concurrency: 8, timeoutMs: 10000 }
   */
  pool?: PoolOptions
  /**
   * Batches: up to 5,000 records or 1 MiB of NDJSON per request.
   * @default { maxRecords: 5000, maxBytes: 1048576, maxWaitMs: 1000, flushLevel: 'error' }
   */
  batch?: BatchOptions
}


const attributeScalar = z.union([z.string(), z.number().finite(), z.boolean()])

export const otlpSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: httpUrlSchema.optional(),
  protocol: z.enum(['http/protobuf', 'http/json']).optional(),
  headers: headersSchema.optional(),
  gzip: z.boolean().optional(),
  resource: z.record(z.string().min(1), z.union([attributeScalar, z.array(attributeScalar)])).optional(),
})

/** The standard path of OTLP/HTTP logs. */
export const OTLP_LOGS_PATH = '/v1/logs'

/** Default of `protocol`: the one every collector and the SDKs default to. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf'

/** The instrumentation scope named in every request. */
export const OTLP_SCOPE_NAME = 'pino-courier'

/**
 * Delivery defaults of the OTLP sender. Batches of up to 5,000 records or 1 MiB of NDJSON (the
 * general defaults, stated here because the collector's limit depends on them): the protobuf body is
 * about the NDJSON's size and the JSON one two to three times it, far below the collector's default
 * request cap (`max_request_body_size`, 20 MiB) and below the 4-5 MB some vendors' intakes take; the
 * collector's own batch processor sends 8,192 records at a time. Eight requests in flight, as the
 * http sender, for the same reason: a burst to a collector 50 ms away keeps up only with several
 * batches on the way, and closing at exit waits on the slowest of them. Batches may then arrive out
 * of order, which OTLP does not mind (every record carries its time). The attempt timeout (10 s) is
 * the SDKs' `OTEL_EXPORTER_OTLP_TIMEOUT` default.
 */
export const OTLP_SENDER_DEFAULTS: DeliveryOptions = {
  pool: { concurrency: 8, timeoutMs: 10_000 },
  batch: { maxRecords: 5000, maxBytes: 1024 * 1024 },
}
