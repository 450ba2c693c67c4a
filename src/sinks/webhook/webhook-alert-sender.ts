import { EventEmitter } from 'node:events'
import { z } from 'zod'
import { AlertDigest, type DigestSnapshot, type PostReason } from './alert-digest.js'
import { renderAlert, type AlertFormat, type AlertFormatName } from './alert-format.js'
import type { AlertRenderContext } from './alert-text.js'
import { discordFormat, discordRetryAfter } from './formats/discord-format.js'
import { jsonFormat } from './formats/json-format.js'
import { slackFormat } from './formats/slack-format.js'
import { teamsFormat } from './formats/teams-format.js'
import { durationSchema, setTimer } from '../../timers.js'
import { LevelMap, type LevelOption } from '../../config/levels.js'
import { StatsCounters, totalDropped, type DropReason, type FailureRecord, type SenderStats } from '../../stats/delivery-stats.js'
import type { DeliveryOptions, RateLimitOptions, RetryOptions } from '../../config/delivery-options.js'
import { commonSenderShape, levelSchema, rateLimitSchema, retryOptionsSchema } from '../../config/schema.js'
import { CHECKED, validate } from '../../config/resolve.js'
import { defineSinkType } from '../sink-type.js'
import { LogRecord } from '../../input/record.js'
import { HttpPoster, httpUrlSchema, redactUrl } from '../http/http-post.js'
import { closeDeadline, QueuedSender, type RecordOutcome } from '../../senders/queued-sender.js'
import type { Batch, CloseReport, DeliveryContext, Sender, SenderContext, SenderEvents, Sink } from '../../senders/sender.js'

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
  // A headline, the window line and a "… N more" line always fit in 2 KiB; the engine takes posts up to 1 MiB.
  maxBodyBytes: z.number().int().min(2048).max(1024 * 1024).optional(),
  title: z.string().min(1).max(150).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  keepAliveTimeoutMs: durationSchema(1).optional(),
  pool: z
    .strictObject({
      timeoutMs: durationSchema(1).optional(),
      rateLimit: rateLimitSchema.optional(),
    })
    .optional(),
  retry: retryOptionsSchema.optional(),
})

/**
 * The posting engine's fixed options: one post per batch, one at a time (alerts stay in order), sent
 * as soon as it is made. Posts waiting behind a slow sink are few (at most `maxAlertsPerWindow` a
 * window); if a hundred pile up, the oldest of the lowest level give way, counted.
 */
const ENGINE_OPTIONS: DeliveryOptions = {
  queue: { maxRecords: 100, maxBytes: 32 * 1024 * 1024, maxRecordBytes: 2 * 1024 * 1024, overflow: 'drop-oldest' },
  batch: { maxRecords: 1, maxBytes: 1, maxWaitMs: 0, flushLevel: 0 },
  spool: false,
  deadLetter: false,
}

/** Alert counters, besides the record-unit ledger. */
export interface AlertStats {
  /** Posts made (each one request, retries aside). */
  readonly posts: number
  /** Posts of the first alert after a quiet spell. */
  readonly firstAlerts: number
  /** Posts made at once for a record at or above `flushLevel`. */
  readonly flushes: number
  /** Digest posts: at the end of a window, or at close. */
  readonly digests: number
  /** Posts the sink accepted, that failed for good, that were dropped. */
  readonly postsDelivered: number
  readonly postsFailed: number
  readonly postsDropped: number
  /** Records that did not get a post of their own: they went out counted in a digest. */
  readonly suppressed: number
  /** Records that joined a group already open in their window (deduplicated). */
  readonly grouped: number
  /** Records counted in the "other" bucket because the window had `maxGroups` groups already. */
  readonly otherOccurrences: number
  /** Groups left out of posts to fit the sink's limits (summed up in a "… N more" line). */
  readonly truncatedGroups: number
  /** Records at or above `flushLevel` that could not post at once: the window's posts were used up. */
  readonly deferredFlushes: number
  /** Records collected and not yet in a post. */
  readonly pending: number
  /** Groups in the current window. */
  readonly groups: number
  /** Posts made in the current window. */
  readonly windowPosts: number
}

/** A webhook alert sender's stats: the ledger in log records, plus the alert counters. */
export interface WebhookAlertStats extends SenderStats {
  readonly alerts: AlertStats
}

/** One post on its way: the engine's record, standing for the log records it carries. */
class AlertPost extends LogRecord {
  /** Log records the post carries. */
  readonly records: number
  /** Bytes of their lines. */
  readonly recordBytes: number
  inFlight = false

  constructor(body: string, level: number, records: number, recordBytes: number) {
    super(body, level)
    this.records = records
    this.recordBytes = recordBytes
  }
}

class WebhookSink implements Sink {
  readonly poster: HttpPoster
  readonly #headers: Record<string, string>
  readonly #idempotency: boolean

  constructor(options: WebhookAlertSenderOptions, format: AlertFormatName) {
    this.poster = new HttpPoster({
      url: options.url,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      ...(format === 'discord' ? { retryAfterFromBody: discordRetryAfter } : {}),
    })
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'pino-courier',
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.#headers = headers
    // A generic endpoint may drop a post it has already taken; chat services ignore the header.
    this.#idempotency = format === 'json'
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void> {
    // One post per batch (batch.maxRecords is 1); a loop keeps any other shape correct, in order.
    for (const post of batch.records) {
      const body = Buffer.from(post.line, 'utf8')
      const headers: Record<string, string> = { ...this.#headers, 'content-length': String(body.length) }
      if (this.#idempotency) headers['idempotency-key'] = batch.id
      await this.poster.post(body, headers, signal)
    }
  }

  close(): Promise<void> {
    return this.poster.close()
  }
}

interface Window {
  readonly start: number
  readonly end: number
  posts: number
}

/**
 * Posts alerts to a chat webhook (Slack, Discord, Teams) or a JSON endpoint without spamming it or
 * blocking the logger. The first alert-level record after a quiet spell is posted at once and opens a
 * window of `windowMs`; later ones are grouped (by level, message and error type by default) and
 * posted as one digest when the window ends, which opens the next window. A record at or above
 * `flushLevel` posts the digest at once, within `maxAlertsPerWindow` posts per window. Posts go
 * through a {@link QueuedSender} (one at a time, with its timeouts, retries and `Retry-After`); the
 * stats count log records, each of which ends delivered (in the post that carried it), failed or
 * dropped.
 */
export class WebhookAlertSender extends EventEmitter<SenderEvents> implements Sender {
  readonly name: string
  readonly level: number
  /** Scheme and host of the webhook (the full URL is a credential and is never shown). */
  readonly endpoint: string
  readonly format: AlertFormatName
  readonly #flushLevel: number
  readonly #windowMs: number
  readonly #maxPosts: number
  readonly #maxBodyBytes: number | undefined
  readonly #closeTimeoutMs: number | undefined
  readonly #render: AlertRenderContext
  readonly #digest: AlertDigest
  readonly #engine: QueuedSender
  readonly #stats = new StatsCounters()
  readonly #alerts = {
    posts: 0,
    firstAlerts: 0,
    flushes: 0,
    digests: 0,
    postsDelivered: 0,
    postsFailed: 0,
    postsDropped: 0,
    suppressed: 0,
    grouped: 0,
    otherOccurrences: 0,
    truncatedGroups: 0,
    deferredFlushes: 0,
  }
  #window: Window | undefined
  #timer: NodeJS.Timeout | undefined
  #abandoned = 0
  #closed = false
  #closing: Promise<CloseReport> | undefined

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: WebhookAlertSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    super()
    if (checked !== CHECKED) validate(webhookAlertSenderOptionsSchema, options)
    const levels = context.levels ?? new LevelMap()
    const messageKey = context.messageKey ?? 'msg'
    const errorKey = context.errorKey ?? 'err'
    this.name = options.name ?? 'webhook'
    // Defaults must not fail a logger without these names (useOnlyCustomLevels); given names must exist.
    this.level = options.level === undefined ? levels.resolveDefault(DEFAULT_ALERT_LEVEL) : levels.resolve(options.level, 'level')
    this.#flushLevel =
      options.flushLevel === undefined
        ? levels.resolveDefault(DEFAULT_ALERT_FLUSH_LEVEL)
        : levels.resolve(options.flushLevel, 'flushLevel')
    this.format = options.format ?? 'json'
    this.endpoint = redactUrl(options.url)
    this.#windowMs = options.windowMs ?? DEFAULT_ALERT_WINDOW_MS
    this.#maxPosts = options.maxAlertsPerWindow ?? DEFAULT_MAX_ALERTS_PER_WINDOW
    this.#closeTimeoutMs = options.closeTimeoutMs
    const format = ALERT_FORMATS[this.format]
    this.#maxBodyBytes = options.maxBodyBytes ?? format.defaultMaxBodyBytes
    const maxGroups = options.maxGroups ?? DEFAULT_MAX_ALERT_GROUPS
    // The message, level and error type are shown anyway; other group-by values are shown beside them.
    const shown = new Set([context.levelKey ?? 'level', messageKey, `${errorKey}.type`, `${errorKey}.name`, `${errorKey}.message`])
    this.#render = {
      title: options.title,
      sender: this.name,
      levelLabel: (level) => levels.labelOf(level)?.toUpperCase() ?? `LEVEL ${level}`,
      maxGroups,
      extraPaths: (options.groupBy ?? []).filter((path) => !shown.has(path)),
    }
    this.#digest = new AlertDigest({
      groupBy: options.groupBy,
      maxGroups,
      messageKey,
      errorKey,
      maxStackLines: options.maxStackLines ?? DEFAULT_MAX_STACK_LINES,
      maxStackChars: options.maxStackChars ?? DEFAULT_MAX_STACK_CHARS,
    })

    const sink = new WebhookSink(options, this.format)
    // From the transport's defaults only what suits posts: their retries and their time limit. A queue,
    // batching, a spool or a dead-letter file set for the log senders do not apply to alerts.
    const inherited = (context.defaults ?? []).map((layer): DeliveryOptions | undefined =>
      layer ? { retry: layer.retry, pool: layer.pool?.timeoutMs === undefined ? undefined : { timeoutMs: layer.pool.timeoutMs } } : undefined,
    )
    this.#engine = new QueuedSender(
      {
        ...ENGINE_OPTIONS,
        name: this.name,
        pool: { ...options.pool, concurrency: 1 },
        ...(options.retry ? { retry: options.retry } : {}),
      },
      sink,
      {
        ...(context.random ? { random: context.random } : {}),
        defaults: inherited,
        observer: {
          dispatched: (posts) => this.#dispatched(posts),
          settled: (posts, outcome, failure) => this.#settled(posts, outcome, failure),
        },
      },
    )
    this.#engine.on('retry', (retry) => {
      // One post is in flight at a time: the records in flight are the ones being sent again.
      const records = this.#stats.inFlight
      this.#stats.retried += records
      if (this.listenerCount('retry') > 0) this.emit('retry', { ...retry, sender: this.name, records })
    })
  }

  send(record: LogRecord): boolean {
    // Cheap on purpose: records below the threshold are not parsed and not counted. (A hand-made
    // record with a NaN level counts as below every threshold.)
    if (!(record.level >= this.level)) return true
    const stats = this.#stats
    stats.received++
    if (this.#closed) {
      stats.dropped.closed++
      if (this.listenerCount('drop') > 0) this.emit('drop', { sender: this.name, reason: 'closed', records: 1 })
      return true
    }
    const now = Date.now()
    const taken = this.#digest.add(record, now)
    stats.queued++
    stats.queuedBytes += record.bytes
    if (taken === 'grouped') this.#alerts.grouped++
    else if (taken === 'other') this.#alerts.otherOccurrences++

    const window = this.#window
    if (window === undefined) {
      this.#post('first', this.#openWindow(now), now)
      return true
    }
    if (record.level >= this.#flushLevel) {
      if (window.posts < this.#maxPosts) {
        this.#post('flushLevel', window, now)
        return true
      }
      this.#alerts.deferredFlushes++
    }
    this.#alerts.suppressed++
    return true
  }

  /** Never makes the reader wait: posts are few and the collected alerts are bounded by `maxGroups`. */
  ready(): Promise<void> {
    return Promise.resolve()
  }

  /**
   * Resolves when every post made so far has been delivered, failed or dropped. Alerts collected for
   * the window's digest stay collected (flushing them would defeat the window): they count as
   * `queued` until the window ends or the sender closes.
   */
  flush(): Promise<void> {
    return this.#engine.flush()
  }

  /**
   * Posts the pending digest (whatever the window's count of posts), waits for it within the deadline,
   * and reports in log records what could not be delivered. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    return (this.#closing ??= this.#close(closeDeadline(options.timeoutMs, this.#closeTimeoutMs)))
  }

  /** Alias of `close()` for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  stats(): WebhookAlertStats {
    this.#stats.attempts = this.#engine.stats().attempts
    return {
      ...this.#stats.snapshot(this.name),
      alerts: {
        ...this.#alerts,
        pending: this.#digest.pending,
        groups: this.#digest.groups,
        windowPosts: this.#window?.posts ?? 0,
      },
    }
  }

  // ---- windows and posts -------------------------------------------------------------------

  #openWindow(now: number): Window {
    const window: Window = { start: now, end: now + this.#windowMs, posts: 0 }
    this.#window = window
    this.#timer = setTimer(() => this.#windowEnded(), this.#windowMs)
    // A quiet app must be able to exit: pino closes the transport at exit, and close() posts the digest.
    this.#timer.unref?.()
    return window
  }

  /**
   * The window is over: what it collected goes out as one digest, and a new window opens with that
   * digest as its first post, so a steady storm gives one post per window. A quiet window just ends:
   * the next alert is posted at once.
   */
  #windowEnded(): void {
    const ended = this.#window
    this.#timer = undefined
    this.#window = undefined
    if (!ended) return
    const now = Date.now()
    const snapshot = this.#digest.take('window', ended, now)
    this.#digest.clear()
    if (!snapshot) return
    const next = this.#openWindow(now)
    next.posts++
    this.#enqueue(snapshot)
  }

  #post(reason: Exclude<PostReason, 'window' | 'close'>, window: Window, now: number): void {
    const snapshot = this.#digest.take(reason, window, now)
    if (!snapshot) return
    window.posts++
    this.#enqueue(snapshot)
  }

  /** Renders a post within the sink's limits and hands it to the engine. */
  #enqueue(snapshot: DigestSnapshot): void {
    const rendered = renderAlert(ALERT_FORMATS[this.format], snapshot, this.#render, this.#maxBodyBytes)
    const alerts = this.#alerts
    alerts.posts++
    if (snapshot.reason === 'first') alerts.firstAlerts++
    else if (snapshot.reason === 'flushLevel') alerts.flushes++
    else alerts.digests++
    alerts.truncatedGroups += rendered.omittedGroups
    // The records stay `queued` until the engine hands the post to a worker (see #dispatched).
    this.#engine.send(new AlertPost(rendered.body, snapshot.level, snapshot.records, snapshot.bytes))
  }

  // ---- posts back to records ----------------------------------------------------------------

  #dispatched(posts: readonly LogRecord[]): void {
    const stats = this.#stats
    for (const record of posts) {
      const post = record as AlertPost
      post.inFlight = true
      stats.queued -= post.records
      stats.queuedBytes -= post.recordBytes
      stats.inFlight += post.records
    }
  }

  #settled(posts: readonly LogRecord[], outcome: RecordOutcome, failure: FailureRecord | undefined): void {
    const stats = this.#stats
    const alerts = this.#alerts
    for (const record of posts) {
      const post = record as AlertPost
      const records = post.records
      if (post.inFlight) stats.inFlight -= records
      else {
        stats.queued -= records
        stats.queuedBytes -= post.recordBytes
      }
      post.inFlight = false
      if (outcome === 'delivered') {
        alerts.postsDelivered++
        stats.delivered += records
        stats.deliveredBytes += post.bytes - 1
      } else if (outcome === 'failed') {
        alerts.postsFailed++
        stats.failed += records
        const failed = { ...(failure ?? { at: Date.now(), attempts: 0, reason: 'permanent' as const, error: 'failed' }), records }
        stats.addFailure(failed)
        if (this.listenerCount('failure') > 0) this.emit('failure', { ...failed, sender: this.name })
      } else {
        // The engine has no spool: `spooled` cannot happen; counted as a spool error if it ever did.
        const reason: DropReason = outcome === 'spooled' ? 'spoolError' : outcome
        alerts.postsDropped++
        stats.dropped[reason] += records
        if (reason === 'closed') this.#abandoned += records
        if (this.listenerCount('drop') > 0) this.emit('drop', { sender: this.name, reason, records })
      }
    }
  }

  async #close(timeoutMs: number): Promise<CloseReport> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = Date.now()
    const snapshot = this.#digest.take('close', this.#window ?? { start: now, end: now }, now)
    this.#digest.clear()
    this.#window = undefined
    if (snapshot) this.#enqueue(snapshot)
    const report = await this.#engine.close({ timeoutMs })
    const stats = this.stats()
    return {
      name: this.name,
      undelivered: stats.failed + totalDropped(stats),
      abandonedAtDeadline: this.#abandoned,
      spooled: 0,
      timedOut: report.timedOut,
      stats,
    }
  }
}

/**
 * Creates a sender that posts error alerts and digests to a chat webhook.
 * @example createWebhookAlertSender({ url: process.env.SLACK_WEBHOOK_URL, format: 'slack', title: 'checkout (prod)' })
 */
export function createWebhookAlertSender(options: WebhookAlertSenderOptions, context?: SenderContext): WebhookAlertSender {
  return new WebhookAlertSender(options, context)
}

/** `{ type: 'webhook', url, format, … }` in the transport options. */
export const webhookSinkType = defineSinkType({
  type: 'webhook',
  schema: webhookAlertSenderOptionsSchema as z.ZodType<WebhookAlertSenderOptions>,
  queued: false,
  create: (options: WebhookAlertSenderOptions, context) => new WebhookAlertSender(options, context, CHECKED),
})
