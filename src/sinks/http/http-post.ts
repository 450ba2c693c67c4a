import http from 'node:http'
import https from 'node:https'
import { z } from 'zod'
import { DeliveryError } from '../../pool/delivery-error.js'
import { isTransientStatus, parseRetryAfter } from '../../pool/retry-policy.js'
import { setTimer } from '../../timers.js'
import { headerSecrets, quoteRedacted, safeDecode, secretNeedles, urlSecrets, type SecretNeedle } from './redact.js'


/**
 * An http(s) endpoint option. Credentials in it become a Basic authorization header, so a malformed
 * percent-escape in them is refused here rather than sent garbled.
 */
export const httpUrlSchema = z
  .url({ protocol: /^https?$/, message: 'Invalid URL (expected http:// or https://)' })
  .refine((value) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      // Not a URL at all: z.url() has said so already.
      return true
    }
    return [url.username, url.password].every(decodable)
  }, "malformed percent-escape in the URL's credentials")

function decodable(part: string): boolean {
  try {
    decodeURIComponent(part)
    return true
  } catch {
    return false
  }
}

/**
 * Default of `keepAliveTimeoutMs`: below the 5 s idle timeout of many servers (Node's own among
 * them), so that we close an idle connection before the server does.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4000

/** Largest 2xx answer {@link HttpPoster.postForAnswer} reads by default (a bulk answer names every item). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024

/** Most characters of an error response body quoted in a failure message. */
const MAX_ERROR_BODY = 512

/** Options of {@link HttpPoster}. */
export interface HttpPosterOptions {
  /** Endpoint (http or https). Credentials in it become a Basic `authorization` header. */
  url: string
  /** HTTP method. @default 'POST' */
  method?: 'POST' | 'PUT'
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /**
   * Reads how long to wait (ms) from an error response's body, for sinks that say it there rather
   * than (or besides) in `Retry-After`: Discord's JSON `retry_after`. Gets at most the first 512
   * characters of the body. @default none
   */
  retryAfterFromBody?: (body: string) => number | undefined
  /**
   * The backend's standard path (`/v1/logs`, `/loki/api/v1/push`), whose segments are not secrets:
   * answers name them ("logs dropped"), and cutting them out garbles the quote. @default none
   */
  publicPath?: string
  /** Other secrets a server could echo, cut out of quoted answers too (an Elasticsearch `api_key`, sent encoded). @default none */
  secrets?: readonly string[]
}

/** The scheme and host of a URL: what messages may show of an endpoint that could carry secrets. */
export function redactUrl(url: URL | string): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return '<invalid url>'
  }
}

/**
 * Posts request bodies to one endpoint over Node's own keep-alive agent, and turns every outcome
 * into the shared retry rules: a 2xx resolves; 408, 429 and 5xx reject with a transient
 * {@link DeliveryError} carrying `Retry-After`; other statuses reject with a permanent one; network
 * errors are transient. The URL is a credential (tokens live in webhook paths): messages name only
 * its scheme and host, and a quoted error body has the URL's path, query and userinfo cut out.
 */
export class HttpPoster {
  /** Scheme and host of the endpoint: all that messages show of it. */
  readonly origin: string
  readonly #url: URL
  /** Parts of the URL that may be credentials (path, query, userinfo) and `secrets`, as redactText takes them. */
  readonly #secrets: readonly SecretNeedle[]
  readonly #method: 'POST' | 'PUT'
  readonly #authorization: string | undefined
  readonly #keepAliveTimeout: number
  readonly #retryAfterFromBody: ((body: string) => number | undefined) | undefined
  #agent: http.Agent | undefined
  /** Connections per origin: the sender's concurrency, set once the sender's options are resolved. */
  connections = 1

  constructor(options: HttpPosterOptions) {
    const url = new URL(options.url)
    this.#secrets = secretNeedles([...urlSecrets(url, options.publicPath), ...(options.secrets ?? [])])
    if (url.username || url.password) {
      const user = safeDecode(url.username)
      const pass = safeDecode(url.password)
      this.#authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      url.username = ''
      url.password = ''
    }
    this.#url = url
    this.origin = redactUrl(url)
    this.#method = options.method ?? 'POST'
    this.#keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS
    this.#retryAfterFromBody = options.retryAfterFromBody
  }

  /**
   * Sends `body` with `headers` (lower-case names; an `authorization` among them wins over the URL's
   * credentials). Resolves as soon as a 2xx status is in; rejects with a {@link DeliveryError} otherwise.
   *
   * A 2xx status is the sink's acceptance: the body that follows is not waited for (it is read and
   * discarded in the background, see {@link discardBody}), so a body that trickles or stalls neither
   * holds the worker nor turns an accepted batch into a timeout and a duplicate. A sink whose outcome
   * is in the 2xx body (bulk APIs, partial success) must read that body under the attempt's signal
   * instead, and treat a body that stalls past the deadline or breaks off as an unknown outcome: the
   * batch is tried again (at least once, so duplicates are possible).
   */
  async post(body: Buffer | readonly Buffer[], headers: Record<string, string>, signal: AbortSignal): Promise<void> {
    const response = await this.#accepted(body, headers, signal)
    // A short body has usually arrived with the status: reading it to its end (a tick) frees the
    // connection for the next batch. One still on its way is not waited for.
    if (response.complete) await consumed(response)
    else discardBody(response)
  }

  /**
   * Like {@link post}, for sinks whose outcome is in the 2xx body (Elasticsearch's bulk items, OTLP's
   * partial success): resolves with the status and the body, read to its end under `signal` (the
   * attempt's timeout). A body longer than `maxBytes` or one that breaks off leaves the outcome
   * unknown: that rejects with a transient DeliveryError, so the batch is tried again (the sink may
   * have taken it: with an idempotent id, as Elasticsearch has, that is harmless).
   *
   * `answers`: other statuses whose body the sink reads itself rather than have them rejected (Loki's
   * 400 says which entries it refused and that it took the rest). Quote such a body through
   * {@link quote}: it may echo credentials.
   */
  async postForAnswer(
    body: Buffer | readonly Buffer[],
    headers: Record<string, string>,
    signal: AbortSignal,
    { maxBytes = MAX_ANSWER_BYTES, answers }: { maxBytes?: number; answers?: (status: number) => boolean } = {},
  ): Promise<{ status: number; body: Buffer; retryAfterMs: number | undefined }> {
    const response = await this.#accepted(body, headers, signal, answers)
    const status = response.statusCode ?? 0
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'])
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of response) {
        size += (chunk as Buffer).length
        if (size > maxBytes) throw new DeliveryError(`the answer from ${this.origin} is over ${maxBytes} bytes: outcome unknown`, { status })
        chunks.push(chunk as Buffer)
      }
      if (!response.complete) throw new Error('incomplete')
    } catch (error) {
      response.destroy()
      if (error instanceof DeliveryError) throw error
      const reason = signal.aborted && signal.reason instanceof Error ? signal.reason : error
      throw new DeliveryError(`the answer from ${this.origin} broke off (HTTP ${status}): outcome unknown`, { status, cause: reason })
    }
    return { status, body: Buffer.concat(chunks, size), retryAfterMs }
  }

  /** Sends the body; resolves with a 2xx response (its body unread), rejects with a DeliveryError otherwise. */
  async #accepted(
    body: Buffer | readonly Buffer[],
    headers: Record<string, string>,
    signal: AbortSignal,
    answers?: (status: number) => boolean,
  ): Promise<http.IncomingMessage> {
    const all = this.#authorization ? { authorization: this.#authorization, ...headers } : headers
    const response = await this.#send(body, all, signal)
    const status = response.statusCode ?? 0
    if ((status >= 200 && status < 300) || answers?.(status)) return response
    // Read more than is quoted: a secret that straddles the quote's end must be whole to be found.
    const { text, cutOff } = await readSome(response, MAX_ERROR_BODY + MAX_SECRET_READ)
    // Servers often echo the request path, query or headers in error pages ("Cannot POST
    // /ingest/<token>"): the quoted body must not carry the URL's secrets, nor the credentials sent
    // in headers, into messages, stats and warnings.
    const detail = quoteBody(text, cutOff, [...this.#secrets, ...secretNeedles(headerSecrets(all))])
    throw new DeliveryError(`HTTP ${status} from ${this.origin}${detail ? `: ${detail}` : ''}`, {
      status,
      permanent: !isTransientStatus(status),
      retryAfterMs: this.#retryAfter(response, text),
    })
  }

  /**
   * Text from the sink (an answer's error reasons) made fit for a message: whitespace folded, the
   * URL's secrets and those of `headers` cut out, at most `limit` characters.
   */
  quote(text: string, headers: Record<string, string> = {}, limit = MAX_ERROR_BODY): string {
    const all = this.#authorization ? { authorization: this.#authorization, ...headers } : headers
    try {
      return quoteRedacted(text.replace(/\s+/g, ' ').trim(), limit, [...this.#secrets, ...secretNeedles(headerSecrets(all))])
    } catch {
      return '(not shown)'
    }
  }

  close(): Promise<void> {
    // Called after the last delivery (or past the close deadline): nothing left worth waiting for.
    this.#agent?.destroy()
    return Promise.resolve()
  }

  /**
   * `Retry-After`, or else the body's own delay. The header wins when both are there: its unit is
   * fixed by the standard, whereas a body's depends on the API version (Discord's unversioned
   * webhook URLs have answered `retry_after` in milliseconds as well as in seconds).
   */
  #retryAfter(response: http.IncomingMessage, body: string): number | undefined {
    const header = parseRetryAfter(response.headers['retry-after'])
    if (header !== undefined) return header
    let fromBody: number | undefined
    try {
      fromBody = this.#retryAfterFromBody?.(body)
    } catch {
      // A body that is not what the sink usually sends: the header (or the backoff) decides.
    }
    if (fromBody === undefined || !Number.isFinite(fromBody) || fromBody < 0) return undefined
    return fromBody
  }

  /**
   * Node's own keep-alive agent, one connection per worker. (undici was measured against it: loading
   * it and the tier-up of its WebAssembly HTTP parser cost the worker ~20 MB of peak RSS, for a
   * client that sends a few large requests a second.)
   */
  #pool(): http.Agent {
    const options: http.AgentOptions = {
      keepAlive: true,
      maxSockets: this.connections,
      // A free socket idle this long is closed; in-flight requests are bounded by pool.timeoutMs.
      timeout: this.#keepAliveTimeout,
    }
    return (this.#agent ??= this.#url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options))
  }

  /**
   * Sends the body. A server may close an idle keep-alive connection just as it is reused; the
   * request then fails before the server has read it, so it goes again at once on another connection
   * (Node's documented pattern), without costing the batch an attempt and a backoff.
   */
  async #send(body: Buffer | readonly Buffer[], headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.#request(body, headers, signal)
      } catch (error) {
        const stale = error instanceof StaleConnectionError
        if (!stale || tries > this.connections || signal.aborted) throw stale ? error.error : error
      }
    }
  }

  /** Sends the body; resolves with the response once its head is in. Network errors are transient. */
  #request(body: Buffer | readonly Buffer[], headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const client = this.#url.protocol === 'https:' ? https : http
      const request = client.request(this.#url, {
        method: this.#method,
        headers,
        agent: this.#pool(),
        signal,
      })
      request.on('response', (response) => {
        // A reset while the body streams in must not become an unhandled 'error' event.
        response.on('error', () => undefined)
        resolve(response)
      })
      request.on('error', (error: NodeJS.ErrnoException) => {
        // The message names only scheme and host; an abort reports the attempt's own reason.
        const reason = signal.aborted && signal.reason instanceof Error ? signal.reason : error
        const failed = new DeliveryError(`request to ${this.origin} failed: ${describeNetworkError(reason)}`, {
          cause: reason,
        })
        const stale = request.reusedSocket && !signal.aborted && STALE_SOCKET_CODES.has(error.code ?? '')
        reject(stale ? new StaleConnectionError(failed) : failed)
      })
      // A body in pieces (slices of the record log) is written piece by piece: no copy into one buffer.
      if (Buffer.isBuffer(body)) request.end(body)
      else {
        for (const piece of body) request.write(piece)
        request.end()
      }
    })
  }
}

/**
 * The part of an error body a failure message quotes: whitespace folded, secrets cut out, at most
 * MAX_ERROR_BODY characters. Should redaction itself fail, nothing of the body is shown: the status
 * alone decides what happens to the batch.
 */
function quoteBody(text: string, cutOff: boolean, needles: readonly SecretNeedle[]): string {
  try {
    return quoteRedacted(text.replace(/\s+/g, ' ').trim(), MAX_ERROR_BODY, needles, cutOff)
  } catch {
    return '(response body not shown)'
  }
}

/** Errors of a request sent on a reused keep-alive connection that the server had already closed. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

/** Marks a failure on a stale keep-alive connection; `error` is what the batch sees if it persists. */
class StaleConnectionError extends Error {
  readonly error: DeliveryError
  constructor(error: DeliveryError) {
    super(error.message)
    this.error = error
  }
}

/**
 * How long the body of an accepted (2xx) response may take to arrive in the background before its
 * connection is closed. Reading it to the end lets the keep-alive connection serve the next batch;
 * a body still trickling after this long is not worth a connection slot (the agent keeps at most
 * `connections` of them).
 */
export const DISCARD_BODY_GRACE_MS = 1000

/** Reads a response whose body has arrived in full to its end, so that its connection is free again. */
function consumed(response: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    response.once('end', resolve).once('close', resolve).resume()
  })
}

/**
 * Reads and discards an accepted response's body in the background, without holding anyone up; a
 * body that has not ended within {@link DISCARD_BODY_GRACE_MS} has its connection closed.
 */
function discardBody(response: http.IncomingMessage): void {
  const timer = setTimer(() => response.destroy(), DISCARD_BODY_GRACE_MS)
  // A slow body must not keep an exiting process alive either.
  timer.unref()
  const done = (): void => clearTimeout(timer)
  response.once('end', done).once('close', done).resume()
}

/** Longest stretch read past the quote limit, so that a secret across the limit is still found whole. */
const MAX_SECRET_READ = 4096

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  const cause = error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException) : undefined
  const causeCode = cause?.code
  if (causeCode && causeCode !== code) return `${causeCode}${code ? ` (${code})` : ''}`
  // Node's messages name the code already ("connect ECONNREFUSED 127.0.0.1:9"): say it once.
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
}

/**
 * Reads at most `limit` characters of an error response's body, for at most
 * {@link DISCARD_BODY_GRACE_MS}, then discards the rest: the status decides what happens to the batch,
 * and a body that trickles must not turn a 503 into a timeout.
 */
async function readSome(body: http.IncomingMessage, limit: number): Promise<{ text: string; cutOff: boolean }> {
  let text = ''
  let whole = false
  let stalled = false
  const timer = setTimer(() => {
    stalled = true
    body.destroy()
  }, DISCARD_BODY_GRACE_MS)
  // Decoded as a stream: a character split between two chunks must stay one character, or a secret
  // holding it would no longer be found.
  body.setEncoding('utf8')
  try {
    for await (const chunk of body) {
      text += chunk as string
      if (text.length > limit) break
    }
    whole = text.length <= limit && !stalled && body.complete
  } catch {
    // A body that breaks off still leaves us the status, which is what the retry rules need.
  } finally {
    clearTimeout(timer)
    body.destroy()
  }
  // Cut off (here, by a reset or by the grace timer): its end may be the beginning of a secret.
  return { text: text.slice(0, limit), cutOff: !whole }
}
