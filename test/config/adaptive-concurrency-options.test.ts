/**
 * `pool.concurrency: 'adaptive'` and `pool.maxConcurrency`: the schema, the layering (adaptive resolves
 * to its maximum, which the sinks size their connections by), the rule that maxConcurrency takes
 * 'adaptive', and the senders that bound or force their concurrency (kafka's idempotent producer, the
 * webhook).
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_POOL } from '../../src/config/defaults.js'
import { resolveDeliveryOptions } from '../../src/config/resolve.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { createHttpSender } from '../../src/sinks/http/http-sender.js'
import { createKafkaSender } from '../../src/sinks/kafka/kafka-sender.js'
import { createMemorySender } from '../../src/sinks/memory/memory-sender.js'
import { configErrorOf } from '../helpers/config-error.js'

describe('resolve', () => {
  it("'adaptive' resolves to its maximum as the concurrency, with adaptive set (default maximum 64)", () => {
    expect(resolveDeliveryOptions({ pool: { concurrency: 'adaptive' } }).pool).toEqual({
      ...DEFAULT_POOL,
      concurrency: DEFAULT_MAX_CONCURRENCY,
      adaptive: true,
    })
    expect(DEFAULT_MAX_CONCURRENCY).toBe(64)
    expect(resolveDeliveryOptions({ pool: { concurrency: 'adaptive', maxConcurrency: 16 } }).pool).toMatchObject({
      concurrency: 16,
      adaptive: true,
      maxConcurrency: 16,
    })
  })

  it('a fixed concurrency resolves exactly as before: no adaptive field, no maximum', () => {
    const pool = resolveDeliveryOptions({ pool: { concurrency: 8 } }, { pool: { concurrency: 4 } }).pool
    expect(pool).toStrictEqual({ ...DEFAULT_POOL, concurrency: 4 })
  })

  it("a sender's fixed concurrency overrides a top-level 'adaptive' with its maximum; a top-level maximum serves a sender's 'adaptive'", () => {
    const top = { pool: { concurrency: 'adaptive' as const, maxConcurrency: 32 } }
    expect(resolveDeliveryOptions(top, { pool: { concurrency: 2 } }).pool).toStrictEqual({ ...DEFAULT_POOL, concurrency: 2 })
    expect(resolveDeliveryOptions({ pool: { maxConcurrency: 12 } }, { pool: { concurrency: 'adaptive' } }).pool).toMatchObject({
      concurrency: 12,
      adaptive: true,
    })
    // The webhook layers its own `concurrency: 1` last: a top-level 'adaptive' never reaches it.
    expect(resolveDeliveryOptions(top, { pool: { concurrency: 1 } }).pool.adaptive).toBeUndefined()
  })
})

describe('ConfigError', () => {
  it("maxConcurrency without 'adaptive' names pool.maxConcurrency (a sender's constructor)", () => {
    const error = configErrorOf(() => createMemorySender({ pool: { maxConcurrency: 8 } }))
    expect(error.paths).toEqual(['pool.maxConcurrency'])
    expect(error.message).toContain("pool.maxConcurrency: takes pool.concurrency: 'adaptive'")
    expect(configErrorOf(() => createMemorySender({ pool: { concurrency: 4, maxConcurrency: 8 } })).paths).toEqual(['pool.maxConcurrency'])
  })

  it("maxConcurrency without 'adaptive' names the sender's path in the transport's options, top level or its own", () => {
    const own = configErrorOf(() => parseTransportOptions({ senders: [{ type: 'http', url: 'http://127.0.0.1:1/', pool: { maxConcurrency: 8 } }] }))
    expect(own.paths).toEqual(['senders[0].pool.maxConcurrency'])
    const top = configErrorOf(() => parseTransportOptions({ pool: { maxConcurrency: 8 }, senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }] }))
    expect(top.paths).toEqual(['senders[0].pool.maxConcurrency'])
    expect(() =>
      parseTransportOptions({ pool: { concurrency: 'adaptive', maxConcurrency: 8 }, senders: [{ type: 'http', url: 'http://127.0.0.1:1/' }] }),
    ).not.toThrow()
  })

  it('refuses another word, a zero or a fraction', () => {
    expect(configErrorOf(() => createMemorySender({ pool: { concurrency: 'auto' as never } })).paths).toEqual(['pool.concurrency'])
    expect(configErrorOf(() => createMemorySender({ pool: { concurrency: 0 } })).paths).toEqual(['pool.concurrency'])
    expect(configErrorOf(() => createMemorySender({ pool: { concurrency: 'adaptive', maxConcurrency: 0 } })).paths).toEqual(['pool.maxConcurrency'])
    expect(configErrorOf(() => createMemorySender({ pool: { concurrency: 'adaptive', maxConcurrency: 2.5 } })).paths).toEqual(['pool.maxConcurrency'])
  })
})

describe('senders', () => {
  it("the http sender under 'adaptive' keeps maxConcurrency connections and reports its limit in stats", async () => {
    const sender = createHttpSender({ url: 'http://127.0.0.1:1/', pool: { concurrency: 'adaptive', maxConcurrency: 16 } })
    try {
      expect(sender.options.pool).toMatchObject({ concurrency: 16, adaptive: true })
      expect(sender.stats().concurrency).toMatchObject({ limit: 1, max: 16, peak: 1, active: 0, increases: 0, decreases: 0, pauses: 0 })
    } finally {
      await sender.close({ timeoutMs: 100 })
    }
    const fixed = createHttpSender({ url: 'http://127.0.0.1:1/' })
    expect(fixed.stats().concurrency).toBeUndefined()
    await fixed.close({ timeoutMs: 100 })
  })

  it("kafka's idempotent producer (at most 5 requests in flight) takes 'adaptive' only with maxConcurrency at most 5", () => {
    const base = { brokers: ['127.0.0.1:9092'], topic: 'logs', idempotent: true, acks: 'all' as const }
    const error = configErrorOf(() => createKafkaSender({ ...base, pool: { concurrency: 'adaptive' } }))
    // The limit may climb to maxConcurrency: that is the option to lower.
    expect(error.paths).toEqual(['pool.maxConcurrency'])
    expect(error.message).toContain(`pool.maxConcurrency: idempotent allows at most 5`)
    expect(error.message).toContain(`(has ${DEFAULT_MAX_CONCURRENCY})`)
    expect(configErrorOf(() => createKafkaSender({ ...base, pool: { concurrency: 6 } })).paths).toEqual(['pool.concurrency'])
    expect(() => createKafkaSender({ ...base, pool: { concurrency: 'adaptive', maxConcurrency: 5 } })).not.toThrow()
  })

  it("the webhook sender has no concurrency option ('adaptive' included), and a top-level 'adaptive' leaves it at 1", () => {
    const webhook = { type: 'webhook', url: 'http://127.0.0.1:1/hook' }
    const own = configErrorOf(() => parseTransportOptions({ senders: [{ ...webhook, pool: { concurrency: 'adaptive' } }] }))
    expect(own.paths).toEqual(['senders[0].pool.concurrency'])
    expect(() => parseTransportOptions({ pool: { concurrency: 'adaptive' }, senders: [webhook] })).not.toThrow()
  })
})
