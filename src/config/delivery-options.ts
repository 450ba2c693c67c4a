import { z } from 'zod'
import { durationSchema } from '../timers.js'
import {
  DEFAULT_SPOOL,
  deadLetterOptionsSchema,
  spoolOptionsSchema,
  type DeadLetterOptions,
  type ResolvedSpoolOptions,
  type SpoolOptions,
} from '../spool/spool-options.js'

/** What a full queue does with one more record. */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest' | 'block'

/** Bounds of a sender's local queue: records accepted but not yet handed to a worker. */
export interface QueueOptions {
  /** Most records waiting in the queue. @default 100000 */
  maxRecords?: number
  /** Most bytes waiting in the queue. @default 33554432 (32 MiB) */
  maxBytes?: number
  /** A single record larger than this is dropped (counted as `oversize`), never sent. @default 1048576 (1 MiB) */
  maxRecordBytes?: number
  /**
   * What happens when the queue is full. `drop-newest` refuses the incoming record, `drop-oldest`
   * evicts the oldest waiting one; both drop lower levels before higher ones. `block` keeps the
   * record and pauses the transport's read loop until there is room (pino's buffer then fills and
   * the app slows down), for at most `maxBlockMs`: only for the worker transport.
   * @default 'drop-newest'
   */
  overflow?: OverflowPolicy
  /**
   * Under `block`, the longest time the queue may stay over its bounds with the read loop paused.
   * Past it the sender stops pausing the reader and drops like `drop-newest` until the queue is back
   * within its bounds. A paused reader cannot see pino's end of stream, so without a limit an app
   * exiting with a dead sink would hit pino's 10 s exit limit with nothing counted.
   * @default 1000
   */
  maxBlockMs?: number
}

/** When a batch is handed to a worker. */
export interface BatchOptions {
  /** Most records in one batch (1 = no batching). @default 5000 */
  maxRecords?: number
  /** Most bytes in one batch (a larger single record goes alone). @default 1048576 (1 MiB) */
  maxBytes?: number
  /** Longest time a record waits for its batch to fill. @default 1000 (the file sender: 100) */
  maxWaitMs?: number
  /**
   * A record at or above this level sends everything queued before it at once. A name you write must
   * be one of the logger's levels (else a ConfigError at start-up); the default falls back to pino's
   * number for it, 50, when the logger has no `error` level (`useOnlyCustomLevels`).
   * @default 'error'
   */
  flushLevel?: string | number
}

/** Rate limit of one sender's worker pool. */
export interface RateLimitOptions {
  /** Length of the window. */
  intervalMs: number
  /** Most requests (batches) started per window. */
  maxRequests?: number
  /** Most records sent per window (batches are cut to fit). */
  maxRecords?: number
}

/** The worker pool that runs a sender's deliveries. */
export interface PoolOptions {
  /**
   * Deliveries in flight at once. With 1, batches reach the sink in order.
   * @default 1 (the http sender: 8; the webhook sender: always 1)
   */
  concurrency?: number
  /** Time limit of one delivery attempt; the attempt's AbortSignal fires at the limit. @default 10000 */
  timeoutMs?: number
  /** Optional rate limit. @default undefined (none) */
  rateLimit?: RateLimitOptions
}

/** Retries of transient failures (network errors, timeouts, HTTP 408/429/5xx). */
export interface RetryOptions {
  /**
   * Attempts per batch, the first included (1 = no retry). With the other defaults a batch gives up
   * after 20 attempts or 60 s of retrying (maxRetryTimeMs), whichever comes first: about a minute of
   * outage. Meanwhile records wait in the (bounded) queue. @default 20
   */
  maxAttempts?: number
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. @default 100 */
  baseDelayMs?: number
  /**
   * Longest backoff between two attempts. A longer `Retry-After` is still honoured. Kept short because a
   * batch in backoff is also how the sender notices that the sink is back. @default 5000
   */
  maxDelayMs?: number
  /** Longest time from a batch's first attempt to its last retry; past it the batch fails. @default 60000 */
  maxRetryTimeMs?: number
  /**
   * Longest `Retry-After` honoured: a sink asking for a longer wait gets this one (the sender, not only
   * the batch, holds off meanwhile). Without a spool a wait past `maxRetryTimeMs` fails the batch at
   * once; with a spool the batch waits on disk and is tried again after it. @default 600000 (10 min)
   */
  maxRetryAfterMs?: number
}

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

export const DEFAULT_POOL: Required<Omit<PoolOptions, 'rateLimit'>> & Pick<PoolOptions, 'rateLimit'> = Object.freeze({
  concurrency: 1,
  timeoutMs: 10_000,
  rateLimit: undefined,
})

export const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze({
  maxAttempts: 20,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  maxRetryTimeMs: 60_000,
  maxRetryAfterMs: 600_000,
})

const positiveInt = () => z.number().int().positive()

/**
 * Largest `queue.maxBlockMs`: pino gives an exiting app's transport 10 s in all, and a paused reader
 * sees the end of the stream only once its block window is over.
 */
export const MAX_BLOCK_MS = 9000

/** A level name or number. */
export const levelSchema = z.union([z.string().min(1), z.number().finite()])

export const queueOptionsSchema = z.strictObject({
  maxRecords: positiveInt().optional(),
  maxBytes: positiveInt().optional(),
  maxRecordBytes: positiveInt().optional(),
  overflow: z.enum(['drop-newest', 'drop-oldest', 'block']).optional(),
  // The transport adds its own rule: maxBlockMs + closeTimeoutMs within pino's 10 s exit limit.
  maxBlockMs: durationSchema(0, MAX_BLOCK_MS).optional(),
})

export const batchOptionsSchema = z.strictObject({
  maxRecords: positiveInt().optional(),
  maxBytes: positiveInt().optional(),
  maxWaitMs: durationSchema(0).optional(),
  flushLevel: levelSchema.optional(),
})

export const rateLimitSchema = z
  .strictObject({
    intervalMs: durationSchema(1),
    maxRequests: positiveInt().optional(),
    maxRecords: positiveInt().optional(),
  })
  .refine((r) => r.maxRequests !== undefined || r.maxRecords !== undefined, {
    message: 'set maxRequests, maxRecords or both',
  })

export const poolOptionsSchema = z.strictObject({
  concurrency: positiveInt().optional(),
  timeoutMs: durationSchema(1).optional(),
  rateLimit: rateLimitSchema.optional(),
})

export const retryOptionsSchema = z.strictObject({
  maxAttempts: positiveInt().optional(),
  baseDelayMs: durationSchema(0).optional(),
  maxDelayMs: durationSchema(0).optional(),
  maxRetryTimeMs: durationSchema(0).optional(),
  maxRetryAfterMs: durationSchema(0).optional(),
})

/** Every option of the delivery machinery a sender shares, all optional. */
export interface DeliveryOptions {
  queue?: QueueOptions
  batch?: BatchOptions
  pool?: PoolOptions
  retry?: RetryOptions
  /**
   * Disk spool: records go to disk instead of being dropped when the queue is full or the sink is
   * failing, and what close could not deliver waits there for the next start. `false` turns off a
   * spool set at a lower layer (the transport's top level). @default undefined (no spool)
   */
  spool?: SpoolOptions | false
  /**
   * Dead-letter file for batches that failed for good; `false` turns off one set at a lower layer.
   * @default undefined (failed records are only counted)
   */
  deadLetter?: DeadLetterOptions | false
}

export const deliveryOptionsShape = {
  queue: queueOptionsSchema.optional(),
  batch: batchOptionsSchema.optional(),
  pool: poolOptionsSchema.optional(),
  retry: retryOptionsSchema.optional(),
  spool: z.union([spoolOptionsSchema, z.literal(false)]).optional(),
  deadLetter: z.union([deadLetterOptionsSchema, z.literal(false)]).optional(),
}

/** Delivery options with every default filled in. */
export interface ResolvedDeliveryOptions {
  queue: Required<QueueOptions>
  batch: Required<BatchOptions>
  pool: typeof DEFAULT_POOL
  retry: Required<RetryOptions>
  spool: ResolvedSpoolOptions | undefined
  deadLetter: DeadLetterOptions | undefined
}

/** Layers option objects over the defaults, later layers winning field by field. */
export function resolveDeliveryOptions(...layers: (DeliveryOptions | undefined)[]): ResolvedDeliveryOptions {
  const out: ResolvedDeliveryOptions = {
    queue: { ...DEFAULT_QUEUE },
    batch: { ...DEFAULT_BATCH },
    pool: { ...DEFAULT_POOL },
    retry: { ...DEFAULT_RETRY },
    spool: undefined,
    deadLetter: undefined,
  }
  let spool: SpoolOptions | undefined
  for (const layer of layers) {
    if (!layer) continue
    Object.assign(out.queue, stripUndefined(layer.queue))
    Object.assign(out.batch, stripUndefined(layer.batch))
    Object.assign(out.pool, stripUndefined(layer.pool))
    Object.assign(out.retry, stripUndefined(layer.retry))
    if (layer.spool === false) spool = undefined
    else if (layer.spool) spool = { ...spool, ...stripUndefined(layer.spool) } as SpoolOptions
    if (layer.deadLetter === false) out.deadLetter = undefined
    else if (layer.deadLetter) out.deadLetter = { ...layer.deadLetter }
  }
  if (spool) out.spool = { ...DEFAULT_SPOOL, ...spool }
  return out
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {}
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
