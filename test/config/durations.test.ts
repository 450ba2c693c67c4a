/**
 * Issue 10, item 3: millisecond options past 2^31 - 1 fired after 1 ms (Node's timers hold a signed
 * 32-bit delay): `pool.timeoutMs: 3e9` timed every attempt out at once, `statsIntervalMs: 3e9` posted
 * ~900 stats a second. Every duration option is now bounded in its schema, with an error naming its
 * path, and every timer goes through one place that clamps what is computed at run time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCourierStream } from '../../src/input/stream.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { createHttpSender } from '../../src/sinks/http/http-sender.js'
import { MAX_TIMER_MS, setRepeat, setTimer, timerDelay } from '../../src/timers.js'
import { configErrorOf } from '../helpers/config-error.js'

const URL = 'http://127.0.0.1:9/logs'
const TOO_LONG = 3e9

/** Sets `value` at the dotted `path` of a fresh object. */
function at(path: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let node = out
  const keys = path.split('.')
  keys.slice(0, -1).forEach((key) => (node = node[key] = {} as Record<string, unknown>))
  node[keys.at(-1) as string] = value
  return out
}

/** Every duration option of a sender (relative paths) and of the transport's top level. */
const SENDER_DURATIONS = [
  'closeTimeoutMs',
  'keepAliveTimeoutMs',
  'batch.maxWaitMs',
  'pool.timeoutMs',
  'retry.baseDelayMs',
  'retry.maxDelayMs',
  'retry.maxRetryTimeMs',
  'retry.maxRetryAfterMs',
]
const DELIVERY_DURATIONS = ['batch.maxWaitMs', 'pool.timeoutMs', 'retry.baseDelayMs', 'retry.maxDelayMs', 'retry.maxRetryTimeMs', 'retry.maxRetryAfterMs']
const TOP_DURATIONS = ['statsIntervalMs', 'warnIntervalMs', ...DELIVERY_DURATIONS]

describe('duration options past what a timer can wait', () => {
  it.each(SENDER_DURATIONS)('senders[0].%s: 3e9 is refused, naming the path', (path) => {
    const error = configErrorOf(() => parseTransportOptions({ senders: [{ type: 'http', url: URL, ...at(path, TOO_LONG) }] }))
    expect(error.paths).toEqual([`senders[0].${path}`])
    expect(error.message).toContain(`senders[0].${path}: must be at most ${MAX_TIMER_MS} ms`)
    // The largest value a timer can wait for is fine.
    expect(() => parseTransportOptions({ senders: [{ type: 'http', url: URL, ...at(path, MAX_TIMER_MS) }] })).not.toThrow()
  })

  it.each(TOP_DURATIONS)('%s at the top level: 3e9 is refused, naming the path', (path) => {
    const error = configErrorOf(() => parseTransportOptions({ senders: [{ type: 'file', path: 'x.log' }], ...at(path, TOO_LONG) }))
    expect(error.paths).toEqual([path])
  })

  it('the spool, the rate limit, the webhook sender and the in-process stream are bounded too', () => {
    const file = { type: 'file', path: 'x.log' }
    expect(configErrorOf(() => parseTransportOptions({ senders: [file], spool: { dir: 'd', fsyncIntervalMs: TOO_LONG } })).paths).toEqual([
      'spool.fsyncIntervalMs',
    ])
    expect(
      configErrorOf(() => parseTransportOptions({ senders: [{ ...file, pool: { rateLimit: { intervalMs: TOO_LONG, maxRequests: 1 } } }] })).paths,
    ).toEqual(['senders[0].pool.rateLimit.intervalMs'])
    const webhook = { type: 'webhook', url: URL }
    expect(configErrorOf(() => parseTransportOptions({ senders: [{ ...webhook, pool: { timeoutMs: TOO_LONG } }] })).paths).toEqual([
      'senders[0].pool.timeoutMs',
    ])
    expect(configErrorOf(() => parseTransportOptions({ senders: [{ ...webhook, keepAliveTimeoutMs: TOO_LONG }] })).paths).toEqual([
      'senders[0].keepAliveTimeoutMs',
    ])
    expect(configErrorOf(() => createCourierStream({ senders: [{ type: 'http', url: URL }], warnIntervalMs: TOO_LONG })).paths).toEqual([
      'warnIntervalMs',
    ])
    // A sender built by hand validates its own options the same way.
    expect(configErrorOf(() => createHttpSender({ url: URL, pool: { timeoutMs: TOO_LONG } })).paths).toEqual(['pool.timeoutMs'])
  })
})

describe('queue.maxBlockMs', () => {
  const block = (queue: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    senders: [{ type: 'http', url: URL, queue: { overflow: 'block', ...queue } }],
    ...more,
  })

  it('is bounded, and with closeTimeoutMs stays within pino 10 s exit limit', () => {
    expect(configErrorOf(() => parseTransportOptions(block({ maxBlockMs: 60_000 }))).paths).toEqual(['senders[0].queue.maxBlockMs'])
    // 5,000 (the default close deadline) + 4,500 > 9,000.
    const error = configErrorOf(() => parseTransportOptions(block({ maxBlockMs: 4500 })))
    expect(error.paths).toEqual(['senders[0].queue.maxBlockMs'])
    expect(error.message).toContain("queue.maxBlockMs (4500) + closeTimeoutMs (5000) must stay within pino's 10 s exit limit")
    expect(() => parseTransportOptions(block({ maxBlockMs: 4000 }))).not.toThrow()
    expect(() => parseTransportOptions(block({ maxBlockMs: 4500 }, { closeTimeoutMs: 4000 }))).not.toThrow()
    // Set at the top level, named there; the close deadline is named when it is what grew.
    expect(configErrorOf(() => parseTransportOptions({ ...block({}), queue: { maxBlockMs: 8000 } })).paths).toEqual(['queue.maxBlockMs'])
    expect(configErrorOf(() => parseTransportOptions({ ...block({}), closeTimeoutMs: 8500 })).paths).toEqual(['closeTimeoutMs'])
    // Without the block policy the window never opens.
    expect(() => parseTransportOptions({ senders: [{ type: 'http', url: URL, queue: { maxBlockMs: 8000 } }] })).not.toThrow()
  })
})

describe('timers', () => {
  const timers: NodeJS.Timeout[] = []
  afterEach(() => {
    for (const timer of timers.splice(0)) clearTimeout(timer)
  })

  it('clamp a delay past the limit instead of firing at once, without an overflow warning', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      let fired = 0
      timers.push(setTimer(() => fired++, TOO_LONG), setRepeat(() => fired++, TOO_LONG), setTimer(() => fired++, Number.POSITIVE_INFINITY))
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(fired).toBe(0)
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('timerDelay maps every number to a delay a timer can wait', () => {
    expect([timerDelay(-5), timerDelay(Number.NaN), timerDelay(0), timerDelay(1.2), timerDelay(TOO_LONG), timerDelay(Infinity)]).toEqual([
      0,
      0,
      0,
      2,
      MAX_TIMER_MS,
      MAX_TIMER_MS,
    ])
  })
})
