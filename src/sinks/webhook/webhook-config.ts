import type { AlertDigestOptions } from './alert-digest.js'
import type { AlertFormatName } from './alert-format.js'
import type { AlertRenderContext } from './alert-text.js'
import type { PostingOptions } from './posting-loop.js'
import {
  ALERT_FORMATS,
  DEFAULT_ALERT_FLUSH_LEVEL,
  DEFAULT_ALERT_LEVEL,
  DEFAULT_ALERT_WINDOW_MS,
  DEFAULT_MAX_ALERT_GROUPS,
  DEFAULT_MAX_ALERTS_PER_WINDOW,
  DEFAULT_MAX_STACK_CHARS,
  DEFAULT_MAX_STACK_LINES,
  type WebhookAlertSenderOptions,
} from './webhook-options.js'
import type { DeliveryOptions } from '../../config/delivery-options.js'
import { LevelMap } from '../../config/levels.js'
import { resolveDeliveryOptions } from '../../config/resolve.js'
import type { SenderContext } from '../../senders/sender.js'
import { redactUrl } from '../http/http-post.js'

/** A webhook alert sender's options resolved once: defaults filled in, levels and layers resolved. */
export interface WebhookConfig {
  readonly name: string
  /** Records below it are ignored. */
  readonly level: number
  /** A record at or above it posts at once, while the window has posts left. */
  readonly flushLevel: number
  readonly format: AlertFormatName
  /** Scheme and host of the webhook. */
  readonly endpoint: string
  readonly windowMs: number
  /** Most posts per window. */
  readonly maxPosts: number
  readonly maxBodyBytes: number | undefined
  /** The sender's own close deadline, if its options set one. */
  readonly closeTimeoutMs: number | undefined
  readonly render: AlertRenderContext
  readonly digest: AlertDigestOptions
  readonly posting: PostingOptions
}

/**
 * Resolves options the schema has accepted. Throws a ConfigError for a level name the logger does not
 * have (`level`, `flushLevel`).
 */
export function resolveWebhookConfig(options: WebhookAlertSenderOptions, context: SenderContext): WebhookConfig {
  const levels = context.levels ?? new LevelMap()
  const messageKey = context.messageKey ?? 'msg'
  const errorKey = context.errorKey ?? 'err'
  const name = options.name ?? 'webhook'
  // Defaults must not fail a logger without these names (useOnlyCustomLevels); given names must exist.
  const level = options.level === undefined ? levels.resolveDefault(DEFAULT_ALERT_LEVEL) : levels.resolve(options.level, 'level')
  const flushLevel =
    options.flushLevel === undefined ? levels.resolveDefault(DEFAULT_ALERT_FLUSH_LEVEL) : levels.resolve(options.flushLevel, 'flushLevel')
  const format = options.format ?? 'json'
  const maxGroups = options.maxGroups ?? DEFAULT_MAX_ALERT_GROUPS
  // The message, level and error type are shown anyway; other group-by values are shown beside them.
  const shown = new Set([context.levelKey ?? 'level', messageKey, `${errorKey}.type`, `${errorKey}.name`, `${errorKey}.message`])
  return {
    name,
    level,
    flushLevel,
    format,
    endpoint: redactUrl(options.url),
    windowMs: options.windowMs ?? DEFAULT_ALERT_WINDOW_MS,
    maxPosts: options.maxAlertsPerWindow ?? DEFAULT_MAX_ALERTS_PER_WINDOW,
    maxBodyBytes: options.maxBodyBytes ?? ALERT_FORMATS[format].defaultMaxBodyBytes,
    closeTimeoutMs: options.closeTimeoutMs,
    render: {
      title: options.title,
      sender: name,
      levelLabel: (value) => levels.labelOf(value)?.toUpperCase() ?? `LEVEL ${value}`,
      maxGroups,
      extraPaths: (options.groupBy ?? []).filter((path) => !shown.has(path)),
    },
    digest: {
      groupBy: options.groupBy,
      maxGroups,
      messageKey,
      errorKey,
      maxStackLines: options.maxStackLines ?? DEFAULT_MAX_STACK_LINES,
      maxStackChars: options.maxStackChars ?? DEFAULT_MAX_STACK_CHARS,
    },
    posting: { name, ...postingOptions(options, context), random: context.random },
  }
}

/**
 * A post's time limit, rate limit and retries: the sender's own over the transport's top-level ones
 * (`context.defaults`) over the general defaults. From the transport only what suits posts is taken,
 * their retries and their time limit: a queue, batching, a rate limit, a spool or a dead-letter file
 * set for the log senders do not apply to alerts.
 */
function postingOptions(options: WebhookAlertSenderOptions, context: SenderContext): Pick<PostingOptions, 'pool' | 'retry'> {
  const inherited = (context.defaults ?? []).map((layer): DeliveryOptions | undefined =>
    layer ? { retry: layer.retry, pool: layer.pool?.timeoutMs === undefined ? undefined : { timeoutMs: layer.pool.timeoutMs } } : undefined,
  )
  const { pool, retry } = resolveDeliveryOptions(...inherited, { pool: { ...options.pool, concurrency: 1 }, retry: options.retry })
  return { pool, retry }
}
