import { discordRetryAfter } from './formats/discord-format.js'
import type { AlertFormatName } from './alert-format.js'
import type { WebhookAlertSenderOptions } from './webhook-options.js'
import { HttpPoster } from '../http/http-post.js'

/** What a post needs from the poster: its body and an id that stays the same on every attempt. */
export interface PostRequest {
  /** The rendered message, UTF-8. */
  readonly body: Buffer
  /** Random id of the post (a UUID): the `json` format sends it as `Idempotency-Key`. */
  readonly id: string
}

/**
 * Sends one post to the webhook: the headers every post carries, the idempotency key where it helps,
 * and the sink's answer as the shared retry rules read it ({@link HttpPoster}: `Retry-After`, and
 * Discord's `retry_after` in the body).
 */
export class WebhookPoster {
  readonly #http: HttpPoster
  readonly #headers: Record<string, string>
  readonly #idempotency: boolean

  constructor(options: Pick<WebhookAlertSenderOptions, 'url' | 'keepAliveTimeoutMs' | 'headers'>, format: AlertFormatName) {
    this.#http = new HttpPoster({
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

  /** Resolves when the webhook accepted the post; rejects with a DeliveryError (or a network error) otherwise. */
  async post(post: PostRequest, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { ...this.#headers, 'content-length': String(post.body.length) }
    if (this.#idempotency) headers['idempotency-key'] = post.id
    await this.#http.post(post.body, headers, signal)
  }

  /** Ends the keep-alive connection; never rejects. */
  async close(): Promise<void> {
    try {
      await this.#http.close()
    } catch {
      // Closing a broken connection must not turn close() into a rejection: the posts are accounted for.
    }
  }
}
