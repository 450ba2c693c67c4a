import { EventEmitter } from 'node:events'
import type { z } from 'zod'
import type { DigestSnapshot } from './alert-digest.js'
import { renderAlert, type AlertFormatName } from './alert-format.js'
import { AlertWindows } from './alert-windows.js'
import { PostingLoop } from './posting-loop.js'
import { resolveWebhookConfig, type WebhookConfig } from './webhook-config.js'
import { ALERT_FORMATS, webhookAlertSenderOptionsSchema, type WebhookAlertSenderOptions } from './webhook-options.js'
import { WebhookPoster } from './webhook-poster.js'
import { CHECKED, validate } from '../../config/resolve.js'
import type { LogRecord } from '../../input/record.js'
import { closeDeadline } from '../../senders/closing.js'
import type { CloseReport, Sender, SenderContext, SenderEvents } from '../../senders/sender.js'
import { senderCloseReport } from '../../stats/close-report.js'
import type { SenderStats } from '../../stats/delivery-stats.js'
import { Ledger } from '../../stats/ledger.js'
import { defineSinkType } from '../sink-type.js'

// The options, their defaults and the formats have a module of their own; importable from here as before.
export {
  ALERT_FORMATS,
  DEFAULT_ALERT_FLUSH_LEVEL,
  DEFAULT_ALERT_LEVEL,
  DEFAULT_ALERT_WINDOW_MS,
  DEFAULT_MAX_ALERT_GROUPS,
  DEFAULT_MAX_ALERTS_PER_WINDOW,
  DEFAULT_MAX_STACK_CHARS,
  DEFAULT_MAX_STACK_LINES,
  webhookAlertSenderOptionsSchema,
} from './webhook-options.js'
export type { WebhookAlertSenderOptions } from './webhook-options.js'

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

/**
 * Posts alerts to a chat webhook (Slack, Discord, Teams) or a JSON endpoint without spamming it or
 * blocking the logger. The first alert-level record after a quiet spell is posted at once and opens a
 * window of `windowMs`; later ones are grouped (by level, message and error type by default) and
 * posted as one digest when the window ends, which opens the next window. A record at or above
 * `flushLevel` posts the digest at once, within `maxAlertsPerWindow` posts per window
 * ({@link AlertWindows}). Posts go out one at a time through a {@link PostingLoop} (timeouts, retries,
 * `Retry-After`, the rate limit). The stats count log records in a {@link Ledger}: each record ends
 * delivered (in the post that carried it), failed or dropped.
 */
export class WebhookAlertSender extends EventEmitter<SenderEvents> implements Sender {
  readonly name: string
  readonly level: number
  /** Scheme and host of the webhook (the full URL is a credential and is never shown). */
  readonly endpoint: string
  readonly format: AlertFormatName
  readonly #config: WebhookConfig
  readonly #ledger: Ledger
  readonly #windows: AlertWindows
  readonly #posting: PostingLoop
  /** Posts made, by why. */
  readonly #made = { posts: 0, firstAlerts: 0, flushes: 0, digests: 0, truncatedGroups: 0 }
  #closed = false
  #closing: Promise<CloseReport> | undefined

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: WebhookAlertSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    super()
    if (checked !== CHECKED) validate(webhookAlertSenderOptionsSchema, options)
    const config = resolveWebhookConfig(options, context)
    this.#config = config
    this.name = config.name
    this.level = config.level
    this.format = config.format
    this.endpoint = config.endpoint
    this.#ledger = new Ledger(this.name, this, { onSettled: () => this.#posting.settled() })
    this.#windows = new AlertWindows(config, config.digest, (snapshot) => this.#enqueue(snapshot))
    this.#posting = new PostingLoop(config.posting, new WebhookPoster(options, this.format), this.#ledger)
  }

  send(record: LogRecord): boolean {
    // Cheap on purpose: records below the threshold are not parsed and not counted. (A hand-made
    // record with a NaN level counts as below every threshold.)
    if (!(record.level >= this.level)) return true
    const ledger = this.#ledger
    ledger.received()
    if (this.#closed) return ledger.refused({ count: 1, bytes: record.bytes, records: [record] }, 'closed')
    // Collected: the record counts as queued until the post that carries it goes to the worker.
    ledger.queued(record.bytes)
    this.#windows.add(record, Date.now())
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
    return this.#posting.flush()
  }

  /**
   * Posts the pending digest (whatever the window's count of posts), waits for it within the deadline,
   * and reports in log records what could not be delivered. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    return (this.#closing ??= this.#close(closeDeadline(options.timeoutMs, this.#config.closeTimeoutMs)))
  }

  /** Alias of `close()` for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  stats(): WebhookAlertStats {
    const { truncatedGroups, ...made } = this.#made
    const posts = this.#posting.posts
    const windows = this.#windows
    const { suppressed, grouped, otherOccurrences, deferredFlushes } = windows.counts
    return {
      ...this.#ledger.snapshot(),
      alerts: {
        ...made,
        postsDelivered: posts.delivered,
        postsFailed: posts.failed,
        postsDropped: posts.dropped,
        suppressed,
        grouped,
        otherOccurrences,
        truncatedGroups,
        deferredFlushes,
        pending: windows.pending,
        groups: windows.groups,
        windowPosts: windows.windowPosts,
      },
    }
  }

  /** Renders a post within the sink's limits and hands it to the posting loop. */
  #enqueue(snapshot: DigestSnapshot): void {
    const rendered = renderAlert(ALERT_FORMATS[this.format], snapshot, this.#config.render, this.#config.maxBodyBytes)
    const made = this.#made
    made.posts++
    if (snapshot.reason === 'first') made.firstAlerts++
    else if (snapshot.reason === 'flushLevel') made.flushes++
    else made.digests++
    made.truncatedGroups += rendered.omittedGroups
    // The records stay `queued` until the loop hands the post to its worker.
    this.#posting.post(rendered.body, snapshot.level, snapshot.records, snapshot.bytes)
  }

  async #close(timeoutMs: number): Promise<CloseReport> {
    this.#closed = true
    const snapshot = this.#windows.close(Date.now())
    if (snapshot) this.#enqueue(snapshot)
    const { abandoned, timedOut } = await this.#posting.close(timeoutMs)
    return senderCloseReport(this.stats(), { abandoned, timedOut })
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
