import http from 'node:http'
import https from 'node:https'
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { z } from 'zod'
import { ConfigError } from '../config-error.js'
import { DeliveryError } from '../queue/delivery-error.js'
import { isTransientStatus, parseRetryAfter } from '../queue/retry-policy.js'
import { toJsonArray, toNdjson } from './ndjson.js'
import type { DeliveryOptions } from '../queue/queue-options.js'
import { commonSenderShape, QueuedSender, type CommonSenderOptions, type SenderContext } from './queued-sender.js'
import type { Batch, DeliveryContext, Sink } from './sender.js'

const gzip = promisify(gzipCallback)

/** Body formats of the HTTP sender. */
export type HttpBodyFormat = 'ndjson' | 'json'

/** Options of {@link createHttpSender}. */
export interface HttpSenderOptions extends CommonSenderOptions {
  /** Endpoint receiving the batches (http or https). Credentials in it become a Basic auth header. */
  url: string
  /** HTTP method. @default 'POST' */
  method?: 'POST' | 'PUT'
  /** `ndjson`: one record per line (`application/x-ndjson`); `json`: a JSON array (`application/json`). @default 'ndjson' */
  format?: HttpBodyFormat
  /** Extra request headers (e.g. `authorization`). They override the defaults. @default {} */
  headers?: Record<string, string>
  /** gzip the body (`content-encoding: gzip`). @default false */
  gzip?: boolean
  /** How long an idle keep-alive connection stays open. @default 4000 */
  keepAliveTimeoutMs?: number
  /**
   * Header carrying the batch's id, the same on every attempt of a batch, so that a sink can drop a
   * batch it has already accepted; `false` sends none. @default 'idempotency-key'
   */
  idempotencyHeader?: string | false
}

export const httpSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: z.url({ protocol: /^https?$/, message: 'Invalid URL (expected http:// or https://)' }),
  method: z.enum(['POST', 'PUT']).optional(),
  format: z.enum(['ndjson', 'json']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  gzip: z.boolean().optional(),
  keepAliveTimeoutMs: z.number().int().positive().optional(),
  idempotencyHeader: z
    .union([z.string().regex(/^[!#$%&'*+.^`|~\w-]+$/, 'Invalid header name'), z.literal(false)])
    .optional(),
})

/**
 * Defaults of the HTTP sender that differ from the general ones. Eight requests in flight: a burst
 * through a collector 50 ms away needs about that many 1 MiB batches on the way to keep up with the
 * app (measured: with 1 connection closing blocked 830 ms, with 4 up to 160 ms, with 8 about 60 ms),
 * and a backlog waiting in the worker costs memory. Batches may then arrive out of order; a sink that
 * needs order takes `pool.concurrency: 1`.
 */
export const HTTP_SENDER_DEFAULTS: DeliveryOptions = { pool: { concurrency: 8 } }

/**
 * Default of `keepAliveTimeoutMs`: below the 5 s idle timeout of many servers (Node's own among
 * them), so that we close an idle connection before the server does.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4000

/** Default of `idempotencyHeader`: the name of the IETF httpapi draft, used by Stripe and others. */
export const DEFAULT_IDEMPOTENCY_HEADER = 'idempotency-key'

/** Most characters of an error response body quoted in a failure message. */
const MAX_ERROR_BODY = 512

/** The scheme and host of a URL: what messages may show of an endpoint that could carry secrets. */
export function redactUrl(url: URL | string): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return '<invalid url>'
  }
}

class HttpSink implements Sink {
  readonly #url: URL
  readonly #origin: string
  /** Parts of the URL that may be credentials (path, query, userinfo), longest first. */
  readonly #secrets: readonly string[]
  readonly #method: 'POST' | 'PUT'
  readonly #format: HttpBodyFormat
  readonly #gzip: boolean
  readonly #headers: Record<string, string>
  readonly #keepAliveTimeout: number
  readonly #idempotencyHeader: string | undefined
  #agent: http.Agent | undefined
  /** Connections per origin: the sender's concurrency, set once the options are resolved. */
  connections = 1

  constructor(options: HttpSenderOptions) {
    const url = new URL(options.url)
    const headers: Record<string, string> = {
      'content-type': options.format === 'json' ? 'application/json' : 'application/x-ndjson',
      'user-agent': 'pino-courier',
    }
    this.#secrets = urlSecrets(url)
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username)
      const pass = decodeURIComponent(url.password)
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      url.username = ''
      url.password = ''
    }
    if (options.gzip) headers['content-encoding'] = 'gzip'
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.#url = url
    this.#origin = redactUrl(url)
    this.#method = options.method ?? 'POST'
    this.#format = options.format ?? 'ndjson'
    this.#gzip = options.gzip ?? false
    this.#headers = headers
    this.#keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS
    const idempotency = options.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER
    this.#idempotencyHeader = idempotency === false ? undefined : idempotency.toLowerCase()
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

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void> {
    const ndjson = this.#format === 'json' ? toJsonArray(batch) : toNdjson(batch)
    const body = this.#gzip ? await gzip(ndjson) : ndjson
    const headers: Record<string, string> = { ...this.#headers, 'content-length': String(body.length) }
    if (this.#idempotencyHeader) headers[this.#idempotencyHeader] = batch.id
    const response = await this.#send(body, headers, signal)
    const status = response.statusCode ?? 0
    if (status >= 200 && status < 300) {
      await drain(response, signal)
      return
    }
    // Servers often echo the request path or query in error pages ("Cannot POST /ingest/<token>"):
    // the quoted body must not carry the URL's secrets into messages, stats and warnings.
    const detail = redactText(await readSome(response, MAX_ERROR_BODY), this.#secrets)
    throw new DeliveryError(`HTTP ${status} from ${this.#origin}${detail ? `: ${detail}` : ''}`, {
      status,
      permanent: !isTransientStatus(status),
      retryAfterMs: parseRetryAfter(response.headers['retry-after']),
    })
  }

  /**
   * Sends the body. A server may close an idle keep-alive connection just as it is reused; the
   * request then fails before the server has read it, so it goes again at once on another connection
   * (Node's documented pattern), without costing the batch an attempt and a backoff.
   */
  async #send(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
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
  #request(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
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
        const failed = new DeliveryError(`request to ${this.#origin} failed: ${describeNetworkError(reason)}`, {
          cause: reason,
        })
        const stale = request.reusedSocket && !signal.aborted && STALE_SOCKET_CODES.has(error.code ?? '')
        reject(stale ? new StaleConnectionError(failed) : failed)
      })
      request.end(body)
    })
  }

  close(): Promise<void> {
    // Called after the last delivery (or past the close deadline): nothing left worth waiting for.
    this.#agent?.destroy()
    return Promise.resolve()
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
 * Reads and discards a 2xx response's body. The batch counts as accepted once the status is in: a
 * body that breaks off, or stalls until the attempt's timeout, must not turn an accepted batch into a
 * retry (and a duplicate at the sink). Waiting for the end (rather than returning at once) frees the
 * connection for the next batch. On abort this resolves synchronously, before the engine's own
 * abort race rejects.
 */
function drain(response: http.IncomingMessage, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }
    const onAbort = (): void => {
      response.destroy()
      done()
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    response.once('end', done).once('close', done).resume()
  })
}

/** Shortest URL part treated as a secret when it appears in a response body. */
const MIN_SECRET_LENGTH = 4

/** Path, path segments, query, query values and userinfo of a URL, raw and decoded, longest first. */
function urlSecrets(url: URL): string[] {
  const parts = new Set<string>()
  const add = (value: string): void => {
    for (const candidate of [value, safeDecode(value)]) if (candidate.length >= MIN_SECRET_LENGTH) parts.add(candidate)
  }
  add(url.pathname + url.search)
  add(url.pathname)
  add(url.search)
  for (const segment of url.pathname.split('/')) add(segment)
  for (const [key, value] of url.searchParams) {
    add(value)
    add(`${key}=${value}`)
  }
  add(url.username)
  add(url.password)
  return [...parts].filter((p) => p !== '/').sort((a, b) => b.length - a.length)
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** Replaces every occurrence of every secret with an ellipsis. */
function redactText(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join('…')
  return out
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  const cause = error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException) : undefined
  const causeCode = cause?.code
  if (causeCode && causeCode !== code) return `${causeCode}${code ? ` (${code})` : ''}`
  return code ? `${code}: ${error.message}` : error.message
}

/** Reads at most `limit` characters of a response body, then discards the rest. */
async function readSome(body: http.IncomingMessage, limit: number): Promise<string> {
  let text = ''
  try {
    for await (const chunk of body) {
      text += chunk.toString('utf8')
      if (text.length >= limit) break
    }
  } catch {
    // A body that breaks off still leaves us the status, which is what the retry rules need.
  } finally {
    body.destroy()
  }
  return text.slice(0, limit).replace(/\s+/g, ' ').trim()
}

/** Posts batches to an HTTP endpoint as NDJSON or a JSON array, with keep-alive connection reuse. */
export class HttpSender extends QueuedSender {
  /** Scheme and host of the endpoint (the full URL is a credential and is never shown). */
  readonly endpoint: string

  constructor(options: HttpSenderOptions, context: SenderContext = {}) {
    const parsed = httpSenderOptionsSchema.safeParse(options)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error)
    const { url, method, format, headers, gzip: zip, keepAliveTimeoutMs, idempotencyHeader, ...common } = options
    const sink = new HttpSink({ url, method, format, headers, gzip: zip, keepAliveTimeoutMs, idempotencyHeader })
    super({ ...common, name: common.name ?? 'http' }, sink, {
      ...context,
      defaults: [HTTP_SENDER_DEFAULTS, ...(context.defaults ?? [])],
    })
    sink.connections = this.options.pool.concurrency
    this.endpoint = redactUrl(url)
  }
}

/**
 * Creates a sender that POSTs batches to `url`.
 * @example createHttpSender({ url: 'http://collector:8080/logs', format: 'json', gzip: true })
 */
export function createHttpSender(options: HttpSenderOptions, context?: SenderContext): HttpSender {
  return new HttpSender(options, context)
}
