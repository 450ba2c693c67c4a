import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ConfigError } from '../../src/config/config-error.js'
import { LevelMap, DEFAULT_LEVELS } from '../../src/config/levels.js'
import { DeliveryError, DeliveryTimeoutError } from '../../src/pool/delivery-error.js'
import { MAX_RECENT_FAILURES, type SenderStats } from '../../src/stats/delivery-stats.js'
import { createRecord, type LogRecord } from '../../src/input/record.js'
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../../src/config/defaults.js'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, DeliveryContext, Sink } from '../../src/senders/sender.js'

// ---- helpers ---------------------------------------------------------------------------------

/** A record with a numeric id `i`, so tests can follow single records through the sender. */
function rec(i: number, level = 30): LogRecord {
  return createRecord(`{"level":${level},"msg":"x","i":${i}}`)
}

function idsOf(batch: Batch): number[] {
  return batch.records.map((r) => r.value().i as number)
}

function range(from: number, to: number): number[] {
  const out: number[] = []
  for (let i = from; i <= to; i++) out.push(i)
  return out
}

/** received = queued + inFlight + delivered + failed + dropped (every reason). */
function expectLedger(stats: SenderStats): void {
  const accounted =
    stats.queued +
    stats.inFlight +
    stats.delivered +
    stats.failed +
    stats.dropped.overflow +
    stats.dropped.closed +
    stats.dropped.oversize
  expect(accounted).toBe(stats.received)
}

/** Lets promise chains (deliveries, settles) run without moving the fake clock. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0)
}

/** One call of Sink.deliver, with handles to end it from the test. */
interface Attempt {
  readonly batch: Batch
  readonly ids: number[]
  readonly signal: AbortSignal
  readonly attempt: number
  /** Fake time at which the attempt started. */
  readonly at: number
  done: boolean
  resolve(): void
  reject(error: unknown): void
}

/**
 * A sink under the test's control. Without a script every attempt hangs until the test resolves or
 * rejects it (and ignores its signal); a script decides each attempt's fate itself.
 */
class TestSink implements Sink {
  readonly attempts: Attempt[] = []
  /** Ids of successfully delivered batches, in delivery order. */
  readonly delivered: number[][] = []
  deliveredBytes = 0
  /** Events in order: 'deliver:<ids>' on success, 'close' when the sink is closed. */
  readonly log: string[] = []
  active = 0
  maxActive = 0
  closeCalls = 0
  readonly #script: ((attempt: Attempt) => void) | undefined

  constructor(script?: (attempt: Attempt) => void) {
    this.#script = script
  }

  deliver(batch: Batch, context: DeliveryContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.active++
      this.maxActive = Math.max(this.maxActive, this.active)
      const finish = (): boolean => {
        if (attempt.done) return false
        attempt.done = true
        this.active--
        return true
      }
      const attempt: Attempt = {
        batch,
        ids: idsOf(batch),
        signal: context.signal,
        attempt: context.attempt,
        at: Date.now(),
        done: false,
        resolve: () => {
          if (!finish()) return
          this.delivered.push(attempt.ids)
          this.deliveredBytes += batch.bytes
          this.log.push(`deliver:${attempt.ids.join(',')}`)
          resolve()
        },
        reject: (error: unknown) => {
          if (finish()) reject(error)
        },
      }
      this.attempts.push(attempt)
      this.#script?.(attempt)
    })
  }

  close(): Promise<void> {
    this.closeCalls++
    this.log.push('close')
    return Promise.resolve()
  }

  /** The n-th attempt (0-based); fails the test when it was never made. */
  at(n: number): Attempt {
    const attempt = this.attempts[n]
    if (!attempt) throw new Error(`no attempt #${n} (made ${this.attempts.length})`)
    return attempt
  }

  pending(): Attempt[] {
    return this.attempts.filter((a) => !a.done)
  }

  deliveredIds(): number[] {
    return this.delivered.flat()
  }
}

/** A sink that accepts every batch at once. */
function acceptingSink(): TestSink {
  return new TestSink((a) => a.resolve())
}

/** A sink whose deliveries take `ms` of (fake) time, then succeed. */
function slowSink(ms: number): TestSink {
  return new TestSink((a) => {
    setTimeout(() => a.resolve(), ms)
  })
}

/** Resolves every attempt as it comes until the sender has flushed. */
async function deliverAll(sender: QueuedSender, sink: TestSink): Promise<void> {
  const done = sender.flush()
  // Jobs reach the sink a microtask after their dispatch.
  await settle()
  while (sink.pending().length > 0) {
    for (const attempt of sink.pending()) attempt.resolve()
    await settle()
  }
  await done
}

function makeSender(options: CommonSenderOptions, sink: Sink): QueuedSender {
  return new QueuedSender(options, sink, { random: () => 0.5 })
}

/** One record per batch, 3 workers, and 5 s backoffs (random 0.5): room to see which batch goes when. */
function backoffSender(sink: TestSink): QueuedSender {
  return makeSender(
    { batch: { ...QUIET, maxRecords: 1 }, pool: { concurrency: 3 }, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } },
    sink,
  )
}

/** Attempts as `<first id>#<attempt>@<ms since the first attempt>`, in the order they started. */
function timeline(sink: TestSink): string[] {
  return sink.attempts.map((a) => `${a.ids[0]}#${a.attempt}@${a.at - sink.at(0).at}`)
}

/** Options that never dispatch on their own: only flush, close, flushLevel or a full queue do. */
const QUIET = { maxRecords: 1000, maxWaitMs: 3_600_000, flushLevel: 'fatal' } as const

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

// ---- tests -----------------------------------------------------------------------------------

describe('QueuedSender', () => {
  describe('constructor', () => {
    it('throws a ConfigError naming queue.maxRecords when it is 0, with the ZodError as cause', () => {
      const sink = acceptingSink()
      let caught: unknown
      try {
        makeSender({ queue: { maxRecords: 0 } }, sink)
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(ConfigError)
      const error = caught as ConfigError
      expect(error.message).toMatch(/^pino-courier: invalid options: queue\.maxRecords: /)
      expect(error.paths).toEqual(['queue.maxRecords'])
      expect(error.cause).toBeInstanceOf(z.ZodError)
    })

    it('rejects an unknown key inside a group, naming the group and the key', () => {
      expect(() => makeSender({ queue: { maxRecord: 5 } } as unknown as CommonSenderOptions, acceptingSink())).toThrow(
        /queue\.maxRecord: unknown option/,
      )
    })

    it('rejects an unknown top-level key instead of ignoring it', () => {
      const make = (): QueuedSender => makeSender({ qeue: { maxRecords: 5 } } as unknown as CommonSenderOptions, acceptingSink())
      expect(make).toThrow(ConfigError)
      expect(make).toThrow(/qeue/)
    })

    it('rejects queue.maxRecordBytes larger than queue.maxBytes', () => {
      const make = (): QueuedSender => makeSender({ queue: { maxBytes: 100, maxRecordBytes: 101 } }, acceptingSink())
      expect(make).toThrow(ConfigError)
      expect(make).toThrow('queue.maxRecordBytes: must not exceed queue.maxBytes (100)')
    })

    it('rejects unknown level names for level and batch.flushLevel, naming the path', () => {
      expect(() => makeSender({ level: 'verbose' }, acceptingSink())).toThrow(/invalid options: level: unknown level "verbose"/)
      expect(() => makeSender({ batch: { flushLevel: 'loud' } }, acceptingSink())).toThrow(
        /invalid options: batch\.flushLevel: unknown level "loud"/,
      )
    })

    it('rejects a rate limit without any limit and a non-integer concurrency', () => {
      expect(() => makeSender({ pool: { rateLimit: { intervalMs: 1000 } } }, acceptingSink())).toThrow(/pool\.rateLimit/)
      expect(() => makeSender({ pool: { concurrency: 1.5 } }, acceptingSink())).toThrow(/pool\.concurrency/)
      expect(() => makeSender({ queue: { overflow: 'spill' as 'block' } }, acceptingSink())).toThrow(/queue\.overflow/)
    })

    it('resolves level names through the context levels, custom ones included', () => {
      const levels = new LevelMap({ ...DEFAULT_LEVELS, audit: 35 })
      const sender = new QueuedSender({ level: 'audit', batch: { flushLevel: 'audit' } }, acceptingSink(), { levels })
      expect(sender.level).toBe(35)
    })

    it('fills defaults under the options, with context defaults in between', () => {
      const sender = new QueuedSender({ batch: { maxRecords: 7 } }, acceptingSink(), {
        defaults: [{ batch: { maxRecords: 3, maxWaitMs: 42 } }],
      })
      expect(sender.options.batch).toEqual({ maxRecords: 7, maxBytes: 1024 * 1024, maxWaitMs: 42, flushLevel: 'error' })
      expect(sender.options.queue.overflow).toBe('drop-newest')
      expect(sender.name).toBe('sender')
    })
  })

  describe('send', () => {
    it('ignores records below the level without counting them', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ level: 'warn' }, sink)
      expect(sender.send(rec(1, 30))).toBe(true)
      expect(sender.send(rec(2, 40))).toBe(true)
      expect(sender.send(rec(3, 50))).toBe(true)
      await sender.flush()
      expect(sink.deliveredIds()).toEqual([2, 3])
      expect(sender.stats().received).toBe(2)
    })

    it('neither throws nor enqueues garbage for levels far out of range', async () => {
      const lines = [
        '{"level":-5,"msg":"x","i":1}',
        '{"level":1000000000,"msg":"x","i":2}',
        '{"level":NaN,"msg":"x","i":3}',
        `{"level":${'9'.repeat(400)},"msg":"x","i":4}`,
        '{"level":1e999,"msg":"x","i":5}',
        '{"level":"nope","msg":"x","i":6}',
        '{"level":-Infinity,"msg":"x","i":7}',
      ]
      const allSink = acceptingSink()
      const infoSink = acceptingSink()
      const silentSink = acceptingSink()
      const all = makeSender({ name: 'all' }, allSink)
      const info = makeSender({ name: 'info', level: 'info' }, infoSink)
      const silent = makeSender({ name: 'silent', level: 'silent' }, silentSink)
      for (const line of lines) {
        const record = createRecord(line)
        expect(all.send(record)).toBe(true)
        expect(info.send(record)).toBe(true)
        expect(silent.send(record)).toBe(true)
      }
      await Promise.all([all.flush(), info.flush(), silent.flush()])

      const delivered = allSink.attempts.flatMap((a) => a.batch.records)
      expect(delivered).toHaveLength(7)
      for (const record of delivered) {
        // Every line forwarded is one JSON object (a non-JSON line is wrapped), and its level is sane.
        const value: unknown = JSON.parse(record.line)
        expect(value).toBeTypeOf('object')
        expect(Array.isArray(value)).toBe(false)
        expect(Number.isFinite(record.level)).toBe(true)
      }
      expect(delivered.map((r) => r.level)).toEqual([-5, 1e9, 30, 30, 30, 30, 30])
      expect(delivered.map((r) => r.malformed)).toEqual([false, false, true, false, false, false, true])
      // The info sender skips only the -5 record; the silent one takes nothing at all.
      expect(info.stats().received).toBe(6)
      expect(info.stats().delivered).toBe(6)
      expect(silent.stats().received).toBe(0)
      expect(silentSink.attempts).toHaveLength(0)
    })

    it('drops and counts a record larger than queue.maxRecordBytes, never delivering it', async () => {
      const sink = acceptingSink()
      const drops: unknown[] = []
      const sender = makeSender({ queue: { maxRecordBytes: 100 } }, sink)
      sender.on('drop', (drop) => drops.push(drop))
      const big = createRecord(`{"level":30,"msg":"${'y'.repeat(100)}","i":2}`)
      expect(big.bytes).toBeGreaterThan(100)
      expect(sender.send(rec(1))).toBe(true)
      expect(sender.send(big)).toBe(true)
      expect(sender.send(rec(3))).toBe(true)
      await sender.flush()
      expect(sink.deliveredIds()).toEqual([1, 3])
      const stats = sender.stats()
      expect(stats.dropped).toEqual({ overflow: 0, closed: 0, oversize: 1, spoolFull: 0, spoolError: 0 })
      expect(stats.received).toBe(3)
      expect(stats.delivered).toBe(2)
      expect(drops).toEqual([{ sender: 'sender', reason: 'oversize', records: 1 }])
      expectLedger(stats)
    })

    it('never runs the sink inside send(): a completed batch reaches it a microtask later', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 2 } }, sink)
      sender.send(rec(1))
      expect(sender.send(rec(2))).toBe(true) // completes a batch: dispatched, not yet delivered
      expect(sender.stats()).toMatchObject({ inFlight: 2, attempts: 0 })
      expect(sink.attempts).toHaveLength(0)
      sender.send(rec(3, 60)) // a flushLevel record
      void sender.flush()
      expect(sink.attempts).toHaveLength(0)
      await Promise.resolve()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1, 2]])
      await settle()
      expect(sink.delivered).toEqual([[1, 2], [3]])
      expect(sender.stats()).toMatchObject({ delivered: 3, attempts: 2 })
    })

    it('keeps exact queued and delivered byte counts', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: QUIET }, sink)
      const records = [rec(1), rec(22), createRecord('{"level":30,"msg":"é€😀","i":3}')]
      for (const r of records) sender.send(r)
      const bytes = records.reduce((sum, r) => sum + r.bytes, 0)
      expect(sender.stats().queuedBytes).toBe(bytes)
      expect(sender.stats().queued).toBe(3)
      await sender.flush()
      expect(sender.stats().queuedBytes).toBe(0)
      expect(sender.stats().deliveredBytes).toBe(bytes)
      expect(sink.at(0).batch.bytes).toBe(bytes)
    })
  })

  describe('batching', () => {
    it('sends 12 records with batch size 10 as one batch of 10 in order; 2 wait for flush', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: { maxRecords: 10, maxWaitMs: 60_000 } }, sink)
      for (let i = 1; i <= 12; i++) sender.send(rec(i))
      await settle()
      expect(sink.delivered).toEqual([range(1, 10)])
      await vi.advanceTimersByTimeAsync(59_000)
      expect(sink.delivered).toEqual([range(1, 10)])
      expect(sender.stats().queued).toBe(2)
      await sender.flush()
      expect(sink.delivered).toEqual([range(1, 10), [11, 12]])
      expect(sender.stats().delivered).toBe(12)
    })

    it('sends the 2 remaining records once on close', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: { maxRecords: 10, maxWaitMs: 60_000 } }, sink)
      for (let i = 1; i <= 12; i++) sender.send(rec(i))
      await settle()
      expect(sink.delivered).toEqual([range(1, 10)])
      const report = await sender.close()
      expect(sink.delivered).toEqual([range(1, 10), [11, 12]])
      expect(sink.attempts).toHaveLength(2)
      expect(report.undelivered).toBe(0)
      expect(report.stats.delivered).toBe(12)
    })

    it('sends a batch when its oldest record is maxWaitMs old, not before', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: { maxRecords: 100, maxWaitMs: 500 } }, sink)
      sender.send(rec(1))
      await vi.advanceTimersByTimeAsync(200)
      sender.send(rec(2))
      await vi.advanceTimersByTimeAsync(299)
      expect(sink.attempts).toHaveLength(0)
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.delivered).toEqual([[1, 2]])

      // A record arriving later waits at most maxWaitMs from its own arrival.
      await vi.advanceTimersByTimeAsync(100)
      sender.send(rec(3))
      await vi.advanceTimersByTimeAsync(499)
      expect(sink.delivered).toEqual([[1, 2]])
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.delivered).toEqual([[1, 2], [3]])
    })

    it('splits batches at batch.maxBytes', async () => {
      const sink = acceptingSink()
      const size = rec(0).bytes
      const sender = makeSender({ batch: { ...QUIET, maxBytes: size * 3 } }, sink)
      for (let i = 1; i <= 7; i++) sender.send(rec(i))
      await sender.flush()
      expect(sink.delivered).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7],
      ])
      expect(sink.attempts.map((a) => a.batch.bytes)).toEqual([size * 3, size * 3, size])
    })

    it('sends a record larger than batch.maxBytes alone', async () => {
      const sink = acceptingSink()
      const size = rec(0).bytes
      const sender = makeSender({ batch: { ...QUIET, maxBytes: size * 2 } }, sink)
      sender.send(rec(1))
      sender.send(createRecord(`{"level":30,"msg":"${'z'.repeat(200)}","i":2}`))
      sender.send(rec(3))
      await sender.flush()
      expect(sink.delivered).toEqual([[1], [2], [3]])
    })

    it('hands every batch a fresh array: mutating a delivered batch does not touch later ones', async () => {
      const seen: (readonly LogRecord[])[] = []
      const sink = new TestSink((a) => {
        seen.push(a.batch.records)
        // A misbehaving sink that empties the array it was given.
        ;(a.batch.records as LogRecord[]).length = 0
        a.resolve()
      })
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 3 } }, sink)
      for (let i = 1; i <= 9; i++) sender.send(rec(i))
      await sender.flush()
      expect(sink.delivered).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ])
      expect(new Set(seen).size).toBe(3)
      expect(sender.stats().delivered).toBe(9)
    })

    it('sends everything queued before a flushLevel record at once', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: { maxRecords: 100, maxWaitMs: 60_000 } }, sink)
      sender.send(rec(1, 30))
      sender.send(rec(2, 20))
      sender.send(rec(3, 40))
      await settle()
      expect(sink.attempts).toHaveLength(0)
      sender.send(rec(4, 50))
      await settle()
      expect(sink.delivered).toEqual([[1, 2, 3, 4]])
      sender.send(rec(5, 30))
      await settle()
      expect(sink.delivered).toEqual([[1, 2, 3, 4]])
      expect(sender.stats().queued).toBe(1)
    })

    it('honours a numeric or custom flushLevel', async () => {
      const sink = acceptingSink()
      const levels = new LevelMap({ ...DEFAULT_LEVELS, alert: 55 })
      const sender = new QueuedSender({ batch: { maxRecords: 100, maxWaitMs: 60_000, flushLevel: 'alert' } }, sink, {
        levels,
        random: () => 0.5,
      })
      sender.send(rec(1, 50))
      await settle()
      expect(sink.attempts).toHaveLength(0)
      sender.send(rec(2, 55))
      await settle()
      expect(sink.delivered).toEqual([[1, 2]])

      const numeric = acceptingSink()
      const other = makeSender({ batch: { maxRecords: 100, maxWaitMs: 60_000, flushLevel: 40 } }, numeric)
      other.send(rec(3, 30))
      other.send(rec(4, 40))
      await settle()
      expect(numeric.delivered).toEqual([[3, 4]])
    })

    it('delivers batches in order with concurrency 1', async () => {
      const sink = slowSink(10)
      const sender = makeSender({ batch: { maxRecords: 2, maxWaitMs: 60_000 } }, sink)
      for (let i = 1; i <= 9; i++) sender.send(rec(i))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(100)
      await flushed
      expect(sink.delivered).toEqual([[1, 2], [3, 4], [5, 6], [7, 8], [9]])
      expect(sink.maxActive).toBe(1)
    })
  })

  describe('overflow', () => {
    it('with capacity N and W workers accepts N pending + W running, then drops the newest', async () => {
      const sink = new TestSink()
      const sender = makeSender({ queue: { maxRecords: 3 }, batch: { maxRecords: 1 }, pool: { concurrency: 2 } }, sink)
      for (let i = 1; i <= 8; i++) expect(sender.send(rec(i))).toBe(true)
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1], [2]])
      const stats = sender.stats()
      expect(stats.inFlight).toBe(2)
      expect(stats.queued).toBe(3)
      expect(stats.dropped.overflow).toBe(3)
      expectLedger(stats)

      await deliverAll(sender, sink)
      expect(sink.deliveredIds()).toEqual([1, 2, 3, 4, 5])
    })

    it('hands a full queue to an idle worker before dropping, even when batches are larger than the queue', async () => {
      const sink = new TestSink()
      const sender = makeSender({ queue: { maxRecords: 5 }, batch: { maxRecords: 100, maxWaitMs: 60_000 } }, sink)
      for (let i = 1; i <= 12; i++) sender.send(rec(i))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1, 2, 3, 4, 5]])
      const stats = sender.stats()
      expect(stats.inFlight).toBe(5)
      expect(stats.queued).toBe(5)
      expect(stats.dropped.overflow).toBe(2)
      expectLedger(stats)
    })

    it('sends a full queue as soon as a worker is free, not after batch.maxWaitMs', async () => {
      // queue.maxRecords < batch.maxRecords: the queue is full long before a batch is.
      const sink = slowSink(10)
      const sender = makeSender({ queue: { maxRecords: 5, overflow: 'block' }, batch: { maxRecords: 100, maxWaitMs: 1000 } }, sink)
      let sent = 0
      const sending = (async () => {
        for (let i = 1; i <= 50; i++) {
          if (!sender.send(rec(i))) await sender.ready()
          sent++
        }
      })()
      // About 6 records leave every 10 ms: all 50 are through long before one maxWaitMs.
      await vi.advanceTimersByTimeAsync(200)
      expect(sent).toBe(50)
      await sending
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(10)
      await flushed
      expect(sink.deliveredIds()).toEqual(range(1, 50))
      expect(sink.attempts.every((a) => a.batch.records.length <= 6)).toBe(true)
      expect(sender.stats().dropped).toEqual({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })
    })

    it('drop-oldest evicts the oldest waiting record', async () => {
      const sink = new TestSink()
      const sender = makeSender(
        { queue: { maxRecords: 3, overflow: 'drop-oldest' }, batch: { maxRecords: 1 }, pool: { concurrency: 1 } },
        sink,
      )
      for (let i = 1; i <= 8; i++) expect(sender.send(rec(i))).toBe(true)
      expect(sender.stats().dropped.overflow).toBe(4)
      await deliverAll(sender, sink)
      expect(sink.deliveredIds()).toEqual([1, 6, 7, 8])
      expectLedger(sender.stats())
    })

    it('fires one drop event per dropped record', () => {
      const sink = new TestSink()
      const drops: { reason: string; records: number }[] = []
      const sender = makeSender({ name: 'q', queue: { maxRecords: 2 }, batch: { maxRecords: 1 } }, sink)
      sender.on('drop', (drop) => drops.push(drop))
      for (let i = 1; i <= 6; i++) sender.send(rec(i))
      expect(drops).toEqual([
        { sender: 'q', reason: 'overflow', records: 1 },
        { sender: 'q', reason: 'overflow', records: 1 },
        { sender: 'q', reason: 'overflow', records: 1 },
      ])
      expect(sender.stats().dropped.overflow).toBe(3)
    })

    describe.each(['drop-newest', 'drop-oldest'] as const)('level-aware dropping with %s', (overflow) => {
      /** Worker busy with record 1, queue full with info records 2, 3, 4. */
      function fullOfInfo(): { sender: QueuedSender; sink: TestSink } {
        const sink = new TestSink()
        const sender = makeSender({ queue: { maxRecords: 3, overflow }, batch: { ...QUIET, maxRecords: 1 } }, sink)
        sender.send(rec(1, 30))
        void sender.flush()
        for (let i = 2; i <= 4; i++) sender.send(rec(i, 30))
        expect(sender.stats().inFlight).toBe(1)
        expect(sender.stats().queued).toBe(3)
        return { sender, sink }
      }

      it('an error record evicts an info record', async () => {
        const { sender, sink } = fullOfInfo()
        expect(sender.send(rec(5, 50))).toBe(true)
        expect(sender.stats().dropped.overflow).toBe(1)
        expect(sender.stats().queued).toBe(3)
        await deliverAll(sender, sink)
        // drop-newest gives up the newest info record, drop-oldest the oldest waiting one.
        expect(sink.deliveredIds()).toEqual(overflow === 'drop-newest' ? [1, 2, 3, 5] : [1, 3, 4, 5])
        expectLedger(sender.stats())
      })

      it('a debug record is refused', async () => {
        const { sender, sink } = fullOfInfo()
        expect(sender.send(rec(5, 20))).toBe(true)
        expect(sender.stats().dropped.overflow).toBe(1)
        await deliverAll(sender, sink)
        expect(sink.deliveredIds()).toEqual([1, 2, 3, 4])
      })

      it('an info record is refused by drop-newest and evicts the oldest info under drop-oldest', async () => {
        const { sender, sink } = fullOfInfo()
        sender.send(rec(5, 30))
        await deliverAll(sender, sink)
        expect(sink.deliveredIds()).toEqual(overflow === 'drop-newest' ? [1, 2, 3, 4] : [1, 3, 4, 5])
      })

      it('errors never make room for lower levels', async () => {
        const sink = new TestSink()
        const sender = makeSender({ queue: { maxRecords: 2, overflow }, batch: { ...QUIET, maxRecords: 1 } }, sink)
        sender.send(rec(1, 30))
        void sender.flush()
        sender.send(rec(2, 50))
        sender.send(rec(3, 30))
        sender.send(rec(4, 40)) // evicts info 3
        sender.send(rec(5, 30)) // lowest waiting is warn: refused
        await deliverAll(sender, sink)
        expect(sink.deliveredIds()).toEqual([1, 2, 4])
        expect(sender.stats().dropped.overflow).toBe(2)
      })
    })

    it('treats levels of one decade as one level when making room (a custom 35 shares info\'s lane)', async () => {
      const sink = new TestSink()
      const sender = makeSender({ queue: { maxRecords: 2 }, batch: { ...QUIET, maxRecords: 1 } }, sink)
      sender.send(rec(1, 30))
      void sender.flush()
      sender.send(rec(2, 30))
      sender.send(rec(3, 30))
      sender.send(rec(4, 35)) // same lane as info: refused like an info record
      sender.send(rec(5, 40)) // a higher lane: evicts the newest info
      await deliverAll(sender, sink)
      expect(sink.deliveredIds()).toEqual([1, 2, 5])
      expect(sender.stats().dropped.overflow).toBe(2)
      expectLedger(sender.stats())
    })

    it('bounds the queue by bytes as well as by records', async () => {
      const sink = new TestSink()
      const size = rec(0).bytes
      const sender = makeSender(
        { queue: { maxRecords: 100, maxBytes: size * 3, maxRecordBytes: size * 3 }, batch: { ...QUIET, maxRecords: 1 } },
        sink,
      )
      sender.send(rec(1))
      void sender.flush()
      for (let i = 2; i <= 6; i++) sender.send(rec(i))
      const stats = sender.stats()
      expect(stats.queued).toBe(3)
      expect(stats.queuedBytes).toBe(size * 3)
      expect(stats.dropped.overflow).toBe(2)
      expectLedger(stats)
    })

    describe('block', () => {
      it('keeps every record, returns false over the bounds and resolves ready() once a batch is dispatched', async () => {
        const sink = new TestSink()
        const sender = makeSender(
          { queue: { maxRecords: 3, overflow: 'block' }, batch: { maxRecords: 2, maxWaitMs: 60_000 } },
          sink,
        )
        expect(sender.send(rec(1))).toBe(true)
        expect(sender.send(rec(2))).toBe(true) // batch of 2: dispatched
        expect(sender.send(rec(3))).toBe(true)
        expect(sender.send(rec(4))).toBe(true)
        expect(sender.send(rec(5))).toBe(true) // 3 waiting: at the bound
        expect(sender.send(rec(6))).toBe(false) // 4 waiting: over it, but kept
        expect(sender.send(rec(7))).toBe(false)
        expect(sender.stats().queued).toBe(5)
        expect(sender.stats().dropped.overflow).toBe(0)

        let ready = false
        void sender.ready().then(() => (ready = true))
        await settle()
        expect(ready).toBe(false)

        sink.at(0).resolve()
        await settle()
        // [3, 4] left the queue for the worker: 3 records waiting again.
        expect(sink.at(1).ids).toEqual([3, 4])
        expect(ready).toBe(true)
        expect(sender.stats().queued).toBe(3)
        await expect(sender.ready()).resolves.toBeUndefined()
      })

      it('returns false over the byte bound', () => {
        const sink = new TestSink()
        const size = rec(0).bytes
        const sender = makeSender(
          { queue: { maxBytes: size * 2, maxRecordBytes: size, overflow: 'block' }, batch: { ...QUIET, maxRecords: 1 } },
          sink,
        )
        sender.send(rec(1))
        void sender.flush()
        expect(sender.send(rec(2))).toBe(true)
        expect(sender.send(rec(3))).toBe(true)
        expect(sender.send(rec(4))).toBe(false)
        expect(sender.stats().queuedBytes).toBe(size * 3)
      })

      it('delivers 10 x capacity records sent with ready() between', async () => {
        const sink = slowSink(5)
        const sender = makeSender({ queue: { maxRecords: 5, overflow: 'block' }, batch: { maxRecords: 2, maxWaitMs: 10 } }, sink)
        const sending = (async () => {
          for (let i = 1; i <= 50; i++) {
            if (!sender.send(rec(i))) await sender.ready()
          }
          await sender.flush()
        })()
        await vi.advanceTimersByTimeAsync(2000)
        await sending
        expect(sink.deliveredIds()).toEqual(range(1, 50))
        const stats = sender.stats()
        expect(stats.delivered).toBe(50)
        expect(stats.dropped).toEqual({ overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 })
      })

      it('pauses the reader for at most queue.maxBlockMs, then drops like drop-newest until back within bounds', async () => {
        const sink = new TestSink() // a dead sink: never answers
        const drops: { reason: string; records: number }[] = []
        const sender = makeSender(
          { queue: { maxRecords: 2, overflow: 'block', maxBlockMs: 1000 }, batch: { ...QUIET, maxRecords: 1 } },
          sink,
        )
        sender.on('drop', (drop) => drops.push(drop))
        expect(sender.send(rec(1))).toBe(true) // to the worker, which hangs
        expect(sender.send(rec(2))).toBe(true)
        expect(sender.send(rec(3))).toBe(true) // at the bound
        expect(sender.send(rec(4))).toBe(false) // over it: kept, the reader should pause
        let ready = false
        void sender.ready().then(() => (ready = true))
        await vi.advanceTimersByTimeAsync(999)
        expect(ready).toBe(false)
        expect(sender.send(rec(5))).toBe(false) // still inside the window: kept
        await vi.advanceTimersByTimeAsync(1)
        expect(ready).toBe(true)
        await expect(sender.ready()).resolves.toBeUndefined()

        // Past the window: an info record is refused, and send() no longer asks the reader to pause.
        expect(sender.send(rec(6, 30))).toBe(true)
        expect(sender.stats()).toMatchObject({ queued: 4, inFlight: 1, dropped: { overflow: 1, closed: 0, oversize: 0 } })
        // An error record evicts infos, newest first, until it fits: the queue is back within bounds.
        expect(sender.send(rec(7, 50))).toBe(true)
        expect(sender.stats()).toMatchObject({ queued: 2, dropped: { overflow: 4, closed: 0, oversize: 0 } })
        expectLedger(sender.stats())
        expect(drops).toHaveLength(4)

        // Back within bounds, the next overflow blocks again, with a fresh window.
        expect(sender.send(rec(8))).toBe(false)
        ready = false
        void sender.ready().then(() => (ready = true))
        await vi.advanceTimersByTimeAsync(500)
        expect(ready).toBe(false)

        // Closing wakes the reader and leaves no timer behind.
        const closing = sender.close({ timeoutMs: 100 })
        await settle()
        expect(ready).toBe(true)
        await vi.advanceTimersByTimeAsync(100)
        const report = await closing
        expect(report.timedOut).toBe(true)
        // 1 abandoned in flight, 2, 7 and 8 abandoned in the queue.
        expect(report.stats.dropped).toEqual({ overflow: 4, closed: 4, oversize: 0, spoolFull: 0, spoolError: 0 })
        expect(report.undelivered).toBe(8)
        expectLedger(report.stats)
        expect(vi.getTimerCount()).toBe(0)
      })

      it('lets a reader that waits on ready() get through a dead sink, counting every record', async () => {
        const sink = new TestSink() // never answers, like a sink whose host is gone
        const sender = makeSender({ queue: { maxRecords: 5, overflow: 'block' }, batch: { maxRecords: 5, maxWaitMs: 10 } }, sink)
        expect(sender.options.queue.maxBlockMs).toBe(1000)
        let sent = 0
        const reading = (async () => {
          for (let i = 1; i <= 100; i++) {
            if (!sender.send(rec(i))) await sender.ready()
            sent++
          }
        })()
        await vi.advanceTimersByTimeAsync(999)
        // [1-5] hang in the worker, [6-10] fill the queue, 11 goes over it and the reader waits.
        expect(sent).toBe(10)
        await vi.advanceTimersByTimeAsync(1)
        expect(sent).toBe(100)
        await reading
        const stats = sender.stats()
        expect(stats).toMatchObject({ received: 100, inFlight: 5, queued: 6, dropped: { overflow: 89, closed: 0, oversize: 0 } })
        expectLedger(stats)

        const closing = sender.close({ timeoutMs: 500 })
        await vi.advanceTimersByTimeAsync(500)
        const report = await closing
        expect(report.undelivered).toBe(100)
        expect(report.abandonedAtDeadline).toBe(11)
        expect(vi.getTimerCount()).toBe(0)
      })

      it('ready() resolves when the sender closes', async () => {
        const sink = new TestSink()
        const sender = makeSender({ queue: { maxRecords: 1, overflow: 'block' }, batch: { ...QUIET, maxRecords: 1 } }, sink)
        sender.send(rec(1))
        void sender.flush()
        sender.send(rec(2))
        expect(sender.send(rec(3))).toBe(false)
        let ready = false
        void sender.ready().then(() => (ready = true))
        await settle()
        expect(ready).toBe(false)
        void sender.close({ timeoutMs: 1000 })
        await settle()
        expect(ready).toBe(true)
      })
    })
  })

  describe('flush', () => {
    it('leaves all 10 error-level records in the sink', async () => {
      const sink = slowSink(3)
      const sender = makeSender({}, sink)
      for (let i = 1; i <= 10; i++) sender.send(rec(i, 50))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(100)
      await flushed
      expect(sink.deliveredIds()).toEqual(range(1, 10))
      expect(sender.stats().delivered).toBe(10)
    })

    it('leaves all 10 x capacity records in the sink when the queue never overflows', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ queue: { maxRecords: 10 }, batch: { maxRecords: 10 } }, sink)
      for (let i = 1; i <= 100; i++) {
        sender.send(rec(i))
        if (i % 10 === 0) await settle()
      }
      await sender.flush()
      expect(sink.deliveredIds()).toEqual(range(1, 100))
      const stats = sender.stats()
      expect(stats.delivered).toBe(100)
      expect(stats.dropped.overflow).toBe(0)
      expectLedger(stats)
    })

    it('resolves only when a slow delivery has completed', async () => {
      const sink = slowSink(1000)
      const sender = makeSender({}, sink)
      for (let i = 1; i <= 3; i++) sender.send(rec(i))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await vi.advanceTimersByTimeAsync(999)
      expect(sink.attempts).toHaveLength(1)
      expect(flushed).toBe(false)
      expect(sender.stats().inFlight).toBe(3)
      await vi.advanceTimersByTimeAsync(1)
      expect(flushed).toBe(true)
      expect(sink.deliveredIds()).toEqual([1, 2, 3])
    })

    it('resolves at once when nothing is pending', async () => {
      const sink = acceptingSink()
      const sender = makeSender({}, sink)
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await settle()
      expect(flushed).toBe(true)
      expect(sink.attempts).toHaveLength(0)
    })

    it('is not delayed by records sent after it', async () => {
      const sink = new TestSink()
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 2 } }, sink)
      sender.send(rec(1))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      for (let i = 2; i <= 5; i++) sender.send(rec(i))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1]])
      sink.at(0).resolve()
      await settle()
      expect(flushed).toBe(true)
      // The records sent after the flush are still on their way.
      expect(sink.at(1).ids).toEqual([2, 3])
      expect(sender.stats().queued + sender.stats().inFlight).toBe(4)
    })

    it('waits for the newest accepted record even when records arrive out of creation order', async () => {
      const sink = new TestSink()
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 } }, sink)
      const first = rec(1)
      const second = rec(2)
      const busy = rec(3)
      sender.send(busy)
      sender.send(second)
      sender.send(first)
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[3]])
      // Records of one level leave in arrival order.
      for (const [n, ids] of [[2], [1]].entries()) {
        sink.at(n).resolve()
        await settle()
        expect(flushed).toBe(false)
        expect(sink.at(n + 1).ids).toEqual(ids)
      }
      sink.at(2).resolve()
      await settle()
      expect(flushed).toBe(true)
      expect(sink.deliveredIds()).toEqual([3, 2, 1])
    })

    it('is not undone by a flushLevel record created before it and sent after it', async () => {
      const sink = new TestSink()
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 2 } }, sink)
      const early = rec(1, 60) // fatal, QUIET's flushLevel: created first, sent last
      sender.send(rec(2))
      void sender.flush() // [2] goes to the worker
      sender.send(rec(3))
      sender.send(rec(4)) // a full batch, but the worker is busy
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      sender.send(early)
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[2]])
      sink.at(0).resolve()
      await settle()
      expect(sink.at(1).ids).toEqual([1, 3])
      sink.at(1).resolve()
      await settle()
      // 4 alone is neither a full batch nor old: only the flush makes it go.
      expect(sink.at(2).ids).toEqual([4])
      sink.at(2).resolve()
      await settle()
      expect(flushed).toBe(true)
      expect(sink.deliveredIds()).toEqual([2, 1, 3, 4])
    })

    it('neither resolves early nor hangs after evictions (drop-oldest, 10 x capacity)', async () => {
      const sink = new TestSink()
      const sender = makeSender(
        { queue: { maxRecords: 5, overflow: 'drop-oldest' }, batch: { maxRecords: 2, maxWaitMs: 60_000 } },
        sink,
      )
      for (let i = 1; i <= 50; i++) sender.send(rec(i))
      expect(sender.stats().dropped.overflow).toBe(43)
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      // One batch at a time: [1, 2] running, then [46, 47], [48, 49], [50].
      const expected = [[1, 2], [46, 47], [48, 49], [50]]
      for (const [n, ids] of expected.entries()) {
        await settle()
        expect(flushed).toBe(false)
        expect(sink.at(n).ids).toEqual(ids)
        sink.at(n).resolve()
      }
      await settle()
      expect(flushed).toBe(true)
      const stats = sender.stats()
      expect(stats.delivered).toBe(7)
      expect(stats.queued + stats.inFlight).toBe(0)
      expectLedger(stats)
    })

    it('resolves after a batch fails for good, and after retries succeed', async () => {
      let calls = 0
      const sink = new TestSink((a) => {
        calls++
        if (calls === 1) a.reject(new DeliveryError('bad', { permanent: true, status: 422 }))
        else if (calls === 2) a.reject(new Error('reset'))
        else a.resolve()
      })
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 } }, sink)
      sender.send(rec(1))
      await sender.flush()
      expect(sender.stats().failed).toBe(1)
      sender.send(rec(2))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await settle()
      expect(flushed).toBe(false)
      await vi.advanceTimersByTimeAsync(50)
      expect(flushed).toBe(true)
      expect(sink.deliveredIds()).toEqual([2])
    })

    it('settles two overlapping flushes each at its own point', async () => {
      const sink = new TestSink()
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 } }, sink)
      sender.send(rec(1))
      let first = false
      let second = false
      void sender.flush().then(() => (first = true))
      sender.send(rec(2))
      void sender.flush().then(() => (second = true))
      await settle()
      sink.at(0).resolve()
      await settle()
      expect([first, second]).toEqual([true, false])
      sink.at(1).resolve()
      await settle()
      expect([first, second]).toEqual([true, true])
    })
  })

  describe('close', () => {
    it('sends nothing when the queue is empty and closes the sink once', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ name: 'empty' }, sink)
      const report = await sender.close()
      expect(sink.attempts).toHaveLength(0)
      expect(sink.closeCalls).toBe(1)
      expect(report).toMatchObject({ name: 'empty', undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
      expect(report.stats.received).toBe(0)
    })

    it('sends the remainder exactly once, then closes the sink', async () => {
      const sink = slowSink(20)
      const sender = makeSender({ batch: { maxRecords: 100, maxWaitMs: 60_000 } }, sink)
      for (let i = 1; i <= 3; i++) sender.send(rec(i))
      const closing = sender.close()
      await vi.advanceTimersByTimeAsync(100)
      const report = await closing
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1, 2, 3]])
      expect(sink.log).toEqual(['deliver:1,2,3', 'close'])
      expect(report).toMatchObject({ undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
      expect(report.stats.delivered).toBe(3)
    })

    it('is idempotent: later calls return the same promise and the sink closes once', async () => {
      const sink = acceptingSink()
      const sender = makeSender({}, sink)
      sender.send(rec(1))
      const first = sender.close()
      const second = sender.close({ timeoutMs: 1 })
      expect(second).toBe(first)
      await first
      expect(sender.close()).toBe(first)
      await sender[Symbol.asyncDispose]()
      expect(sink.closeCalls).toBe(1)
      expect(sink.attempts).toHaveLength(1)
    })

    it('counts a record sent after close as dropped (closed) without throwing or delivering it', async () => {
      const sink = acceptingSink()
      const drops: { reason: string; records: number }[] = []
      const sender = makeSender({}, sink)
      sender.on('drop', (drop) => drops.push(drop))
      sender.send(rec(1))
      await sender.close()
      expect(sender.send(rec(2))).toBe(true)
      expect(sender.send(rec(3, 60))).toBe(true)
      await settle()
      const stats = sender.stats()
      expect(stats.received).toBe(3)
      expect(stats.dropped.closed).toBe(2)
      expect(stats.delivered).toBe(1)
      expect(sink.deliveredIds()).toEqual([1])
      expect(drops).toEqual([
        { sender: 'sender', reason: 'closed', records: 1 },
        { sender: 'sender', reason: 'closed', records: 1 },
      ])
      expectLedger(stats)
    })

    it('gives up at the deadline on a hung sink, aborting the attempt and counting what was abandoned', async () => {
      const sink = new TestSink() // never settles, ignores the signal
      const drops: { reason: string; records: number }[] = []
      const sender = makeSender({ batch: { maxRecords: 2, maxWaitMs: 60_000 }, pool: { timeoutMs: 30_000 } }, sink)
      sender.on('drop', (drop) => drops.push(drop))
      for (let i = 1; i <= 5; i++) sender.send(rec(i))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1, 2]])

      let closed = false
      const closing = sender.close({ timeoutMs: 1000 })
      void closing.then(() => (closed = true))
      await vi.advanceTimersByTimeAsync(999)
      expect(closed).toBe(false)
      expect(sink.at(0).signal.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(closed).toBe(true)
      const report = await closing
      expect(report.timedOut).toBe(true)
      expect(report.abandonedAtDeadline).toBe(5)
      expect(report.undelivered).toBe(5)
      expect(report.stats.dropped.closed).toBe(5)
      expect(report.stats.queued).toBe(0)
      expect(report.stats.inFlight).toBe(0)
      expect(report.stats.delivered).toBe(0)
      expectLedger(report.stats)
      expect(sink.at(0).signal.aborted).toBe(true)
      expect(sink.attempts).toHaveLength(1)
      expect(sink.closeCalls).toBe(1)
      expect(drops.reduce((sum, d) => sum + d.records, 0)).toBe(5)
      expect(drops.every((d) => d.reason === 'closed')).toBe(true)
      // Nothing keeps running after close: no attempt timeout, no age or retry timer.
      expect(vi.getTimerCount()).toBe(0)
    })

    it('takes the shorter of its own closeTimeoutMs and the deadline it is given', async () => {
      const short = makeSender({ closeTimeoutMs: 300 }, new TestSink())
      const unset = makeSender({}, new TestSink())
      short.send(rec(1))
      unset.send(rec(2))
      const ended: string[] = []
      void short.close({ timeoutMs: 2000 }).then(() => ended.push('short'))
      void unset.close({ timeoutMs: 2000 }).then(() => ended.push('unset'))
      await vi.advanceTimersByTimeAsync(300)
      expect(ended).toEqual(['short'])
      await vi.advanceTimersByTimeAsync(1699)
      expect(ended).toEqual(['short'])
      await vi.advanceTimersByTimeAsync(1)
      expect(ended).toEqual(['short', 'unset'])
      // A longer own deadline does not stretch the courier's.
      const long = makeSender({ closeTimeoutMs: 9000 }, new TestSink())
      long.send(rec(3))
      let closed = false
      void long.close({ timeoutMs: 500 }).then(() => (closed = true))
      await vi.advanceTimersByTimeAsync(500)
      expect(closed).toBe(true)
    })

    it('uses closeTimeoutMs, or 5000 ms by default, as the deadline', async () => {
      const sink = new TestSink()
      const sender = makeSender({ closeTimeoutMs: 300 }, sink)
      sender.send(rec(1))
      let closed = false
      void sender.close().then(() => (closed = true))
      await vi.advanceTimersByTimeAsync(299)
      expect(closed).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(closed).toBe(true)

      expect(DEFAULT_CLOSE_TIMEOUT_MS).toBe(5000)
      const other = makeSender({}, new TestSink())
      other.send(rec(2))
      let otherClosed = false
      void other.close().then(() => (otherClosed = true))
      await vi.advanceTimersByTimeAsync(4999)
      expect(otherClosed).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(otherClosed).toBe(true)
    })

    it('abandons a batch waiting for its retry at the deadline', async () => {
      const sink = new TestSink((a) => a.reject(new DeliveryError('busy', { status: 503, retryAfterMs: 10_000 })))
      const sender = makeSender({}, sink)
      sender.send(rec(1))
      sender.send(rec(2))
      const closing = sender.close({ timeoutMs: 2000 })
      await vi.advanceTimersByTimeAsync(2000)
      const report = await closing
      expect(sink.attempts).toHaveLength(1)
      expect(report.timedOut).toBe(true)
      expect(report.abandonedAtDeadline).toBe(2)
      expect(report.stats.dropped.closed).toBe(2)
      expect(report.stats.retried).toBe(2)
      expect(vi.getTimerCount()).toBe(0)
    })

    it('abandons a batch still waiting for its rate-limit slot and never starts it later', async () => {
      const sink = new TestSink()
      const sender = makeSender(
        { batch: { maxRecords: 1 }, pool: { concurrency: 2, rateLimit: { intervalMs: 10_000, maxRequests: 1 } } },
        sink,
      )
      sender.send(rec(1))
      sender.send(rec(2))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1]])
      // The second waits in the queue for the next window (the rate limit is the engine's, not the pool's).
      expect(sender.stats()).toMatchObject({ inFlight: 1, queued: 1 })
      const closing = sender.close({ timeoutMs: 1000 })
      await vi.advanceTimersByTimeAsync(1000)
      const report = await closing
      expect(report.abandonedAtDeadline).toBe(2)
      expect(report.stats.dropped.closed).toBe(2)
      expect(report.stats.inFlight).toBe(0)
      await vi.advanceTimersByTimeAsync(30_000)
      expect(sink.attempts).toHaveLength(1)
      expect(sender.stats().attempts).toBe(1)
      expect(vi.getTimerCount()).toBe(0)
    })

    it('still reports when the sink close() rejects', async () => {
      const sink: Sink = {
        deliver: () => Promise.resolve(),
        close: () => Promise.reject(new Error('already closed')),
      }
      const sender = makeSender({}, sink)
      sender.send(rec(1))
      const report = await sender.close()
      expect(report.stats.delivered).toBe(1)
      expect(report.timedOut).toBe(false)
    })
  })

  describe('retries', () => {
    it('delivers once after a transient error, counting the retried records', async () => {
      const retries: unknown[] = []
      const sink = new TestSink((a) => (a.attempt === 1 ? a.reject(new Error('ECONNRESET')) : a.resolve()))
      const sender = makeSender({ name: 'r', batch: QUIET }, sink)
      sender.on('retry', (retry) => retries.push(retry))
      for (let i = 1; i <= 3; i++) sender.send(rec(i))
      void sender.flush()
      await settle()
      expect(sink.attempts).toHaveLength(1)
      // Backoff with random 0.5: floor(0.5 * 100) = 50 ms.
      await vi.advanceTimersByTimeAsync(49)
      expect(sink.attempts).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.attempts.map((a) => a.attempt)).toEqual([1, 2])
      expect(sink.delivered).toEqual([[1, 2, 3]])
      const stats = sender.stats()
      expect(stats.delivered).toBe(3)
      expect(stats.retried).toBe(3)
      expect(stats.attempts).toBe(2)
      expect(stats.failed).toBe(0)
      expect(retries).toEqual([
        { sender: 'r', records: 3, attempt: 1, delayMs: 50, error: 'ECONNRESET', waitingRecords: 3, waitingBatches: 1 },
      ])
    })

    it('does not retry a permanent DeliveryError and records the failure with its status', async () => {
      const failures: unknown[] = []
      const sink = new TestSink((a) => a.reject(new DeliveryError('bad request', { permanent: true, status: 400 })))
      const sender = makeSender({ name: 'p', batch: QUIET }, sink)
      sender.on('failure', (failure) => failures.push(failure))
      for (let i = 1; i <= 3; i++) sender.send(rec(i))
      await sender.flush()
      await vi.advanceTimersByTimeAsync(60_000)
      expect(sink.attempts).toHaveLength(1)
      const stats = sender.stats()
      expect(stats.failed).toBe(3)
      expect(stats.retried).toBe(0)
      expect(stats.delivered).toBe(0)
      expect(stats.recentFailures).toEqual([
        { at: Date.now() - 60_000, records: 3, attempts: 1, reason: 'permanent', error: 'DeliveryError: bad request', status: 400 },
      ])
      expect(failures).toEqual([{ ...stats.recentFailures[0], sender: 'p' }])
      expectLedger(stats)
    })

    it('honours retryAfterMs: no second attempt before the delay, one right at it', async () => {
      const sink = new TestSink((a) =>
        a.attempt === 1 ? a.reject(new DeliveryError('slow down', { status: 429, retryAfterMs: 5000 })) : a.resolve(),
      )
      const sender = makeSender({ batch: QUIET, retry: { maxDelayMs: 1000 } }, sink)
      sender.send(rec(1))
      void sender.flush()
      await settle()
      await vi.advanceTimersByTimeAsync(4999)
      expect(sink.attempts).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.attempts).toHaveLength(2)
      expect(sink.at(1).at - sink.at(0).at).toBe(5000)
      expect(sender.stats().delivered).toBe(1)
    })

    it('holds every new batch back until a Retry-After has passed, not only the batch that got it', async () => {
      const sink = new TestSink((a) =>
        a.ids[0] === 1 && a.attempt === 1
          ? a.reject(new DeliveryError('slow down', { status: 429, retryAfterMs: 5000 }))
          : a.resolve(),
      )
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 }, pool: { concurrency: 2 } }, sink)
      sender.send(rec(1)) // batch A: answered 429
      await settle()
      expect(sink.attempts).toHaveLength(1)
      sender.send(rec(2)) // batch B: a worker is free, but the sink asked to wait
      await settle()
      expect(sender.stats()).toMatchObject({ queued: 1, inFlight: 1 })
      await vi.advanceTimersByTimeAsync(4999)
      expect(sink.attempts).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(1)
      const started = sink.attempts.map((a) => `${a.ids.join(',')}#${a.attempt}@${a.at - sink.at(0).at}`).sort()
      expect(started).toEqual(['1#1@0', '1#2@5000', '2#1@5000'])
      expect(sender.stats()).toMatchObject({ delivered: 2, retried: 1, attempts: 3 })
    })

    it('drops the Retry-After pause timer on close', async () => {
      const sink = new TestSink((a) => a.reject(new DeliveryError('busy', { status: 503, retryAfterMs: 60_000 })))
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 }, pool: { concurrency: 2 } }, sink)
      sender.send(rec(1))
      await settle()
      sender.send(rec(2))
      await settle()
      expect(sink.attempts).toHaveLength(1)
      const closing = sender.close({ timeoutMs: 1000 })
      await vi.advanceTimersByTimeAsync(1000)
      const report = await closing
      expect(report.abandonedAtDeadline).toBe(2)
      expect(sink.attempts).toHaveLength(1)
      expect(vi.getTimerCount()).toBe(0)
    })

    it('fails with reason exhausted after maxAttempts', async () => {
      const retries: { attempt: number; delayMs: number; records: number }[] = []
      const failures: { reason: string; attempts: number; records: number }[] = []
      const sink = new TestSink((a) => a.reject(new DeliveryError('unavailable', { status: 503 })))
      const sender = makeSender({ batch: QUIET, retry: { maxAttempts: 3 } }, sink)
      sender.on('retry', (retry) => retries.push(retry))
      sender.on('failure', (failure) => failures.push(failure))
      sender.send(rec(1))
      sender.send(rec(2))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(1000)
      await flushed
      expect(sink.attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
      // Full jitter with random 0.5: floor(0.5 * 100 * 2^(n-1)).
      expect(retries.map((r) => [r.attempt, r.delayMs, r.records])).toEqual([
        [1, 50, 2],
        [2, 100, 2],
      ])
      expect(sink.at(1).at - sink.at(0).at).toBe(50)
      expect(sink.at(2).at - sink.at(1).at).toBe(100)
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ reason: 'exhausted', attempts: 3, records: 2, status: 503 })
      const stats = sender.stats()
      expect(stats.failed).toBe(2)
      expect(stats.retried).toBe(4)
      expect(stats.attempts).toBe(3)
      expect(stats.recentFailures[0]?.reason).toBe('exhausted')
    })

    it('stops retrying when the next attempt would pass maxRetryTimeMs', async () => {
      const sink = new TestSink((a) => a.reject(new Error('down')))
      const sender = makeSender(
        { batch: QUIET, retry: { maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 1000, maxRetryTimeMs: 2000 } },
        sink,
      )
      sender.send(rec(1))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(10_000)
      await flushed
      // Delays of 500 ms: attempts at 0, 500, 1000, 1500, 2000; a sixth would start at 2500 > 2000.
      expect(sink.attempts.map((a) => a.at - sink.at(0).at)).toEqual([0, 500, 1000, 1500, 2000])
      expect(sender.stats().failed).toBe(1)
      expect(sender.stats().recentFailures[0]).toMatchObject({ reason: 'exhausted', attempts: 5 })
    })

    it('aborts an attempt at pool.timeoutMs with a DeliveryTimeoutError and retries it', async () => {
      const sink = new TestSink((a) => {
        if (a.attempt === 1) a.signal.addEventListener('abort', () => a.reject(a.signal.reason))
        else a.resolve()
      })
      const retries: { error: string }[] = []
      const sender = makeSender({ batch: QUIET, pool: { timeoutMs: 1000 } }, sink)
      sender.on('retry', (retry) => retries.push(retry))
      sender.send(rec(1))
      sender.send(rec(2))
      void sender.flush()
      await settle()
      await vi.advanceTimersByTimeAsync(999)
      expect(sink.at(0).signal.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.at(0).signal.aborted).toBe(true)
      expect(sink.at(0).signal.reason).toBeInstanceOf(DeliveryTimeoutError)
      expect(sink.attempts).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(50)
      expect(sink.attempts).toHaveLength(2)
      expect(sink.at(1).signal.aborted).toBe(false)
      const stats = sender.stats()
      expect(stats.delivered).toBe(2)
      expect(stats.retried).toBe(2)
      expect(retries.map((r) => r.error)).toEqual(['DeliveryTimeoutError: delivery attempt timed out after 1000 ms'])
    })

    it('does not let a sink that ignores its signal hold the worker past pool.timeoutMs', async () => {
      // Attempt 1 never settles and ignores the abort; attempt 2 succeeds.
      const sink = new TestSink((a) => {
        if (a.attempt > 1) a.resolve()
      })
      const sender = makeSender({ batch: QUIET, pool: { timeoutMs: 1000 } }, sink)
      sender.send(rec(1))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await settle()
      await vi.advanceTimersByTimeAsync(999)
      expect(sink.attempts).toHaveLength(1)
      expect(sender.stats().inFlight).toBe(1)
      // At the limit the attempt counts as timed out even though the sink never answered.
      // (the 50 ms backoff and one event-loop turn of grace for the sink come on top)
      await vi.advanceTimersByTimeAsync(1 + 100)
      expect(sink.attempts).toHaveLength(2)
      expect(flushed).toBe(true)
      expect(sender.stats()).toMatchObject({ delivered: 1, retried: 1, inFlight: 0, failed: 0 })
      expect(sink.at(0).done).toBe(false)
    })

    it('retries batches that could not reach the sink as soon as another batch is delivered', async () => {
      // The sink is unreachable until batch 3's first attempt: batches 1 and 2 are in long backoffs by then.
      let up = false
      const sink = new TestSink((a) => (up ? a.resolve() : a.reject(new DeliveryError('connect ECONNREFUSED'))))
      const sender = backoffSender(sink)
      sender.send(rec(1))
      sender.send(rec(2))
      await settle()
      expect(sink.attempts).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(1000)
      up = true
      sender.send(rec(3))
      await settle()
      // Batch 3 got through, so 1 and 2 went again at once instead of 4 s later (backoff 5000 ms).
      expect(timeline(sink)).toEqual([
        '1#1@0',
        '2#1@0',
        '3#1@1000',
        '1#2@1000',
        '2#2@1000',
      ])
      expect(sender.stats()).toMatchObject({ delivered: 3, inFlight: 0, retried: 2, failed: 0 })
      expect(vi.getTimerCount()).toBe(0)
    })

    it('does not cut a backoff short while the sink has asked to wait (Retry-After)', async () => {
      // Batch 1 fails (backoff 5 s), batch 2 is told to wait 3 s, batch 3 succeeds after 1 s: inside
      // the pause, so batch 1 must not go before the pause ends.
      const sink = new TestSink((a) => {
        if (a.ids[0] === 1 && a.attempt === 1) a.reject(new Error('socket hang up'))
        else if (a.ids[0] === 2 && a.attempt === 1) a.reject(new DeliveryError('slow down', { status: 429, retryAfterMs: 3000 }))
        else if (a.ids[0] === 3) setTimeout(() => a.resolve(), 1000)
        else a.resolve()
      })
      const sender = backoffSender(sink)
      sender.send(rec(1))
      sender.send(rec(2))
      sender.send(rec(3))
      await settle()
      await vi.advanceTimersByTimeAsync(2999)
      expect(sink.attempts).toHaveLength(3)
      expect(sender.stats().delivered).toBe(1)
      await vi.advanceTimersByTimeAsync(1)
      // At the end of the pause batch 2 goes and gets through, which wakes batch 1 (2 s early).
      expect(timeline(sink)).toEqual([
        '1#1@0',
        '2#1@0',
        '3#1@0',
        '2#2@3000',
        '1#2@3000',
      ])
      expect(sender.stats()).toMatchObject({ delivered: 3, failed: 0 })
    })

    it('keeps the backoff of batches the sink answered with an error status (429, 503) when another is delivered', async () => {
      // A sink shedding load (429 without Retry-After, 503) is up: waking its rejected batches on every
      // success would hammer it. They go at their own backoff (5 s with random 0.5).
      const sink = new TestSink((a) => {
        if (a.attempt === 1 && a.ids[0] === 1) a.reject(new DeliveryError('too many', { status: 429 }))
        else if (a.attempt === 1 && a.ids[0] === 2) a.reject(new DeliveryError('busy', { status: 503 }))
        else a.resolve()
      })
      const sender = backoffSender(sink)
      sender.send(rec(1))
      sender.send(rec(2))
      await settle()
      await vi.advanceTimersByTimeAsync(1000)
      sender.send(rec(3))
      await settle()
      expect(sender.stats()).toMatchObject({ delivered: 1, inFlight: 2 })
      await vi.advanceTimersByTimeAsync(4000)
      expect(timeline(sink)).toEqual([
        '1#1@0',
        '2#1@0',
        '3#1@1000',
        '1#2@5000',
        '2#2@5000',
      ])
      expect(sender.stats()).toMatchObject({ delivered: 3, failed: 0 })
    })

    it('close() retries a batch waiting out a backoff at once, within its deadline', async () => {
      let up = false
      const sink = new TestSink((a) => (up ? a.resolve() : a.reject(new Error('ECONNREFUSED'))))
      const sender = makeSender({ batch: QUIET, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } }, sink)
      sender.send(rec(1))
      void sender.flush()
      await settle()
      expect(sink.attempts).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(100)
      up = true
      const report = await sender.close({ timeoutMs: 1000 })
      expect(sink.attempts.map((a) => a.at - sink.at(0).at)).toEqual([0, 100])
      expect(report).toMatchObject({ undelivered: 0, timedOut: false })
      expect(report.stats.delivered).toBe(1)
    })

    it('hands every attempt of a batch the same id, and each batch its own', async () => {
      const sink = new TestSink((a) => (a.attempt === 1 ? a.reject(new Error('reset')) : a.resolve()))
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 } }, sink)
      sender.send(rec(1))
      sender.send(rec(2))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(1000)
      await flushed
      const idsByBatch = new Map<number, Set<string>>()
      for (const a of sink.attempts) idsByBatch.set(a.ids[0] as number, (idsByBatch.get(a.ids[0] as number) ?? new Set()).add(a.batch.id))
      expect(sink.attempts).toHaveLength(4)
      expect([...idsByBatch.values()].map((ids) => ids.size)).toEqual([1, 1])
      const [first, second] = [...idsByBatch.values()].map((ids) => [...ids][0])
      expect(first).not.toBe(second)
    })

    it('keeps only the most recent failures', async () => {
      const sink = new TestSink((a) => a.reject(new DeliveryError(`no ${a.ids[0]}`, { permanent: true })))
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 } }, sink)
      for (let i = 1; i <= MAX_RECENT_FAILURES + 5; i++) sender.send(rec(i))
      await sender.flush()
      const failures = sender.stats().recentFailures
      expect(failures).toHaveLength(MAX_RECENT_FAILURES)
      expect(failures[0]?.error).toBe('DeliveryError: no 6')
      expect(failures.at(-1)?.error).toBe(`DeliveryError: no ${MAX_RECENT_FAILURES + 5}`)
      expect(failures[0]).not.toHaveProperty('status')
      expect(sender.stats().failed).toBe(MAX_RECENT_FAILURES + 5)
    })
  })

  describe('a throwing sink', () => {
    it('does not stop the pool: every record ends delivered or failed', async () => {
      let calls = 0
      const sink: Sink = {
        deliver(batch) {
          calls++
          const first = idsOf(batch)[0] ?? 0
          if (first % 3 === 1) throw new Error(`sync ${first}`)
          if (first % 3 === 2) return Promise.reject(new TypeError(`async ${first}`))
          return Promise.resolve()
        },
      }
      const failures: { error: string }[] = []
      const sender = makeSender({ batch: { ...QUIET, maxRecords: 1 }, pool: { concurrency: 2 }, retry: { maxAttempts: 1 } }, sink)
      sender.on('failure', (failure) => failures.push(failure))
      for (let i = 1; i <= 9; i++) expect(sender.send(rec(i))).toBe(true)
      await sender.flush()
      const stats = sender.stats()
      expect(calls).toBe(9)
      expect(stats.delivered).toBe(3)
      expect(stats.failed).toBe(6)
      expect(stats.queued + stats.inFlight).toBe(0)
      expectLedger(stats)
      expect(failures.map((f) => f.error).sort()).toEqual(
        ['sync 1', 'TypeError: async 2', 'sync 4', 'TypeError: async 5', 'sync 7', 'TypeError: async 8'].sort(),
      )
    })

    it('retries a synchronous throw like any transient error', async () => {
      let calls = 0
      const sink: Sink = {
        deliver() {
          calls++
          if (calls === 1) throw new Error('boom')
          return Promise.resolve()
        },
      }
      const sender = makeSender({ batch: QUIET }, sink)
      sender.send(rec(1))
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(50)
      await flushed
      expect(calls).toBe(2)
      expect(sender.stats()).toMatchObject({ delivered: 1, retried: 1, failed: 0 })
    })

    it('handles a sink throwing a non-Error value', async () => {
      const failures: { error: string }[] = []
      const sink: Sink = {
        deliver: () => Promise.reject('plain string'),
      }
      const sender = makeSender({ batch: QUIET, retry: { maxAttempts: 1 } }, sink)
      sender.on('failure', (failure) => failures.push(failure))
      sender.send(rec(1))
      await sender.flush()
      expect(failures.map((f) => f.error)).toEqual(['plain string'])
      expect(sender.stats().failed).toBe(1)
    })
  })

  describe('concurrency', () => {
    it('runs two batches at once with concurrency 2, never three', async () => {
      const sink = new TestSink()
      const sender = makeSender({ batch: { maxRecords: 1 }, pool: { concurrency: 2 } }, sink)
      for (let i = 1; i <= 6; i++) sender.send(rec(i))
      await settle()
      expect(sink.attempts.map((a) => a.ids)).toEqual([[1], [2]])
      expect(sink.active).toBe(2)
      const flushed = sender.flush()
      for (let round = 0; round < 6; round++) {
        sink.pending()[0]?.resolve()
        await settle()
        expect(sink.active).toBeLessThanOrEqual(2)
      }
      await flushed
      expect(sink.maxActive).toBe(2)
      expect(sink.deliveredIds()).toEqual(range(1, 6))
    })

    it('limits requests per interval with rateLimit.maxRequests', async () => {
      const sink = acceptingSink()
      const sender = makeSender(
        { batch: { maxRecords: 1 }, pool: { concurrency: 10, rateLimit: { intervalMs: 1000, maxRequests: 2 } } },
        sink,
      )
      for (let i = 1; i <= 5; i++) sender.send(rec(i))
      await settle()
      expect(sink.attempts).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(999)
      expect(sink.attempts).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.attempts).toHaveLength(4)
      await vi.advanceTimersByTimeAsync(1000)
      expect(sink.attempts).toHaveLength(5)
      await sender.flush()
      expect(sink.deliveredIds()).toEqual(range(1, 5))
    })

    it('limits records per interval with rateLimit.maxRecords, cutting batches to fit', async () => {
      const sink = acceptingSink()
      const sender = makeSender({ batch: QUIET, pool: { rateLimit: { intervalMs: 1000, maxRecords: 3 } } }, sink)
      for (let i = 1; i <= 7; i++) sender.send(rec(i))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await settle()
      expect(sink.delivered).toEqual([[1, 2, 3]])
      await vi.advanceTimersByTimeAsync(999)
      expect(sink.delivered).toEqual([[1, 2, 3]])
      await vi.advanceTimersByTimeAsync(1)
      expect(sink.delivered).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ])
      expect(flushed).toBe(false)
      await vi.advanceTimersByTimeAsync(1000)
      expect(sink.delivered).toEqual([[1, 2, 3], [4, 5, 6], [7]])
      expect(flushed).toBe(true)
    })
  })

  describe('stats', () => {
    it('balances the ledger at every checkpoint with far more records than capacity and a failing sink', async () => {
      let calls = 0
      const sink = new TestSink((a) => {
        calls++
        const n = calls
        setTimeout(() => {
          if (n % 7 === 0) a.reject(new DeliveryError('rejected', { permanent: true, status: 400 }))
          else if (n % 3 === 0) a.reject(new Error('flaky'))
          else a.resolve()
        }, 15)
      })
      const size = rec(0).bytes
      const sender = makeSender(
        {
          queue: { maxRecords: 20, maxRecordBytes: size + 10, overflow: 'drop-oldest' },
          batch: { maxRecords: 5, maxWaitMs: 10 },
          pool: { concurrency: 2 },
          retry: { maxAttempts: 2, baseDelayMs: 20 },
        },
        sink,
      )
      const oversize = new Set<number>()
      let sent = 0
      for (let round = 0; round < 40; round++) {
        for (let k = 0; k < 25; k++) {
          sent++
          if (sent % 50 === 0) {
            oversize.add(sent)
            sender.send(createRecord(`{"level":30,"msg":"${'o'.repeat(40)}","i":${sent}}`))
          } else {
            sender.send(rec(sent, sent % 10 === 0 ? 50 : 30))
          }
        }
        expectLedger(sender.stats())
        await vi.advanceTimersByTimeAsync(7)
        expectLedger(sender.stats())
      }
      const flushed = sender.flush()
      await vi.advanceTimersByTimeAsync(5000)
      await flushed
      const afterFlush = sender.stats()
      expectLedger(afterFlush)
      expect(afterFlush.received).toBe(1000)
      expect(afterFlush.queued).toBe(0)
      expect(afterFlush.inFlight).toBe(0)
      expect(afterFlush.dropped.oversize).toBe(20)
      expect(afterFlush.dropped.overflow).toBeGreaterThan(0)
      expect(afterFlush.failed).toBeGreaterThan(0)

      const report = await sender.close()
      expectLedger(report.stats)
      expect(report.stats).toEqual(afterFlush)
      expect(report.undelivered).toBe(1000 - report.stats.delivered)
      expect(report.timedOut).toBe(false)

      const deliveredIds = sink.deliveredIds()
      expect(deliveredIds).toHaveLength(report.stats.delivered)
      expect(new Set(deliveredIds).size).toBe(deliveredIds.length)
      for (const id of deliveredIds) expect(oversize.has(id)).toBe(false)
      expect(report.stats.deliveredBytes).toBe(sink.deliveredBytes)
    })
  })
})

describe('QueuedSender with many attempts in flight', () => {
  it('prints no MaxListenersExceededWarning with pool.concurrency above 10 (each attempt listens for the stop)', async () => {
    vi.useRealTimers()
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      let started = 0
      const sink: Sink = {
        deliver: async () => {
          started++
          await gate
        },
      }
      const sender = new QueuedSender({ batch: { maxRecords: 1, maxWaitMs: 1 }, pool: { concurrency: 16 } }, sink)
      for (let i = 0; i < 16; i++) sender.send(createRecord(`{"level":30,"i":${i}}`))
      await vi.waitFor(() => expect(started).toBe(16), { timeout: 10_000 })
      release()
      await sender.flush()
      await sender.close()
      // A warning is emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})
