import { describe, expect, it, vi } from 'vitest'
import { DeliveryError, DeliveryTimeoutError } from '../../src/pool/delivery-error.js'
import { DEFAULT_RETRY, type RetryOptions } from '../../src/config/delivery-options.js'
import { isTransientStatus, parseRetryAfter, RetryPolicy, TRANSIENT_CLIENT_STATUSES } from '../../src/pool/retry-policy.js'

const ALMOST_ONE = 1 - Number.EPSILON

function policy(options: Partial<RetryOptions>, random: () => number): RetryPolicy {
  return new RetryPolicy({ ...DEFAULT_RETRY, ...options }, random)
}

describe('RetryPolicy', () => {
  describe('backoffMs', () => {
    it('is 0 with random 0, whatever the attempt', () => {
      const retry = policy({}, () => 0)
      expect([1, 2, 5, 10, 40].map((n) => retry.backoffMs(n))).toEqual([0, 0, 0, 0, 0])
    })

    it('stays just under min(maxDelayMs, baseDelayMs * 2^(n-1)) with random close to 1', () => {
      const retry = policy({ baseDelayMs: 100, maxDelayMs: 10_000 }, () => ALMOST_ONE)
      expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((n) => retry.backoffMs(n))).toEqual([
        99, 199, 399, 799, 1599, 3199, 6399, 9999, 9999, 9999,
      ])
    })

    it('scales the ceiling by the random value (full jitter)', () => {
      const retry = policy({ baseDelayMs: 100, maxDelayMs: 10_000 }, () => 0.5)
      expect([1, 2, 3, 8].map((n) => retry.backoffMs(n))).toEqual([50, 100, 200, 5000])
    })

    it('stays within [0, ceiling) for many random values', () => {
      let seed = 7
      const random = (): number => {
        seed = (seed * 16807) % 2147483647
        return (seed - 1) / 2147483646
      }
      const retry = policy({ baseDelayMs: 30, maxDelayMs: 2000 }, random)
      for (let attempt = 1; attempt <= 12; attempt++) {
        const ceiling = Math.min(2000, 30 * 2 ** (attempt - 1))
        for (let k = 0; k < 50; k++) {
          const delay = retry.backoffMs(attempt)
          expect(Number.isInteger(delay)).toBe(true)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(ceiling)
        }
      }
    })

    it('is 0 with baseDelayMs 0', () => {
      expect(policy({ baseDelayMs: 0 }, () => ALMOST_ONE).backoffMs(3)).toBe(0)
    })
  })

  describe('decide', () => {
    const retry = policy({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryTimeMs: 5000 }, () => 0.5)

    it('never retries a permanent DeliveryError, even on the first attempt', () => {
      expect(retry.decide(new DeliveryError('bad', { permanent: true, status: 400 }), 1, 0)).toEqual({
        retry: false,
        reason: 'permanent',
      })
      // Permanent wins over exhausted.
      expect(retry.decide(new DeliveryError('bad', { permanent: true }), 3, 0)).toEqual({ retry: false, reason: 'permanent' })
    })

    it('retries transient failures of any kind with the backoff delay', () => {
      for (const error of [new Error('reset'), new DeliveryError('503', { status: 503 }), new DeliveryTimeoutError(10), 'x', undefined]) {
        expect(retry.decide(error, 1, 0)).toEqual({ retry: true, delayMs: 50 })
        expect(retry.decide(error, 2, 0)).toEqual({ retry: true, delayMs: 100 })
      }
    })

    it('is exhausted once maxAttempts attempts were made', () => {
      expect(retry.decide(new Error('x'), 3, 0)).toEqual({ retry: false, reason: 'exhausted' })
      expect(policy({ maxAttempts: 1 }, () => 0).decide(new Error('x'), 1, 0)).toEqual({ retry: false, reason: 'exhausted' })
    })

    it('honours retryAfterMs over the backoff, even above maxDelayMs', () => {
      expect(retry.decide(new DeliveryError('429', { status: 429, retryAfterMs: 4000 }), 1, 0)).toEqual({
        retry: true,
        delayMs: 4000,
      })
      expect(retry.decide(new DeliveryError('429', { retryAfterMs: 0 }), 1, 0)).toEqual({ retry: true, delayMs: 0 })
      expect(retry.decide(new DeliveryError('429', { retryAfterMs: -20 }), 1, 0)).toEqual({ retry: true, delayMs: 0 })
    })

    it('is exhausted when the next attempt would start after maxRetryTimeMs', () => {
      expect(retry.decide(new Error('x'), 1, 4950)).toEqual({ retry: true, delayMs: 50 })
      expect(retry.decide(new Error('x'), 1, 4951)).toEqual({ retry: false, reason: 'exhausted' })
      expect(retry.decide(new DeliveryError('429', { retryAfterMs: 5001 }), 1, 0)).toEqual({
        retry: false,
        reason: 'exhausted',
      })
    })
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter(' 5 ', now)).toBe(5000)
    expect(parseRetryAfter('1.5', now)).toBe(1500)
  })

  it('reads an HTTP date as the time left until it, and a past date as 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Wed, 21 Oct 2015 08:28:00 GMT', now)).toBe(3_600_000)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0)
  })

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['2', '30'], now)).toBe(2000)
  })

  it('returns undefined when absent or unparsable', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(parseRetryAfter('', now)).toBeUndefined()
    expect(parseRetryAfter('   ', now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    // Date.parse would read these as years.
    expect(parseRetryAfter('-5', now)).toBeUndefined()
    expect(parseRetryAfter('2030', now)).toBe(2_030_000)
    expect(parseRetryAfter('12 apples', now)).toBeUndefined()
    // The obsolete HTTP date forms (RFC 850, asctime) still count.
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Wed Oct 21 07:28:30 2015', now)).toBeGreaterThanOrEqual(0)
    expect(parseRetryAfter([], now)).toBeUndefined()
  })

  it('defaults now to the current time', () => {
    vi.useFakeTimers({ now })
    try {
      expect(parseRetryAfter('Wed, 21 Oct 2015 07:29:00 GMT')).toBe(60_000)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('isTransientStatus', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [501, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [200, false],
    [204, false],
    [301, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [413, false],
    [422, false],
    [600, false],
  ])('%i -> %s', (status, transient) => {
    expect(isTransientStatus(status)).toBe(transient)
  })

  it('lists the statuses retried by name', () => {
    expect([...TRANSIENT_CLIENT_STATUSES].sort()).toEqual([408, 429])
  })
})

describe('DeliveryError', () => {
  it('defaults to a transient error without status or Retry-After', () => {
    const error = new DeliveryError('nope')
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('DeliveryError')
    expect(error.message).toBe('nope')
    expect(error.permanent).toBe(false)
    expect(error.retryAfterMs).toBeUndefined()
    expect(error.status).toBeUndefined()
    expect(error.cause).toBeUndefined()
  })

  it('keeps permanent, retryAfterMs, status and cause', () => {
    const cause = new Error('socket hang up')
    const error = new DeliveryError('HTTP 429', { permanent: false, retryAfterMs: 1500, status: 429, cause })
    expect(error).toMatchObject({ permanent: false, retryAfterMs: 1500, status: 429 })
    expect(error.cause).toBe(cause)
    expect(new DeliveryError('HTTP 400', { permanent: true }).permanent).toBe(true)
  })

  it('DeliveryTimeoutError names the limit', () => {
    const error = new DeliveryTimeoutError(2500)
    expect(error.name).toBe('DeliveryTimeoutError')
    expect(error.message).toBe('delivery attempt timed out after 2500 ms')
  })
})
