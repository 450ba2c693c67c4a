import { describe, expect, it } from 'vitest'
import { DEFAULT_BATCH, DEFAULT_GROUP, DEFAULT_POOL, DEFAULT_QUEUE, DEFAULT_RETRY, DEFAULT_SPOOL } from '../../src/config/defaults.js'
import { resolveDeliveryOptions } from '../../src/config/resolve.js'
import {
  batchOptionsSchema,
  levelSchema,
  poolOptionsSchema,
  queueOptionsSchema,
  rateLimitSchema,
  retryOptionsSchema,
} from '../../src/config/schema.js'

describe('defaults', () => {
  it('have the documented values', () => {
    expect(DEFAULT_QUEUE).toEqual({
      maxRecords: 100_000,
      maxBytes: 33_554_432,
      maxRecordBytes: 1_048_576,
      overflow: 'drop-newest',
      maxBlockMs: 1000,
    })
    expect(DEFAULT_BATCH).toEqual({ maxRecords: 5000, maxBytes: 1_048_576, maxWaitMs: 1000, flushLevel: 'error' })
    expect(DEFAULT_POOL).toEqual({ concurrency: 1, timeoutMs: 10_000, rateLimit: undefined })
    expect(DEFAULT_RETRY).toEqual({ maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 5000, maxRetryTimeMs: 60_000, maxRetryAfterMs: 600_000 })
  })

  it('are frozen', () => {
    expect(Object.isFrozen(DEFAULT_QUEUE)).toBe(true)
    expect(Object.isFrozen(DEFAULT_BATCH)).toBe(true)
    expect(Object.isFrozen(DEFAULT_POOL)).toBe(true)
    expect(Object.isFrozen(DEFAULT_RETRY)).toBe(true)
  })
})

describe('resolveDeliveryOptions', () => {
  it('returns the defaults without layers, as fresh objects', () => {
    const resolved = resolveDeliveryOptions()
    expect(resolved).toEqual({ queue: DEFAULT_QUEUE, batch: DEFAULT_BATCH, pool: DEFAULT_POOL, retry: DEFAULT_RETRY, group: DEFAULT_GROUP })
    expect(resolved.queue).not.toBe(DEFAULT_QUEUE)
    resolved.queue.maxRecords = 1
    expect(resolveDeliveryOptions().queue.maxRecords).toBe(100_000)
  })

  it('layers field by field, later layers winning, undefined fields and layers ignored', () => {
    const resolved = resolveDeliveryOptions(
      { batch: { maxRecords: 10, maxWaitMs: 5 }, retry: { maxAttempts: 2 } },
      undefined,
      { batch: { maxRecords: 20, maxWaitMs: undefined }, pool: { concurrency: 4 } },
      { queue: { overflow: 'drop-oldest' }, batch: undefined },
    )
    expect(resolved.batch).toEqual({ ...DEFAULT_BATCH, maxRecords: 20, maxWaitMs: 5 })
    expect(resolved.retry).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 })
    expect(resolved.pool).toEqual({ ...DEFAULT_POOL, concurrency: 4 })
    expect(resolved.queue).toEqual({ ...DEFAULT_QUEUE, overflow: 'drop-oldest' })
  })

  it("merges a sender's own spool into the transport-wide one field by field; a dead-letter object replaces", () => {
    // The README said a sender's spool replaced the top level's: it is merged, like queue and batch.
    const top = { spool: { dir: '/top', fsync: 'always' as const, maxBytes: 1 << 20 }, deadLetter: { path: '/top.dlq', mode: 0o640 } }
    const resolved = resolveDeliveryOptions(top, { spool: { dir: '/own', maxBytes: 2 << 20 }, deadLetter: { path: '/own.dlq' } })
    expect(resolved.spool).toEqual({ ...DEFAULT_SPOOL, dir: '/own', fsync: 'always', maxBytes: 2 << 20 })
    expect(resolved.deadLetter).toEqual({ path: '/own.dlq' })
    expect(resolveDeliveryOptions(top, { spool: false, deadLetter: false })).toMatchObject({ spool: undefined, deadLetter: undefined })
    expect(resolveDeliveryOptions(top).spool).toEqual({ ...DEFAULT_SPOOL, ...top.spool })
  })

  it('keeps a rate limit from a lower layer', () => {
    const resolved = resolveDeliveryOptions({ pool: { rateLimit: { intervalMs: 1000, maxRequests: 3 } } }, { pool: { timeoutMs: 50 } })
    expect(resolved.pool).toEqual({ concurrency: 1, timeoutMs: 50, rateLimit: { intervalMs: 1000, maxRequests: 3 } })
  })
})

describe('schemas', () => {
  it('queue: positive integers, the three policies, no unknown keys', () => {
    expect(queueOptionsSchema.safeParse({ maxRecords: 1, maxBytes: 2, maxRecordBytes: 2, overflow: 'block' }).success).toBe(true)
    expect(queueOptionsSchema.safeParse({ maxRecords: 0 }).success).toBe(false)
    expect(queueOptionsSchema.safeParse({ maxBytes: 1.5 }).success).toBe(false)
    expect(queueOptionsSchema.safeParse({ overflow: 'spool' }).success).toBe(false)
    expect(queueOptionsSchema.safeParse({ size: 1 }).success).toBe(false)
  })

  it('queue: maxBlockMs is a non-negative integer', () => {
    expect(queueOptionsSchema.safeParse({ overflow: 'block', maxBlockMs: 0 }).success).toBe(true)
    expect(queueOptionsSchema.safeParse({ maxBlockMs: 250 }).success).toBe(true)
    expect(queueOptionsSchema.safeParse({ maxBlockMs: -1 }).success).toBe(false)
    expect(queueOptionsSchema.safeParse({ maxBlockMs: 1.5 }).success).toBe(false)
    expect(queueOptionsSchema.safeParse({ maxBlockMs: '1000' }).success).toBe(false)
  })

  it('batch: maxWaitMs may be 0, flushLevel a name or a finite number', () => {
    expect(batchOptionsSchema.safeParse({ maxWaitMs: 0, flushLevel: 'warn' }).success).toBe(true)
    expect(batchOptionsSchema.safeParse({ flushLevel: 45 }).success).toBe(true)
    expect(batchOptionsSchema.safeParse({ maxWaitMs: -1 }).success).toBe(false)
    expect(batchOptionsSchema.safeParse({ maxRecords: 0 }).success).toBe(false)
  })

  it('levels: non-empty names and finite numbers', () => {
    expect(levelSchema.safeParse('info').success).toBe(true)
    expect(levelSchema.safeParse(-5).success).toBe(true)
    expect(levelSchema.safeParse('').success).toBe(false)
    expect(levelSchema.safeParse(Number.NaN).success).toBe(false)
    expect(levelSchema.safeParse(Number.POSITIVE_INFINITY).success).toBe(false)
  })

  it('rate limit: needs maxRequests, maxRecords or both', () => {
    expect(rateLimitSchema.safeParse({ intervalMs: 1000, maxRequests: 1 }).success).toBe(true)
    expect(rateLimitSchema.safeParse({ intervalMs: 1000, maxRecords: 1 }).success).toBe(true)
    const missing = rateLimitSchema.safeParse({ intervalMs: 1000 })
    expect(missing.success).toBe(false)
    expect(missing.error?.issues.map((i) => i.message)).toEqual(['set maxRequests, maxRecords or both'])
    expect(rateLimitSchema.safeParse({ maxRequests: 1 }).success).toBe(false)
  })

  it('pool and retry: integers in range', () => {
    expect(poolOptionsSchema.safeParse({ concurrency: 0 }).success).toBe(false)
    expect(poolOptionsSchema.safeParse({ timeoutMs: 0 }).success).toBe(false)
    expect(retryOptionsSchema.safeParse({ maxAttempts: 0 }).success).toBe(false)
    expect(retryOptionsSchema.safeParse({ baseDelayMs: 0, maxDelayMs: 0, maxRetryTimeMs: 0, maxAttempts: 1 }).success).toBe(true)
  })
})
