/**
 * QueuedSender with a disk spool (real files in a temp dir) and a sink the test switches between
 * accepting, failing (transient), refusing (permanent 400) and hanging. Fake timers drive batching,
 * backoff and deadlines.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import { createRecord } from '../../src/input/record.js'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Sink } from '../../src/senders/sender.js'
import { useCleanups } from '../helpers/cleanups.js'
import { ledgerGap, rec, spooledSender, SwitchSink } from '../helpers/switch-sink.js'

const { tempDir, defer } = useCleanups()

/** received + recovered = queued + spooled + inFlight + delivered + failed + dropped. */
function expectLedger(stats: SenderStats): void {
  expect(ledgerGap(stats), JSON.stringify(stats)).toBe(0)
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k)
}

function make(dir: string, sink: Sink, options: Partial<CommonSenderOptions> = {}): QueuedSender {
  return spooledSender(defer, dir, sink, options)
}

/** Segment files left under the spool dir (all instances). */
function segmentFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith('.seg'))
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('QueuedSender with a spool', () => {
  describe('a full queue', () => {
    it('moves to disk instead of dropping, and everything is delivered once, in order', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'hang'
      const sender = make(dir, sink, { queue: { maxRecords: 20 }, pool: { concurrency: 1, timeoutMs: 60_000 } })
      for (let i = 0; i < 200; i++) sender.send(rec(i))
      let stats = sender.stats()
      expect(totalDropped(stats)).toBe(0)
      expect(stats.spooled).toBeGreaterThan(100)
      expect(stats.queued).toBeLessThanOrEqual(20)
      expectLedger(stats)

      // The hanging attempt times out only after a minute; let the sink answer from now on.
      sink.mode = 'accept'
      await vi.advanceTimersByTimeAsync(61_000)
      await sender.flush()
      stats = sender.stats()
      expect(sink.delivered).toEqual(range(0, 200))
      expect(stats).toMatchObject({ delivered: 200, spooled: 0, queued: 0, inFlight: 0 })
      expectLedger(stats)
    })
  })

  describe('a failing sink', () => {
    it('stores the failing batch and what follows on disk; flush resolves once they are safe there', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = make(dir, sink, { pool: { concurrency: 1 } })
      for (let i = 0; i < 35; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(150)
      // The first batch failed: it is now in the spool (in flight), the rest went to disk when due.
      await sender.flush()
      const stats = sender.stats()
      expect(stats.delivered).toBe(0)
      expect(stats.inFlight + stats.spooled).toBe(35)
      expect(stats.queued).toBe(0)
      expect(segmentFiles(dir).length).toBeGreaterThan(0)
      expectLedger(stats)

      sink.mode = 'accept'
      await vi.advanceTimersByTimeAsync(1000)
      await sender.flush()
      expect(sink.delivered).toEqual(range(0, 35))
      expect(sender.stats()).toMatchObject({ delivered: 35, spooled: 0, inFlight: 0, failed: 0 })
      await sender.close()
      // Delivered means gone from disk too.
      expect(segmentFiles(dir)).toEqual([])
    })

    it('resolves a flush() made before the sink failed once the records are on disk', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = make(dir, sink, { pool: { concurrency: 1 } })
      for (let i = 0; i < 1000; i++) sender.send(rec(i))
      let flushed = false
      void sender.flush().then(() => (flushed = true))
      await vi.advanceTimersByTimeAsync(10)
      expect(flushed).toBe(true)
      expect(sender.stats()).toMatchObject({ queued: 0, delivered: 0 })
      expect(sender.stats().spooled + sender.stats().inFlight).toBe(1000)
    })

    it('retries a spooled batch past retry.maxAttempts and maxRetryTimeMs: it waits for the sink', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = make(dir, sink, { retry: { maxAttempts: 2, maxRetryTimeMs: 500, baseDelayMs: 100, maxDelayMs: 200 } })
      for (let i = 0; i < 5; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(10_000)
      expect(sink.attempts.length).toBeGreaterThan(10)
      expect(sender.stats()).toMatchObject({ failed: 0, inFlight: 5 })
      sink.mode = 'accept'
      await vi.advanceTimersByTimeAsync(1000)
      expect(sink.delivered).toEqual(range(0, 5))
      expect(sender.stats()).toMatchObject({ delivered: 5, failed: 0 })
    })

    it('without a spool the same batch fails after retry.maxAttempts (the contrast)', async () => {
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = new QueuedSender(
        { name: 'http', batch: { maxRecords: 10, maxWaitMs: 100 }, retry: { maxAttempts: 2, baseDelayMs: 100 } },
        sink,
      )
      defer(() => sender.close({ timeoutMs: 100 }))
      for (let i = 0; i < 5; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(10_000)
      expect(sink.attempts).toHaveLength(2)
      expect(sender.stats()).toMatchObject({ failed: 5, inFlight: 0 })
    })
  })

  describe('close and restart', () => {
    it('closes at once while the sink fails, leaves everything in the spool, and the next start sends it first with the same batch ids', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const first = make(dir, sink, { pool: { concurrency: 2 } })
      for (let i = 0; i < 45; i++) first.send(rec(i))
      await vi.advanceTimersByTimeAsync(150)
      const attemptedIds = new Set(sink.attempts.map((a) => a.id))
      const started = Date.now()
      const report = await first.close()
      // No waiting for the 2 s deadline: everything was safe on disk already.
      expect(Date.now() - started).toBeLessThan(500)
      expect(report).toMatchObject({ undelivered: 0, spooled: 45, abandonedAtDeadline: 0 })
      expectLedger(report.stats)

      sink.mode = 'accept'
      const second = make(dir, sink)
      expect(second.stats()).toMatchObject({ recovered: 45, spooled: 45, received: 0 })
      second.send(rec(1000))
      await vi.advanceTimersByTimeAsync(0)
      await second.flush()
      expect(sink.delivered.slice(0, 45).sort((a, b) => a - b)).toEqual(range(0, 45))
      expect(sink.delivered.at(-1)).toBe(1000)
      // Batches that were attempted before the restart keep their ids: a sink can drop duplicates.
      for (const id of attemptedIds) expect(sink.deliveredBatchIds).toContain(id)
      expect(second.stats()).toMatchObject({ recovered: 45, received: 1, delivered: 46, spooled: 0 })
      expectLedger(second.stats())
    })

    it('gives every batch in backoff one last try at close: a sink that is back gets everything, nothing is left on disk', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = make(dir, sink, { retry: { baseDelayMs: 5000, maxDelayMs: 5000 } })
      for (let i = 0; i < 25; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(150)
      expect(sender.stats().delivered).toBe(0)
      // The sink is back, but the batches wait out seconds of backoff and the sender still thinks it fails.
      sink.mode = 'accept'
      const report = await sender.close()
      expect(report).toMatchObject({ spooled: 0, undelivered: 0, timedOut: false })
      expect([...sink.delivered].sort((a, b) => a - b)).toEqual(range(0, 25))
      expect(segmentFiles(dir)).toEqual([])
    })

    it('does not wait out a Retry-After pause at close: the paused batches stay in the spool', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      const paused: Sink = {
        deliver: (batch, context) =>
          sink.mode === 'fail'
            ? Promise.reject(new DeliveryError('429', { status: 429, retryAfterMs: 30_000 }))
            : sink.deliver(batch, context),
      }
      sink.mode = 'fail'
      const sender = make(dir, paused, { closeTimeoutMs: 4000 })
      for (let i = 0; i < 5; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(150)
      const started = Date.now()
      const closing = sender.close()
      await vi.advanceTimersByTimeAsync(0)
      const report = await closing
      expect(Date.now() - started).toBeLessThan(1000)
      expect(report).toMatchObject({ spooled: 5, undelivered: 0, timedOut: false })
      expectLedger(report.stats)
    })

    it('spools what is left at the close deadline of a slow but working sink', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'hang'
      const first = make(dir, sink, { closeTimeoutMs: 1000, pool: { concurrency: 1, timeoutMs: 60_000 } })
      for (let i = 0; i < 25; i++) first.send(rec(i))
      const closing = first.close()
      await vi.advanceTimersByTimeAsync(1500)
      const report = await closing
      expect(report).toMatchObject({ timedOut: true, undelivered: 0, spooled: 25, abandonedAtDeadline: 0 })
      expectLedger(report.stats)

      sink.mode = 'accept'
      const second = make(dir, sink)
      await vi.advanceTimersByTimeAsync(0)
      await second.flush()
      // In order: the batch in flight at the deadline went in front of the ones still queued.
      expect(sink.delivered).toEqual(range(0, 25))
    })

    it('a closed sender with an empty spool leaves no files behind', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      const sender = make(dir, sink)
      for (let i = 0; i < 5; i++) sender.send(rec(i))
      await sender.close()
      expect(sink.delivered).toEqual(range(0, 5))
      expect(readdirSync(join(dir, 'http'))).toEqual([])
    })
  })

  describe('maxBytes', () => {
    it('drops the oldest spooled records past spool.maxBytes, counted as spoolFull', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const sender = make(dir, sink, {
        spool: { dir, fsync: 'never', maxBytes: 256 * 1024 },
        queue: { maxRecordBytes: 64 * 1024 },
        batch: { maxRecords: 100, maxBytes: 64 * 1024, maxWaitMs: 10 },
        pool: { concurrency: 1 },
      })
      const pad = 'x'.repeat(200)
      for (let i = 0; i < 3000; i++) {
        sender.send(createRecord(`{"level":30,"i":${i},"pad":"${pad}"}`))
        if (i % 100 === 99) await vi.advanceTimersByTimeAsync(20)
      }
      const stats = sender.stats()
      expect(stats.dropped.spoolFull).toBeGreaterThan(0)
      expect(stats.spool?.bytes).toBeLessThanOrEqual(256 * 1024)
      expectLedger(stats)

      sink.mode = 'accept'
      await vi.advanceTimersByTimeAsync(1000)
      await sender.flush()
      // The newest survived: the last record is delivered, and delivered + dropped = everything.
      expect(sink.delivered).toContain(2999)
      expect(sender.stats().delivered + sender.stats().dropped.spoolFull).toBe(3000)
      expectLedger(sender.stats())
    })
  })

  describe('dead letters', () => {
    it('writes batches that failed for good to the dead-letter file, as they would have been sent', async () => {
      const dir = await tempDir()
      const dlq = join(dir, 'dead', 'letters.ndjson')
      const sink = new SwitchSink()
      sink.poison.add(3)
      const sender = make(dir, sink, { deadLetter: { path: dlq }, spool: false, batch: { maxRecords: 5, maxWaitMs: 10 } })
      for (let i = 0; i < 15; i++) sender.send(rec(i))
      await vi.advanceTimersByTimeAsync(100)
      await sender.flush()
      expect(sink.delivered).toEqual(range(5, 15))
      const lines = readFileSync(dlq, 'utf8').trimEnd().split('\n')
      expect(lines).toEqual(range(0, 5).map((i) => `{"level":30,"i":${i}}`))
      expect(sender.stats()).toMatchObject({ failed: 5, deadLettered: 5, delivered: 10 })
      expect(sink.attempts.filter((a) => a.ids.includes(3))).toHaveLength(1)
    })

    it('with a spool: a permanently failed batch is dead-lettered and not sent again after a restart', async () => {
      const dir = await tempDir()
      const dlq = join(dir, 'dlq.ndjson')
      const sink = new SwitchSink()
      sink.mode = 'fail'
      const first = make(dir, sink, { deadLetter: { path: dlq } })
      for (let i = 0; i < 10; i++) first.send(rec(i))
      await vi.advanceTimersByTimeAsync(150)
      sink.mode = 'reject'
      await vi.advanceTimersByTimeAsync(1000)
      expect(first.stats()).toMatchObject({ failed: 10, deadLettered: 10, inFlight: 0, spooled: 0 })
      await first.close()

      sink.mode = 'accept'
      const second = make(dir, sink)
      expect(second.stats().recovered).toBe(0)
      expect(readFileSync(dlq, 'utf8').trimEnd().split('\n')).toHaveLength(10)
    })

    it('says so in the failure when the dead-letter file cannot be written', async () => {
      const dir = await tempDir()
      const sink = new SwitchSink()
      sink.mode = 'reject'
      const sender = make(dir, sink, { deadLetter: { path: join(dir, 'blocker', 'dlq.ndjson') }, spool: false })
      // Fine at start-up (checked then: see the next test), broken by the time a batch fails.
      writeFileSync(join(dir, 'blocker'), 'a file where a directory should be')
      sender.send(rec(1, 50))
      await vi.advanceTimersByTimeAsync(10)
      await sender.flush()
      const stats = sender.stats()
      expect(stats).toMatchObject({ failed: 1, deadLettered: 0 })
      expect(stats.recentFailures[0]?.error).toMatch(/not written to the dead-letter file either/)
    })
  })

  describe('options', () => {
    it('rejects at start-up a dead-letter path whose directory is a file, naming deadLetter.path', async () => {
      const dir = await tempDir()
      writeFileSync(join(dir, 'blocker'), 'a file where a directory should be')
      expect(() => make(dir, new SwitchSink(), { deadLetter: { path: join(dir, 'blocker', 'dlq.ndjson') }, spool: false })).toThrow(
        /deadLetter\.path: cannot use .* is not a directory/,
      )
    })

    it('rejects a spool dir that cannot be used, naming spool.dir', async () => {
      const dir = await tempDir()
      writeFileSync(join(dir, 'file'), 'x')
      expect(() => make(join(dir, 'file'), new SwitchSink())).toThrow(ConfigError)
      expect(() => make(join(dir, 'file'), new SwitchSink())).toThrow(/spool\.dir: cannot use/)
    })

    it('rejects bad spool and deadLetter options with their paths', async () => {
      const dir = await tempDir()
      expect(() => make(dir, new SwitchSink(), { spool: { dir, maxBytes: 10 } })).toThrow(/spool\.maxBytes/)
      expect(() => make(dir, new SwitchSink(), { spool: { dir, fsync: 'sometimes' as 'always' } })).toThrow(/spool\.fsync/)
      expect(() => make(dir, new SwitchSink(), { deadLetter: { path: '' } })).toThrow(/deadLetter\.path/)
    })
  })
})
