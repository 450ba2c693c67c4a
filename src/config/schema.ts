/**
 * The schemas of every option the engine shares: delivery (queue, batch, pool, retry, spool,
 * dead-letter), the options common to every sender, and the courier's top-level ones. A sink's own
 * options are in its folder (sinks/<type>/), next to its Sink; the transport's composition of them is
 * in transport-options.ts. Strict objects throughout: a misspelt option is an error, not ignored.
 */
import { z } from 'zod'
import { durationSchema } from '../timers.js'
import { MAX_BLOCK_MS, MIN_SPOOL_BYTES } from './defaults.js'

const positiveInt = () => z.number().int().positive()

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
  concurrency: z.union([positiveInt(), z.literal('adaptive')]).optional(),
  maxConcurrency: positiveInt().optional(),
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

export const groupOptionsSchema = z.strictObject({
  maxGroups: positiveInt().optional(),
  idleMs: durationSchema(0).optional(),
  maxTotalRecords: positiveInt().optional(),
  maxTotalBytes: positiveInt().optional(),
})

export const spoolOptionsSchema = z.strictObject({
  dir: z.string().min(1),
  maxBytes: z.number().int().min(MIN_SPOOL_BYTES, `must be at least ${MIN_SPOOL_BYTES}`).optional(),
  fsync: z.enum(['always', 'interval', 'never']).optional(),
  fsyncIntervalMs: durationSchema(1).optional(),
  adoptOtherHosts: z.boolean().optional(),
})

export const deadLetterOptionsSchema = z.strictObject({
  path: z.string().min(1),
  mode: z.number().int().min(0).max(0o7777).optional(),
})

/** Every delivery option, all optional (DeliveryOptions). */
export const deliveryOptionsShape = {
  queue: queueOptionsSchema.optional(),
  batch: batchOptionsSchema.optional(),
  pool: poolOptionsSchema.optional(),
  retry: retryOptionsSchema.optional(),
  group: groupOptionsSchema.optional(),
  spool: z.union([spoolOptionsSchema, z.literal(false)]).optional(),
  deadLetter: z.union([deadLetterOptionsSchema, z.literal(false)]).optional(),
}

/** Options every queued sender takes (CommonSenderOptions); a sink's own come on top. */
export const commonSenderShape = {
  name: z.string().min(1).optional(),
  level: levelSchema.optional(),
  closeTimeoutMs: durationSchema(1).optional(),
  groupBy: z.string().min(1).optional(),
  ...deliveryOptionsShape,
}

/** A queued sender's own options, nothing else (QueuedSender's constructor). */
export const commonSenderSchema = z.strictObject(commonSenderShape)

/** Options shared by the transport and the in-process stream, besides `senders`. */
export const courierOptionsShape = {
  closeTimeoutMs: durationSchema(1).optional(),
  statsIntervalMs: durationSchema(0).optional(),
  warnIntervalMs: durationSchema(0).optional(),
  stderr: z.boolean().optional(),
  levelKey: z.string().min(1).optional(),
  ...deliveryOptionsShape,
}
