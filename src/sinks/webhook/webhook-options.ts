/**
 * What a webhook alert sender is configured with: its options (the documented type and the schema that
 * checks them), their defaults, and the formats by name.
 */
import { z } from 'zod'
import { headersSchema } from '../shared/headers-schema.js'
import type { AlertFormat, AlertFormatName } from './alert-format.js'
import { discordFormat } from './formats/discord-format.js'
import { jsonFormat } from './formats/json-format.js'
import { slackFormat } from './formats/slack-format.js'
import { teamsFormat } from './formats/teams-format.js'
import type { RateLimitOptions, RetryOptions } from '../../config/delivery-options.js'
import type { LevelOption } from '../../config/levels.js'
import { commonSenderShape, levelSchema, rateLimitSchema, retryOptionsSchema } from '../../config/schema.js'
import { durationSchema } from '../../timers.js'
import { httpUrlSchema } from '../http/http-post.js'

/**
 * Default threshold of the webhook alert sender: errors and worse. A logger without an `error` level
 * (`useOnlyCustomLevels`) gets pino's number for it, 50.
 */
export const DEFAULT_ALERT_LEVEL = 'error'
/**
 * Default `flushLevel`: a fatal record posts what was collected at once. A logger without a `fatal`
 * level gets pino's number for it, 60.
 */
export const DEFAULT_ALERT_FLUSH_LEVEL = 'fatal'
/** Default `windowMs`: one digest a minute at most, in a steady storm. */
export const DEFAULT_ALERT_WINDOW_MS = 60_000
/**
 * Default `maxAlertsPerWindow`. Five posts a minute leave room for the first alert and a few fatal
 * flushes, stay far below what chat webhooks allow (Slack about one message a second, Discord 30 a
 * minute per channel) and keep a channel readable during an incident: a storm costs at most five
 * messages a minute plus the digest that ends it.
 */
export const DEFAULT_MAX_ALERTS_PER_WINDOW = 5
/** Default `maxGroups`: distinct kinds of alert tracked per window; the rest are counted as other. */
export const DEFAULT_MAX_ALERT_GROUPS = 100
/** Default `maxStackLines`: enough frames to see where, few enough to read in a channel. */
export const DEFAULT_MAX_STACK_LINES = 10
/** Default `maxStackChars`. */
export const DEFAULT_MAX_STACK_CHARS = 2000

/** The formats by name. */
export const ALERT_FORMATS: Readonly<Record<AlertFormatName, AlertFormat>> = Object.freeze({
  slack: slackFormat,
  discord: discordFormat,
  teams: teamsFormat,
  json: jsonFormat,
})

/** Options of {@link createWebhookAlertSender}. */
export interface WebhookAlertSenderOptions {
  /** Name in stats and warnings; unique within a courier. @default 'webhook' */
  name?: string
  /**
   * Records below this level are ignored (not parsed, not counted). A name you write must be one of
   * the logger's levels; the default falls back to pino's 50 when the logger has no `error` level.
   * @default 'error'
   */
  level?: LevelOption
  /** Deadline of `close()` in ms, which posts the pending digest. @default 5000 */
  closeTimeoutMs?: number
  /**
   * The webhook URL (http or https). It is a credential (Slack and Discord tokens live in its path):
   * messages, warnings and stats show only its scheme and host.
   */
  url: string
  /**
   * Body format: `slack` (incoming webhook, text + blocks), `discord` (content + embeds), `teams`
   * (an Adaptive Card, as Teams Workflows and incoming webhooks take it) or `json` (the digest as
   * structured data). @default 'json'
   */
  format?: AlertFormatName
  /**
   * A record at or above this level posts the digest at once, while the window has posts left. A name
   * you write must be one of the logger's levels; the default falls back to pino's 60 when the logger
   * has no `fatal` level.
   * @default 'fatal'
   */
  flushLevel?: LevelOption
  /** Length of a window: later alerts are collected into a digest posted when it ends. @default 60000 */
  windowMs?: number
  /** Most posts per window: the first alert and flushes; the digest that ends a window opens the next. @default 5 */
  maxAlertsPerWindow?: number
  /**
   * Field paths records are grouped by (`['msg', 'err.type', 'req.url']`).
   * @default level, message and error type (`err.type`, or `err.name`)
   */
  groupBy?: string[]
  /** Most groups per window; occurrences of further kinds are counted as "other". @default 100 */
  maxGroups?: number
  /** Most stack frames of a group's example. @default 10 */
  maxStackLines?: number
  /** Most characters of those frames. @default 2000 */
  maxStackChars?: number
  /**
   * Largest body in UTF-8 bytes; a digest is cut down to fit (details first, then groups, with a
   * "… N more" line). @default json 65536, teams 18000, slack and discord none (their own limits are tighter)
   */
  maxBodyBytes?: number
  /** A label in front of every headline (service, environment). @default none */
  title?: string
  /** Extra request headers; they override `content-type` and `user-agent`. @default {} */
  headers?: Record<string, string>
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /**
   * Time limit of one post attempt, and an optional rate limit of posts. Posts go one at a time
   * (the concurrency is fixed at 1, so that alerts arrive in order).
   * @default { timeoutMs: 10000 } (no rate limit)
   */
  pool?: { timeoutMs?: number; rateLimit?: RateLimitOptions }
  /** Retries of a post (429 with `Retry-After`, 5xx, 408, network errors), as for every sender. @default the general retry defaults */
  retry?: RetryOptions
}

const fieldPath = z
  .string()
  .max(200)
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a field path such as "err.type"')

/** Checks {@link WebhookAlertSenderOptions}: a strict object, so a misspelt option is an error. */
export const webhookAlertSenderOptionsSchema = z.strictObject({
  name: commonSenderShape.name,
  level: commonSenderShape.level,
  closeTimeoutMs: commonSenderShape.closeTimeoutMs,
  url: httpUrlSchema,
  format: z.enum(['slack', 'discord', 'teams', 'json']).optional(),
  flushLevel: levelSchema.optional(),
  // setTimeout's limit is about 24.8 days; a day is plenty for a window.
  windowMs: z.number().int().min(100).max(86_400_000).optional(),
  maxAlertsPerWindow: z.number().int().min(1).max(1000).optional(),
  groupBy: z.array(fieldPath).min(1).max(20).optional(),
  maxGroups: z.number().int().min(1).max(10_000).optional(),
  maxStackLines: z.number().int().min(0).max(500).optional(),
  maxStackChars: z.number().int().min(0).max(100_000).optional(),
  // A headline, the window line and a "… N more" line always fit in 2 KiB; posts go out up to 2 MiB (post-backlog.ts).
  maxBodyBytes: z.number().int().min(2048).max(1024 * 1024).optional(),
  title: z.string().min(1).max(150).optional(),
  headers: headersSchema.optional(),
  keepAliveTimeoutMs: durationSchema(1).optional(),
  pool: z
    .strictObject({
      timeoutMs: durationSchema(1).optional(),
      rateLimit: rateLimitSchema.optional(),
    })
    .optional(),
  retry: retryOptionsSchema.optional(),
})
