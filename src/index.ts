/**
 * pino-courier: non-blocking, loss-aware log shipping for pino.
 *
 * The default export is the pino transport (`pino.transport({ target: 'pino-courier', options })`);
 * the named exports are the programmatic API.
 */
export { default } from './input/transport.js'
export { TRANSPORT_EVENTS } from './input/transport.js'

export { ConfigError, formatOptionPath } from './config/config-error.js'
export { DEFAULT_LEVELS, LevelMap } from './config/levels.js'
export type { LevelOption } from './config/levels.js'
export { createRecord, FALLBACK_LEVEL, LogRecord, RecordParser } from './input/record.js'
export type { RecordParserOptions } from './input/record.js'

export { Courier } from './input/courier.js'
export { describeCloseReport } from './stats/close-report.js'
export type { CourierCloseReport, CourierEvents, CourierOptions, CourierStats } from './input/courier.js'
export { CourierStream, createCourierStream } from './input/stream.js'
export type { CourierStreamEvents, CourierStreamOptions } from './input/stream.js'
export { parseTransportOptions, transportOptionsSchema, senderSpecSchema } from './config/transport-options.js'
export type { ModuleSenderSpec, ResolvedTransportOptions, SenderSpec, TransportOptions } from './config/transport-options.js'
export { createSenders } from './sinks/registry.js'
export { DEFAULT_SIGNAL_TIMEOUT_MS, DEFAULT_SIGNALS, handleSignals } from './input/signals.js'
export type { HandleSignalsOptions, SignalTarget } from './input/signals.js'
export { createCourierTransport } from './input/courier-transport.js'
export type {
  CourierPinoTransportOptions,
  CourierTransportEvents,
  CourierTransportListeners,
  CourierTransportOptions,
  CourierTransportStream,
} from './input/courier-transport.js'
export type { CourierWarning } from './stats/warner.js'
export { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PATH, metricsOptionsSchema } from './metrics/metrics-options.js'
export type { MetricsOptions } from './metrics/metrics-options.js'
export { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from './metrics/prometheus-text.js'
export type { PrometheusTextOptions } from './metrics/prometheus-text.js'
export { bridgeToOpenTelemetry } from './metrics/otel-bridge.js'
export type { OpenTelemetryBridge, OpenTelemetryBridgeOptions, StatsEventSource, StatsPollSource } from './metrics/otel-bridge.js'
export type { OtelMeterProvider } from './metrics/otel-api.js'

export { DeliveryError, DeliveryTimeoutError } from './pool/delivery-error.js'
export type { DeliveryErrorOptions } from './pool/delivery-error.js'
export { DROP_REASONS, MAX_RECENT_FAILURES, totalDropped } from './stats/delivery-stats.js'
export type { DropReason, FailureRecord, SenderStats } from './stats/delivery-stats.js'
export type { GroupKind, GroupStats, GroupsStats, PrunedGroupsStats } from './stats/group-stats.js'
export { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from './stats/timings.js'
export type { Histogram, SenderTimings } from './stats/timings.js'
export {
  DEFAULT_BATCH,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  DEFAULT_RETRY,
} from './config/delivery-options.js'
export type {
  BatchOptions,
  DeliveryOptions,
  GroupOptions,
  OverflowPolicy,
  PoolOptions,
  QueueOptions,
  RateLimitOptions,
  RetryOptions,
} from './config/delivery-options.js'
export { isTransientStatus, parseRetryAfter, RetryPolicy, TRANSIENT_CLIENT_STATUSES } from './pool/retry-policy.js'
export type { RetryDecision } from './pool/retry-policy.js'
export { DeadLetterFile } from './spool/dead-letter-file.js'
export { DEFAULT_SPOOL, MIN_SPOOL_BYTES } from './spool/spool-options.js'
export type { DeadLetterOptions, SpoolFsync, SpoolOptions } from './spool/spool-options.js'
export type { SpoolStats } from './spool/disk-spool.js'

export type { Batch, CloseReport, DeliveryContext, DeliveryResult, RecordRejection, Sender, SenderEvents, Sink } from './senders/sender.js'
export { QueuedSender } from './senders/queued-sender.js'
export type { SenderPhase } from './senders/queued-sender.js'
export { DEFAULT_CLOSE_TIMEOUT_MS } from './config/defaults.js'
export type { CommonSenderOptions } from './config/delivery-options.js'
export type { RecordObserver, RecordOutcome } from './stats/ledger.js'
export type { SenderContext } from './senders/sender.js'
export { createElasticsearchSender, DEFAULT_INDEX as DEFAULT_ELASTICSEARCH_INDEX, ELASTICSEARCH_SENDER_DEFAULTS, ElasticsearchSender } from './sinks/elasticsearch/elasticsearch-sender.js'
export type { ElasticsearchApiKey, ElasticsearchOpType, ElasticsearchSenderOptions } from './sinks/elasticsearch/elasticsearch-sender.js'
export { createFileSender, FileSender } from './sinks/file/file-sender.js'
export type { FileSenderOptions } from './sinks/file/file-sender.js'
export { createHttpSender, HttpSender, redactUrl } from './sinks/http/http-sender.js'
export type { AddedFields, HttpBodyFormat, HttpSenderOptions, SplunkHecOptions } from './sinks/http/http-sender.js'
export { createLokiSender, DEFAULT_LEVEL_LABEL, DEFAULT_MAX_LABEL_NAMES, DEFAULT_MAX_STREAMS, LOKI_PUSH_PATH, LokiSender, STREAM_IDLE_MS } from './sinks/loki/loki-sender.js'
export type { LokiSenderOptions } from './sinks/loki/loki-sender.js'
export { createKafkaSender, KafkaSender } from './sinks/kafka/kafka-sender.js'
export type { KafkaSaslOptions, KafkaSenderOptions, KafkaTlsOptions } from './sinks/kafka/kafka-sender.js'
export { createNatsSender, NatsSender } from './sinks/nats/nats-sender.js'
export type { MissingStreamPolicy, NatsMode, NatsSenderOptions, NatsTlsOptions } from './sinks/nats/nats-sender.js'
export { createRedisSender, RedisSender } from './sinks/redis/redis-sender.js'
export type { RedisMode, RedisSenderOptions, RedisTlsOptions } from './sinks/redis/redis-sender.js'
export { createSyslogSender, SyslogSender } from './sinks/syslog/syslog-sender.js'
export type { SyslogSenderOptions, SyslogTlsOptions, FacilityName } from './sinks/syslog/syslog-sender.js'
export { createMemorySender, MemorySender } from './sinks/memory/memory-sender.js'
export type { MemorySenderOptions } from './sinks/memory/memory-sender.js'
export { toJsonArray, toNdjson } from './sinks/ndjson.js'
export { createOtlpSender, OtlpSender } from './sinks/otlp/otlp-sender.js'
export type { OtlpProtocol, OtlpSenderOptions, ResourceAttributeValue } from './sinks/otlp/otlp-sender.js'
export {
  ALERT_FORMATS,
  createWebhookAlertSender,
  DEFAULT_ALERT_FLUSH_LEVEL,
  DEFAULT_ALERT_LEVEL,
  DEFAULT_ALERT_WINDOW_MS,
  DEFAULT_MAX_ALERT_GROUPS,
  DEFAULT_MAX_ALERTS_PER_WINDOW,
  DEFAULT_MAX_STACK_CHARS,
  DEFAULT_MAX_STACK_LINES,
  WebhookAlertSender,
} from './sinks/webhook/webhook-alert-sender.js'
export type { AlertStats, WebhookAlertSenderOptions, WebhookAlertStats } from './sinks/webhook/webhook-alert-sender.js'
export type { AlertFormat, AlertFormatName, RenderedAlert } from './sinks/webhook/alert-format.js'
export type { AlertGroupView, DigestSnapshot, OtherAlerts, PostReason } from './sinks/webhook/alert-digest.js'
export type { AlertExample } from './sinks/webhook/alert-fields.js'
export type { AlertLayout, AlertRenderContext } from './sinks/webhook/alert-text.js'
