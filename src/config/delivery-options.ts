/**
 * The delivery options every queued sender shares, as documented types: the defaults are in
 * defaults.ts, the schemas in schema.ts, the layering in resolve.ts.
 */
import type { LevelOption } from './levels.js'
import type { DeadLetterOptions, ResolvedSpoolOptions, SpoolOptions } from '../spool/spool-options.js'

// Importable from here as before the defaults had a module of their own.
export { DEFAULT_BATCH, DEFAULT_GROUP, DEFAULT_POOL, DEFAULT_QUEUE, DEFAULT_RETRY, MAX_BLOCK_MS } from './defaults.js'

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
   * Deliveries in flight at once. With 1, batches reach the sink in order. `'adaptive'` lets the sender
   * find it: requests in flight start at 1 and grow by one per round trip while round-trip times stay
   * near their baseline, and are cut on 429, 503, timeouts or slower answers (AIMD), within
   * [1, `maxConcurrency`]; a 429 without `Retry-After` also pauses new requests for a moment (see
   * docs/delivery.md). The webhook sender ignores it (always 1).
   * @default 1 (the http sender: 8; the webhook sender: always 1)
   */
  concurrency?: number | 'adaptive'
  /**
   * Highest concurrency `'adaptive'` may reach; only with `concurrency: 'adaptive'` (else a ConfigError).
   * Also the connections kept per origin by the HTTP-based senders.
   * @default 64 (DEFAULT_MAX_CONCURRENCY)
   */
  maxConcurrency?: number
  /** Time limit of one delivery attempt; the attempt's AbortSignal fires at the limit. @default 10000 */
  timeoutMs?: number
  /** Optional rate limit. @default undefined (none) */
  rateLimit?: RateLimitOptions
}

/** The pool options with every default filled in. */
export interface ResolvedPoolOptions {
  /** Most deliveries in flight at once: the fixed concurrency, or `maxConcurrency` under `'adaptive'`. */
  concurrency: number
  /** Set under `concurrency: 'adaptive'`: the concurrency adapts within [1, `concurrency`]. */
  adaptive?: true
  /**
   * `maxConcurrency` as written, kept when written at or above the layer whose `concurrency` is in
   * force (a sender's own fixed `concurrency` overrides a top-level `'adaptive'` with its maximum).
   */
  maxConcurrency?: number
  timeoutMs: number
  rateLimit: RateLimitOptions | undefined
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

/**
 * Queue groups (with a sender's `groupBy`): each key gets a queue of its own, with the bounds of
 * `queue`, so that one key's burst cannot evict another key's records. These options bound the groups
 * as a whole.
 */
export interface GroupOptions {
  /**
   * Most groups at once. A record whose key would make one more goes to the shared overflow group
   * (`kind: 'overflow'` in the stats), once idle groups have been pruned: it is queued and sent like any
   * other, and its key's isolation is what is lost.
   * @default 256
   */
  maxGroups?: number
  /** A group with nothing queued or in flight for this long is removed; its counts stay in the sender's totals. @default 60000 */
  idleMs?: number
  /**
   * Most records queued across all groups. When it is reached, room is made in the largest group (by
   * bytes), lowest level first: the key with the biggest backlog pays, not the quiet ones.
   * @default queue.maxRecords (the groups together hold no more than one ungrouped queue)
   */
  maxTotalRecords?: number
  /** Most bytes queued across all groups, like `maxTotalRecords`. @default queue.maxBytes */
  maxTotalBytes?: number
}

/** Group options with the defaults filled in (the totals default to the queue's bounds). */
export interface ResolvedGroupOptions {
  readonly maxGroups: number
  readonly idleMs: number
  readonly maxTotalRecords: number | undefined
  readonly maxTotalBytes: number | undefined
}

/** Every option of the delivery machinery a sender shares, all optional. */
export interface DeliveryOptions {
  queue?: QueueOptions
  batch?: BatchOptions
  pool?: PoolOptions
  retry?: RetryOptions
  /** Bounds of the queue groups of a sender with `groupBy` (ignored without it). */
  group?: GroupOptions
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

/** Options every queued sender takes (the sink-specific ones come on top). */
export interface CommonSenderOptions extends DeliveryOptions {
  /** Name in stats and warnings; unique within a courier. @default the sender type */
  name?: string
  /** Records below this level are ignored. @default every level */
  level?: LevelOption
  /** Deadline of `close()` in ms. @default 5000 */
  closeTimeoutMs?: number
  /**
   * A record field (a dotted path, as for a Kafka key) whose value names the record's queue group:
   * each value gets a queue of its own with the `queue` bounds, and batches are taken from the groups in
   * turn, so that one tenant's burst neither evicts nor delays another's records (see `group`). Records
   * without the field (or with an object or null there) share one group of their own. A top-level field
   * is read off each record's text; a dotted path parses each record.
   * @default undefined (one queue)
   */
  groupBy?: string
}

/** Delivery options with every default filled in. */
export interface ResolvedDeliveryOptions {
  queue: Required<QueueOptions>
  batch: Required<BatchOptions>
  pool: ResolvedPoolOptions
  retry: Required<RetryOptions>
  group: ResolvedGroupOptions
  spool: ResolvedSpoolOptions | undefined
  deadLetter: DeadLetterOptions | undefined
}
