/**
 * pino-courier: non-blocking, loss-aware log shipping for pino.
 *
 * The default export is the pino transport (`pino.transport({ target: 'pino-courier', options })`);
 * the named exports are the programmatic API.
 */
export { default } from './transport.js'
export { TRANSPORT_EVENTS } from './transport.js'

export { ConfigError, formatOptionPath } from './config-error.js'
export { DEFAULT_LEVELS, LevelMap } from './levels.js'
export type { LevelOption } from './levels.js'
export { createRecord, FALLBACK_LEVEL, LogRecord, RecordParser } from './record.js'
export type { RecordParserOptions } from './record.js'

export { Courier, describeCloseReport } from './courier.js'
export type { CourierCloseReport, CourierEvents, CourierOptions, CourierStats } from './courier.js'
export { CourierStream, createCourierStream } from './courier-stream.js'
export type { CourierStreamEvents, CourierStreamOptions } from './courier-stream.js'
export { parseTransportOptions, transportOptionsSchema, senderSpecSchema } from './options.js'
export type { ModuleSenderSpec, ResolvedTransportOptions, SenderSpec, TransportOptions } from './options.js'
export { createSenders } from './sender-factory.js'
export { createCourierTransport, DEFAULT_SIGNAL_TIMEOUT_MS, DEFAULT_SIGNALS, handleSignals } from './signals.js'
export type {
  CourierPinoTransportOptions,
  CourierTransportOptions,
  CourierTransportStream,
  HandleSignalsOptions,
  SignalTarget,
} from './signals.js'
export type { CourierWarning } from './warner.js'

export { DeliveryError, DeliveryTimeoutError } from './queue/delivery-error.js'
export type { DeliveryErrorOptions } from './queue/delivery-error.js'
export { DROP_REASONS, MAX_RECENT_FAILURES, totalDropped } from './queue/delivery-stats.js'
export type { DropReason, FailureRecord, SenderStats } from './queue/delivery-stats.js'
export {
  DEFAULT_BATCH,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  DEFAULT_RETRY,
} from './queue/queue-options.js'
export type {
  BatchOptions,
  DeliveryOptions,
  OverflowPolicy,
  PoolOptions,
  QueueOptions,
  RateLimitOptions,
  RetryOptions,
} from './queue/queue-options.js'
export { isTransientStatus, parseRetryAfter, RetryPolicy, TRANSIENT_CLIENT_STATUSES } from './queue/retry-policy.js'
export type { RetryDecision } from './queue/retry-policy.js'
export { DeadLetterFile } from './queue/dead-letter-file.js'
export { DEFAULT_SPOOL, MIN_SPOOL_BYTES } from './spool/spool-options.js'
export type { DeadLetterOptions, SpoolFsync, SpoolOptions } from './spool/spool-options.js'
export type { SpoolStats } from './spool/disk-spool.js'

export type { Batch, CloseReport, DeliveryContext, Sender, SenderEvents, Sink } from './senders/sender.js'
export { DEFAULT_CLOSE_TIMEOUT_MS, QueuedSender } from './senders/queued-sender.js'
export type { CommonSenderOptions, RecordObserver, RecordOutcome, SenderContext } from './senders/queued-sender.js'
export { createFileSender, FileSender } from './senders/file-sender.js'
export type { FileSenderOptions } from './senders/file-sender.js'
export { createHttpSender, HttpSender, redactUrl } from './senders/http-sender.js'
export type { HttpBodyFormat, HttpSenderOptions } from './senders/http-sender.js'
export { createMemorySender, MemorySender } from './senders/memory-sender.js'
export type { MemorySenderOptions } from './senders/memory-sender.js'
export { toJsonArray, toNdjson } from './senders/ndjson.js'
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
} from './senders/webhook-alert-sender.js'
export type { AlertStats, WebhookAlertSenderOptions, WebhookAlertStats } from './senders/webhook-alert-sender.js'
export type { AlertFormat, AlertFormatName, RenderedAlert } from './alerts/alert-format.js'
export type { AlertGroupView, DigestSnapshot, OtherAlerts, PostReason } from './alerts/alert-digest.js'
export type { AlertExample } from './alerts/alert-fields.js'
export type { AlertLayout, AlertRenderContext } from './alerts/alert-text.js'
