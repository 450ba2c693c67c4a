import type { z } from 'zod'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { redactUrl } from '../http/http-post.js'
import { RecordFields } from '../shared/record-fields.js'
import { defineSinkType } from '../sink-type.js'
import { resolveOtlpSettings, type OtlpEnv } from './otlp-env.js'
import { OTLP_SENDER_DEFAULTS, otlpSenderOptionsSchema, type OtlpProtocol, type OtlpSenderOptions } from './otlp-options.js'
import { OtlpSink } from './otlp-sink.js'

export {
  DEFAULT_OTLP_PROTOCOL,
  OTLP_LOGS_PATH,
  OTLP_SCOPE_NAME,
  OTLP_SENDER_DEFAULTS,
  otlpSenderOptionsSchema,
  type OtlpProtocol,
  type OtlpSenderOptions,
  type ResourceAttributeValue,
} from './otlp-options.js'
export { OTLP_RETRYABLE_STATUSES } from './otlp-sink.js'

/**
 * Sends records as OTLP/HTTP logs (protobuf or JSON) to an OpenTelemetry Collector, or to anything
 * that takes OTLP (Vector, Loki 3, Grafana Cloud, vendors): the message as the body, the level as the
 * severity, the trace context, the error as `exception.*`, every other field as an attribute.
 */
export class OtlpSender extends QueuedSender {
  /** Scheme and host of the endpoint (the full URL may hold credentials and is never shown). */
  readonly endpoint: string
  readonly protocol: OtlpProtocol

  /**
   * `checked`: the registry's token for options the transport's schema accepted already. `env`: where
   * the `OTEL_*` variables are read (tests pass their own).
   */
  constructor(options: OtlpSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED, env: OtlpEnv = process.env) {
    if (checked !== CHECKED) validate(otlpSenderOptionsSchema, options)
    const { url, protocol, headers, gzip, resource, ...common } = options
    const settings = resolveOtlpSettings({ url, protocol, headers, gzip, resource }, env)
    const sink = new OtlpSink(settings, new RecordFields(context))
    super(resolveSenderConfig(common, context, OTLP_SENDER_DEFAULTS, 'otlp'), sink, context)
    sink.poster.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(settings.url)
    this.protocol = settings.protocol
  }
}

/** `{ type: 'otlp', url, … }` in the transport options. */
export const otlpSinkType = defineSinkType({
  type: 'otlp',
  schema: otlpSenderOptionsSchema as z.ZodType<OtlpSenderOptions>,
  defaults: OTLP_SENDER_DEFAULTS,
  queued: true,
  create: (options: OtlpSenderOptions, context) => new OtlpSender(options, context, CHECKED),
})

/**
 * Creates a sender that ships records as OTLP/HTTP logs. Options left out are read from the standard
 * `OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` variables, as the
 * OpenTelemetry SDKs read them; options given win.
 * @example createOtlpSender({ url: 'http://collector:4318', resource: { 'service.name': 'checkout' } })
 */
export function createOtlpSender(options: OtlpSenderOptions, context?: SenderContext): OtlpSender {
  return new OtlpSender(options, context)
}
