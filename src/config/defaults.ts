/**
 * Every default in one table. A sender's delivery options are these, under the sink type's own
 * defaults (each sink's definition, e.g. the http sink's 8 requests in flight), under the transport's
 * top-level options, under the sender's own: later layers win field by field (config/resolve.ts).
 */
import type { BatchOptions, QueueOptions, ResolvedGroupOptions, ResolvedPoolOptions, RetryOptions } from './delivery-options.js'
import type { ResolvedSpoolOptions } from '../spool/spool-options.js'

export const DEFAULT_QUEUE: Required<QueueOptions> = Object.freeze({
  maxRecords: 100_000,
  maxBytes: 32 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  overflow: 'drop-newest',
  maxBlockMs: 1000,
})

export const DEFAULT_BATCH: Required<BatchOptions> = Object.freeze({
  maxRecords: 5000,
  maxBytes: 1024 * 1024,
  maxWaitMs: 1000,
  flushLevel: 'error',
})

export const DEFAULT_POOL: ResolvedPoolOptions = Object.freeze({
  concurrency: 1,
  timeoutMs: 10_000,
  rateLimit: undefined,
})

/**
 * Default `pool.maxConcurrency` under `concurrency: 'adaptive'`: eight times the http sender's fixed 8,
 * far above what one log backend usually takes from one sender; the limit starts at 1 and only climbs
 * while the sink answers as fast as before, so a high ceiling costs nothing against a small sink. It is
 * also the connections an HTTP-based sender may open to its origin, hence not in the hundreds.
 */
export const DEFAULT_MAX_CONCURRENCY = 64

export const DEFAULT_GROUP: ResolvedGroupOptions = Object.freeze({
  maxGroups: 256,
  idleMs: 60_000,
  maxTotalRecords: undefined,
  maxTotalBytes: undefined,
})

export const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze({
  maxAttempts: 20,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  maxRetryTimeMs: 60_000,
  maxRetryAfterMs: 600_000,
})

export const DEFAULT_SPOOL: Omit<ResolvedSpoolOptions, 'dir'> = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  adoptOtherHosts: true,
})

/** Smallest `spool.maxBytes`: a few segments of the smallest size. */
export const MIN_SPOOL_BYTES = 256 * 1024

/** Default deadline of `close()`: well inside pino's 10 s exit limit. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000

/** Largest transport closeTimeoutMs: pino gives an exiting app's transport 10 s in all. */
export const MAX_TRANSPORT_CLOSE_TIMEOUT_MS = 9000

/**
 * Largest `queue.maxBlockMs`: pino gives an exiting app's transport 10 s in all, and a paused reader
 * sees the end of the stream only once its block window is over.
 */
export const MAX_BLOCK_MS = 9000

/** How often the transport posts stats to the main thread. */
export const DEFAULT_STATS_INTERVAL_MS = 5000

/** Default shortest time between two warnings about the same sender and kind. */
export const DEFAULT_WARN_INTERVAL_MS = 10_000

/** pino's level key, message key and error key. */
export const DEFAULT_LEVEL_KEY = 'level'
export const DEFAULT_MESSAGE_KEY = 'msg'
export const DEFAULT_ERROR_KEY = 'err'
