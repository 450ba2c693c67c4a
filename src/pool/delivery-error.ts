/** Options of {@link DeliveryError}. */
export interface DeliveryErrorOptions {
  /** True when retrying cannot help (HTTP 4xx other than 408/429, bad payload). @default false */
  permanent?: boolean
  /** How long the sink asked us to wait before the next attempt (HTTP `Retry-After`). */
  retryAfterMs?: number
  /** HTTP status (or other sink-specific code), for stats and messages. */
  status?: number
  cause?: unknown
}

/**
 * What a sink throws when a delivery attempt fails. Any other thrown value counts as a transient
 * failure (it is retried), which is right for network errors and timeouts.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError'
  readonly permanent: boolean
  readonly retryAfterMs: number | undefined
  readonly status: number | undefined

  constructor(message: string, options: DeliveryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.permanent = options.permanent ?? false
    this.retryAfterMs = options.retryAfterMs
    this.status = options.status
  }
}

/** The reason an attempt was aborted because it ran past the pool's `timeoutMs`. */
export class DeliveryTimeoutError extends Error {
  override readonly name = 'DeliveryTimeoutError'
  constructor(timeoutMs: number) {
    super(`delivery attempt timed out after ${timeoutMs} ms`)
  }
}
