/**
 * Hardening of the disk spool and the dead-letter file: each test reproduces a fault found in review
 * (the comment above it says what went wrong before the fix) and states the behaviour the README promises.
 *
 * Real temp dirs, fake timers, and a pass-through mock of node:fs whose hooks can inject faults that a
 * root-run container cannot otherwise produce (EACCES / EROFS on unlink, EIO on read) or record calls
 * (which descriptors fdatasync reaches).
 */
import type * as fs from 'node:fs'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import type { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Sink } from '../../src/senders/sender.js'
import { DiskSpool, type SpoolFrame } from '../../src/spool/disk-spool.js'
import { OPEN_NOFOLLOW, OWNER_FILE } from '../../src/spool/spool-owner.js'
import { DEFAULT_SPOOL, type ResolvedSpoolOptions } from '../../src/spool/spool-options.js'
import { useCleanups } from '../helpers/cleanups.js'
import { ledgerGap, rec, spooledSender, SwitchSink } from '../helpers/switch-sink.js'

// ---- fault-injecting node:fs ------------------------------------------------------------------

const faults = vi.hoisted(() => ({
  /** Called before the real rmSync; throw to fail it. */
  rmSync: undefined as ((path: string) => void) | undefined,
  /** Called before the real readFileSync; throw to fail it. */
  readFileSync: undefined as ((path: string) => void) | undefined,
  /** The path of every fd fdatasyncSync was called with, at the time (descriptors are reused). */
  synced: [] as string[],
  /** fd -> path of every openSync. */
  opened: new Map<number, string>(),
  /** Called before the real openSync; throw to fail it. */
  openSync: undefined as ((path: string, flags: unknown) => void) | undefined,
}))

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>()
  const wrapped = {
    ...actual,
    rmSync: (path: string, options?: unknown) => {
      faults.rmSync?.(String(path))
      return actual.rmSync(path, options as never)
    },
    readFileSync: (path: unknown, options?: unknown) => {
      faults.readFileSync?.(String(path))
      return actual.readFileSync(path as never, options as never)
    },
    fdatasyncSync: (fd: number) => {
      faults.synced.push(faults.opened.get(fd) ?? '?')
      return actual.fdatasyncSync(fd)
    },
    openSync: (path: unknown, flags?: unknown, mode?: unknown) => {
      faults.openSync?.(String(path), flags)
      const fd = actual.openSync(path as never, flags as never, mode as never)
      faults.opened.set(fd, String(path))
      return fd
    },
  }
  return { ...wrapped, default: wrapped }
})

function errno(code: string, path: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: simulated, '${path}'`) as NodeJS.ErrnoException
  error.code = code
  return error
}

// ---- helpers ----------------------------------------------------------------------------------

const { tempDir, defer } = useCleanups()
const realSetImmediate = globalThis.setImmediate

function make(dir: string, sink: Sink, options: Partial<CommonSenderOptions> = {}): QueuedSender {
  return spooledSender(defer, dir, sink, options)
}

function spoolOptions(dir: string, more: Partial<ResolvedSpoolOptions> = {}): ResolvedSpoolOptions {
  return { ...DEFAULT_SPOOL, dir, fsync: 'never', ...more }
}

function content(id: string, from: number, n: number, pad = 0) {
  const lines: string[] = []
  for (let i = from; i < from + n; i++) lines.push(rec(i, pad).line)
  return { id, levels: lines.map(() => 30), lines }
}

/** Runs `fn` with vitest's unhandled-rejection listeners swapped for a recorder; returns what was recorded. */
async function captureUnhandled(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = []
  const saved = process.listeners('unhandledRejection')
  process.removeAllListeners('unhandledRejection')
  const record = (reason: unknown): void => void seen.push(reason)
  process.on('unhandledRejection', record)
  try {
    await fn()
    // Node reports unhandled rejections after the microtask queue drains: give it real turns.
    for (let k = 0; k < 3; k++) await new Promise((resolve) => realSetImmediate(resolve))
  } finally {
    process.off('unhandledRejection', record)
    for (const listener of saved) process.on('unhandledRejection', listener)
  }
  return seen
}

beforeEach(() => {
  vi.useFakeTimers()
  faults.rmSync = undefined
  faults.readFileSync = undefined
  faults.openSync = undefined
  faults.synced.length = 0
  faults.opened.clear()
})
afterEach(() => {
  faults.openSync = undefined
  faults.rmSync = undefined
  faults.readFileSync = undefined
  vi.useRealTimers()
})

// ---- findings ---------------------------------------------------------------------------------

describe('flush and close while failing', () => {
  // Before the fix: flush() pumps the memory queue to disk but never re-checks its waiters
  // (#pump/#spill do not call #settleWaiters), so it waits for the next settle, i.e. for the sink.
  it('F1 flush() while the sink is failing resolves once the records still in memory are on disk', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 10; i++) sender.send(rec(i)) // a full batch: dispatched, fails, now in the spool
    await vi.advanceTimersByTimeAsync(10)
    for (let i = 10; i < 13; i++) sender.send(rec(i)) // not due yet
    let resolved = false
    void sender.flush().then(() => (resolved = true))
    await vi.advanceTimersByTimeAsync(0)
    // Everything is on disk now (flush forced the 3 records out)...
    expect(sender.stats()).toMatchObject({ queued: 0, spooled: 3, inFlight: 10 })
    // ...but flush keeps waiting while the sink fails, for as long as it fails.
    await vi.advanceTimersByTimeAsync(10_000)
    expect(resolved).toBe(true)
  })

  // Before the fix: same root cause; with nothing in flight no settle ever comes, so close()
  // waits for its whole deadline although the README says a failing sink is "not waited for at all".
  it('F2 close() with a failing sink and a few records in memory does not wait for the deadline', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { closeTimeoutMs: 3000 })
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(10) // 503: #failing = true
    sink.mode = 'reject'
    await vi.advanceTimersByTimeAsync(1000) // the retry gets a 400: failed for good; #failing stays true
    expect(sender.stats()).toMatchObject({ failed: 10, inFlight: 0 })
    for (let i = 10; i < 13; i++) sender.send(rec(i))
    const closing = sender.close()
    await vi.advanceTimersByTimeAsync(3500)
    const report = await closing
    expect(report.spooled).toBe(3)
    expect(report.timedOut).toBe(false)
  })
})

describe('maxBytes eviction of frames in flight', () => {
  // Before the fix: #evict deletes a segment holding an in-flight frame without telling the
  // sender; the batch keeps batch.frame, is retried without limits as if safe, counts as "on disk" for
  // flush, and close settles it as 'spooled' though its file is gone. Nothing recovers it.
  it('F3 a batch whose spool frame was evicted while in flight is not reported as spooled at close', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = make(dir, sink, {
      spool: { dir, fsync: 'never', maxBytes: 256 * 1024 },
      queue: { maxRecordBytes: 64 * 1024 },
      batch: { maxRecords: 100, maxBytes: 64 * 1024, maxWaitMs: 10 },
      pool: { concurrency: 1 },
    })
    for (let i = 0; i < 3000; i++) {
      first.send(rec(i, 200))
      if (i % 100 === 99) await vi.advanceTimersByTimeAsync(20)
    }
    const before = first.stats()
    expect(before.dropped.spoolFull).toBeGreaterThan(0)
    // Batch 0..99 is the one in flight (in backoff), its front segment was the first to be evicted.
    expect(sink.attempts.every((a) => a.ids[0] === 0)).toBe(true)
    const report = await first.close()
    expect(ledgerGap(report.stats)).toBe(0)

    sink.mode = 'accept'
    const second = make(dir, sink)
    // What close said it left in the spool is what the next start finds there.
    expect(second.stats().recovered).toBe(report.spooled)
  })

  // Before the fix: at close, #spoolLeftovers persists the in-flight batch in front and settles
  // it 'spooled', then spills the memory queue, whose #makeRoom evicts that very front segment first
  // (its frame is 'inflight', so it is not counted as spoolFull either).
  it('F3b at a close deadline, spilling the queue does not evict the in-flight batch it just stored uncounted', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'hang'
    const first = make(dir, sink, {
      spool: { dir, fsync: 'never', maxBytes: 256 * 1024 },
      queue: { maxRecordBytes: 64 * 1024 },
      batch: { maxRecords: 100, maxBytes: 64 * 1024, maxWaitMs: 60_000 },
      pool: { concurrency: 1, timeoutMs: 60_000 },
      closeTimeoutMs: 500,
    })
    for (let i = 0; i < 2000; i++) first.send(rec(i, 200)) // ~480 KB in memory, batch 0..99 in flight
    const closing = first.close()
    await vi.advanceTimersByTimeAsync(1000)
    const report = await closing
    expect(report.timedOut).toBe(true)
    sink.mode = 'accept'
    const second = make(dir, sink)
    expect(second.stats().recovered).toBe(report.spooled)
  })
})

describe('unlink failures (EACCES / EROFS / EBUSY) inside the spool', () => {
  // Before the fix: #deleteSegment marks the segment deleted before rmSync
  // throws, so (1) append() throws although it promises not to, and (2) the segment stays in #segments
  // with deleted=true and its bytes still counted: the next #makeRoom picks it forever (#evict ->
  // #deleteSegment returns early) — a synchronous infinite loop, even once the fault is gone.
  it('F4 append() neither throws nor spins when removing an evicted segment fails', async () => {
    const dir = await tempDir()
    const evicted: SpoolFrame[] = []
    const spool = new DiskSpool(spoolOptions(dir, { maxBytes: 256 * 1024 }), 'http', (f) => evicted.push(f))
    defer(() => spool.close())
    let n = 0
    let frameSize = 0
    // Fill the spool until one more frame needs an eviction.
    while (spool.stats().bytes + frameSize <= 256 * 1024) {
      const r = spool.append(content(`b${n}`, n * 100, 100, 150), n * 100 + 1, 'tail')
      if ('error' in r) throw r.error
      frameSize = r.size
      n++
    }
    expect(spool.stats().segments).toBeGreaterThan(1)
    faults.rmSync = (path) => {
      if (path.endsWith('.seg')) throw errno('EACCES', path)
    }
    let thrown: unknown
    try {
      spool.append(content(`b${n}`, n * 100, 100, 150), n * 100 + 1, 'tail')
    } catch (error) {
      thrown = error
    }
    n++

    // The disk is fine again; the next append that needs room must not spin.
    faults.rmSync = undefined
    const find = Array.prototype.find
    let calls = 0
    Array.prototype.find = function (this: unknown[], ...args: Parameters<typeof find>) {
      if (++calls > 1_000_000) throw new Error('spin: #makeRoom never ends')
      return find.apply(this, args)
    } as typeof find
    let spun: unknown
    try {
      for (let k = 0; k < 5; k++, n++) spool.append(content(`b${n}`, n * 100, 100, 150), n * 100 + 1, 'tail')
    } catch (error) {
      spun = error
    } finally {
      Array.prototype.find = find
    }
    expect({ thrown: String(thrown ?? 'nothing thrown'), spun: String(spun ?? 'no spin') }).toEqual({
      thrown: 'nothing thrown',
      spun: 'no spin',
    })
  })

  // Before the fix: the same throw inside #settle (done() deleting the emptied segment) leaves
  // inFlight decremented but delivered not incremented (ledger off by the batch), and skips
  // #settleWaiters/#pump. On the 'delivered' path #run's own catch swallows it (as if the sink failed;
  // the batch is already marked settled so nothing retries or counts it).
  it('F4b a failing unlink when a delivered batch empties its segment keeps the ledger and rejects nothing', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(10) // failed once: stored in a front segment
    faults.rmSync = (path) => {
      if (path.endsWith('.seg')) throw errno('EROFS', path)
    }
    sink.mode = 'accept'
    const unhandled = await captureUnhandled(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    faults.rmSync = undefined
    const stats = sender.stats()
    expect(sink.delivered).toHaveLength(10)
    expect(unhandled.map(String)).toEqual([])
    expect(ledgerGap(stats), JSON.stringify(stats)).toBe(0)
    expect(stats.delivered).toBe(10)
  })

  // Before the fix: on the 'failed' path #settle is called outside #run's try, so the throw
  // escapes #run and the p-queue job: an unhandled rejection (void this.#pool.add(...)), which ends a
  // worker thread / process under Node's default --unhandled-rejections=throw. Ledger off as well.
  it('F4c a failing unlink when a spooled batch fails for good is not an unhandled rejection', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(10) // failed once: stored in a front segment
    faults.rmSync = (path) => {
      if (path.endsWith('.seg')) throw errno('EACCES', path)
    }
    sink.mode = 'reject'
    const unhandled = await captureUnhandled(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    faults.rmSync = undefined
    const stats = sender.stats()
    expect({ unhandled: unhandled.map(String), gap: ledgerGap(stats), failed: stats.failed }).toEqual({
      unhandled: [],
      gap: 0,
      failed: 10,
    })
  })
})

describe('the spool directory removed while running', () => {
  // Before the fix: the open write segment keeps taking frames after its directory is gone
  // (writes to an unlinked inode succeed), they are counted 'spooled', close reports them as left in
  // the spool, and the next start finds nothing. No lastError, no drop counted.
  it('F5 records written after the spool dir vanished are counted as lost or really on disk, never reported spooled when nowhere', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 30; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(200) // 0..9 in flight (front), 10..29 spilled to the write segment
    expect(first.stats()).toMatchObject({ spooled: 20, inFlight: 10 })
    rmSync(join(dir, 'http'), { recursive: true, force: true }) // an operator / tmp cleaner
    for (let i = 30; i < 60; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    const mid = first.stats()
    // The spool noticed: the 20 spooled records that went with the files are counted as lost.
    expect(mid.spool?.lastError).toMatch(/removed while in use/)
    expect(mid.dropped.spoolError).toBe(20)
    expect(ledgerGap(mid)).toBe(0)
    const report = await first.close()
    expect(ledgerGap(report.stats)).toBe(0)
    // What close says it left in the spool is on disk: the directory was made again.
    sink.mode = 'accept'
    const second = make(dir, sink)
    expect(report.spooled).toBeGreaterThan(0)
    expect(second.stats().recovered).toBe(report.spooled)
  })

  // Before the fix: the instance directory is never created again; every 5 s the spool is
  // "tried again", fails with ENOENT, and drops another whole batch as spoolError while the memory
  // queue has plenty of room (the failing path cuts the batch before it knows the write failed).
  it('F5b a spool whose directory was removed works again after the 5 s pause, and drops no batch it had room for', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(10)
    rmSync(join(dir, 'http'), { recursive: true, force: true })
    let i = 10
    for (let t = 0; t < 30; t++) {
      for (let k = 0; k < 10; k++) sender.send(rec(i++))
      await vi.advanceTimersByTimeAsync(1000)
    }
    const stats = sender.stats()
    // 300 records over 30 s into a queue of 100,000: the README allows the one batch that hit the
    // error; later ones should be spooled again or at least kept in memory.
    expect(stats.dropped.spoolError, JSON.stringify(stats.spool)).toBeLessThanOrEqual(10)
  })
})

describe('dead-letter file', () => {
  // Before the fix: the fd stays open on the unlinked (or moved-away) file; writes "succeed",
  // deadLettered counts them, and they are nowhere. The comment's "open again next time" never triggers.
  it('F6 failed batches after the dead-letter directory vanished are still findable or not counted as dead-lettered', async () => {
    const dir = await tempDir()
    const dlq = join(dir, 'dead', 'letters.ndjson')
    const sink = new SwitchSink()
    sink.mode = 'reject'
    const sender = make(dir, sink, { deadLetter: { path: dlq }, spool: false, batch: { maxRecords: 5, maxWaitMs: 10 } })
    for (let i = 0; i < 5; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(50)
    expect(readFileSync(dlq, 'utf8').trimEnd().split('\n')).toHaveLength(5)
    rmSync(join(dir, 'dead'), { recursive: true, force: true }) // rotated away / cleaned up
    for (let i = 5; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(50)
    // The file was made again and the later batch is in it (the first went with the removed directory).
    const lines = existsSync(dlq) ? readFileSync(dlq, 'utf8').trimEnd().split('\n').filter(Boolean) : []
    expect(lines).toEqual([5, 6, 7, 8, 9].map((i) => rec(i).line))
    expect(sender.stats().deadLettered).toBe(10)
  })
})

describe('recovery', () => {
  // Before the fix: #recoverSegment swallows a read error (EIO, EMFILE, EACCES) and returns; the
  // adopted directory then has no segment in #segments, so the constructor rmSyncs it whole. The
  // records are neither recovered, counted as corrupt, nor left for a later start.
  it('F7 a segment that cannot be read at start-up is not deleted uncounted', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = make(dir, sink)
    for (let i = 0; i < 25; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(150)
    const report = await first.close()
    expect(report.spooled).toBe(25)

    // One bad moment (EIO, EMFILE, a permission slip) while the second start reads the adopted segments.
    faults.readFileSync = (path) => {
      if (path.endsWith('.seg')) throw errno('EIO', path)
    }
    const second = make(dir, sink)
    faults.readFileSync = undefined
    const s2 = second.stats()
    await second.close()
    const third = make(dir, sink)
    const s3 = third.stats()
    // Every record is recovered by the second or the third start, or counted as damaged.
    const accounted = s2.recovered + s3.recovered + (s2.spool?.corruptRegions ?? 0)
    expect(accounted, JSON.stringify({ s2: s2.spool, s3: s3.spool })).toBeGreaterThanOrEqual(25)
  })
})

describe('reading frames back', () => {
  // Before the fix: take() treats any read error as corruption: it marks the frame done and
  // appends it to the .ack file. A transient EMFILE/EIO on the open of an adopted segment therefore
  // discards a durable, intact batch for good (counted spoolError), and no later start can send it.
  it('F11 a transient error opening a spooled segment does not ack away its intact frame', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = make(dir, sink)
    for (let i = 0; i < 25; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(150)
    expect((await first.close()).spooled).toBe(25)

    sink.mode = 'accept'
    let failures = 0
    faults.openSync = (path, flags) => {
      // Segments are opened for reading without following links (OPEN_NOFOLLOW.read), or plain 'r'.
      if (path.endsWith('.seg') && (flags === 'r' || flags === OPEN_NOFOLLOW.read) && failures++ === 0) throw errno('EMFILE', path)
    }
    const second = make(dir, sink)
    await vi.advanceTimersByTimeAsync(0)
    // The failed read pauses sending for a second, then the frame is read again.
    const flushed = second.flush()
    await vi.advanceTimersByTimeAsync(2000)
    await flushed
    faults.openSync = undefined
    // The fault did fire: the test is about what follows it.
    expect(failures).toBeGreaterThan(1)
    const s2 = second.stats()
    await second.close()
    const third = make(dir, sink)
    await vi.advanceTimersByTimeAsync(0)
    await third.flush()
    // Every intact record reaches the sink, now or at the next start.
    expect({ delivered: new Set(sink.delivered).size, droppedSpoolError: s2.dropped.spoolError }).toEqual({
      delivered: 25,
      droppedSpoolError: 0,
    })
  })
})

describe('fsync interval', () => {
  // Before the fix: #syncNow only fdatasyncs the current write segment. Front segments (the
  // batches in flight, the oldest records) and segments sealed since the last tick are never synced,
  // not even by close(): with fsync 'interval' a power cut can lose them however old they are.
  it('F8 fsync "interval" syncs the front segment holding the failing batch', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { spool: { dir, fsync: 'interval', fsyncIntervalMs: 100 } })
    for (let i = 0; i < 10; i++) sender.send(rec(i)) // fails: stored in a front segment
    await vi.advanceTimersByTimeAsync(10)
    for (let i = 10; i < 30; i++) sender.send(rec(i)) // spilled to the write segment
    await vi.advanceTimersByTimeAsync(1000)
    await sender.close()
    const syncedPaths = faults.synced
    const frontSynced = syncedPaths.some((p) => /\/0\d{11}\.seg$/.test(p))
    expect({ frontSynced, syncedPaths }).toMatchObject({ frontSynced: true })
  })

  it('F8b fsync "interval" syncs a segment that was sealed between two ticks', async () => {
    const dir = await tempDir()
    const spool = new DiskSpool(spoolOptions(dir, { maxBytes: 256 * 1024, fsync: 'interval', fsyncIntervalMs: 1000 }), 'http', () => {})
    defer(() => spool.close())
    // 64 KiB segments: these fill and seal the first one within one interval.
    for (let n = 0; n < 5; n++) spool.append(content(`b${n}`, n * 100, 100, 150), n * 100 + 1, 'tail')
    const firstSegment = join(spool.dir, '100000000000.seg')
    await vi.advanceTimersByTimeAsync(1500)
    spool.close()
    expect(faults.synced).toContain(firstSegment)
  })
})

describe('options and ordering', () => {
  // Before the fix: spool.maxBytes may be smaller than one batch (min 256 KiB, batch.maxBytes
  // defaults to 1 MiB, one record may be 1 MiB): such a batch can never be spooled, every queue-full
  // drops it as spoolError, and the "error" switches the spool off for 5 s each time.
  it('F9 the options reject a spool smaller than two of the largest batch, naming spool.maxBytes', async () => {
    const dir = await tempDir()
    expect(() =>
      make(dir, new SwitchSink(), {
        spool: { dir, fsync: 'never', maxBytes: 256 * 1024 },
        batch: { maxRecords: 5000, maxBytes: 1024 * 1024, maxWaitMs: 60_000 },
      }),
    ).toThrow(/spool\.maxBytes: must be at least twice the largest batch/)
    // queue.maxRecordBytes counts too: one record is a batch of its own.
    expect(() =>
      make(dir, new SwitchSink(), { spool: { dir, maxBytes: 1024 * 1024 }, batch: { maxBytes: 64 * 1024 } }),
    ).toThrow(/spool\.maxBytes/)
    expect(() =>
      make(dir, new SwitchSink(), {
        spool: { dir, maxBytes: 1024 * 1024 },
        batch: { maxBytes: 64 * 1024 },
        queue: { maxRecordBytes: 64 * 1024 },
      }),
    ).not.toThrow()
  })

  // Before the fix: front segments are
  // numbered downwards, so batches persisted in dispatch order come back reversed after a restart.
  it('F10 batches in flight at a close deadline come back in dispatch order after a restart', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'hang'
    const first = make(dir, sink, { pool: { concurrency: 3, timeoutMs: 60_000 }, closeTimeoutMs: 500 })
    for (let i = 0; i < 30; i++) first.send(rec(i))
    const closing = first.close()
    await vi.advanceTimersByTimeAsync(1000)
    await closing
    sink.mode = 'accept'
    const second = make(dir, sink, { pool: { concurrency: 1 } })
    await vi.advanceTimersByTimeAsync(0)
    await second.flush()
    expect(sink.delivered).toEqual(Array.from({ length: 30 }, (_, k) => k))
  })
})

describe('rate limit', () => {
  // Before the fix: #spill cuts frames of batch.maxRecords regardless of pool.rateLimit.maxRecords,
  // and #pump sends a frame that exceeds the window whole into an empty window ("a spooled batch cannot
  // be cut"): after an outage the sink gets batch.maxRecords / maxRecords times the configured rate.
  it('F12 after an outage, spooled batches respect pool.rateLimit.maxRecords', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, {
      batch: { maxRecords: 100, maxWaitMs: 100 },
      pool: { concurrency: 1, rateLimit: { intervalMs: 1000, maxRecords: 10 } },
    })
    for (let i = 0; i < 300; i++) {
      sender.send(rec(i))
      if (i % 50 === 49) await vi.advanceTimersByTimeAsync(100)
    }
    await vi.advanceTimersByTimeAsync(1000)
    sink.mode = 'accept'
    const before = sink.attempts.length
    await vi.advanceTimersByTimeAsync(5000)
    const sizes = sink.attempts.slice(before).map((a) => a.ids.length)
    expect(Math.max(...sizes), JSON.stringify(sizes)).toBeLessThanOrEqual(10)
  })
})

describe('sanity', () => {
  it('S1 recovered frames that were acked are not counted again; ledger holds across restart', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const first = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 40; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    sink.mode = 'accept'
    await vi.advanceTimersByTimeAsync(150) // some delivered (acked), some not
    sink.mode = 'fail'
    await vi.advanceTimersByTimeAsync(10)
    const report = await first.close()
    expect(ledgerGap(report.stats)).toBe(0)
    const second = make(dir, sink)
    expect(second.stats().recovered).toBe(report.spooled)
    expect(report.stats.delivered + (report.spooled ?? 0)).toBe(40)
  })

  it('S2 a dead owner directory with only an owner file is adopted and removed', async () => {
    const dir = await tempDir()
    const root = join(dir, 'http')
    const sink = new SwitchSink()
    const first = make(dir, sink)
    await first.close()
    const orphan = join(root, '000000000-1-deadbeef')
    rmSync(orphan, { recursive: true, force: true })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(orphan, { recursive: true })
    writeFileSync(join(orphan, OWNER_FILE), JSON.stringify({ pid: 4_194_305, host: hostname(), instance: 'x', createdAt: 0 }))
    const second = make(dir, sink)
    expect(existsSync(orphan)).toBe(false)
    await second.close()
    expect(readdirSync(root)).toEqual([])
  })

  it('S3 concurrency 1: order holds across a full-queue spill, a failure (persist in front), close and restart', async () => {
    const dir = await tempDir()
    const sink = new SwitchSink()
    sink.mode = 'hang'
    const first = make(dir, sink, { queue: { maxRecords: 20 }, pool: { concurrency: 1, timeoutMs: 1000 }, closeTimeoutMs: 500 })
    for (let i = 0; i < 100; i++) first.send(rec(i)) // 0..9 in flight, the rest spilled on queue-full
    sink.mode = 'fail'
    await vi.advanceTimersByTimeAsync(1100) // the hung attempt times out: 0..9 persisted in front
    for (let i = 100; i < 130; i++) first.send(rec(i))
    await vi.advanceTimersByTimeAsync(300)
    const report = await first.close()
    expect(report.spooled).toBe(130)
    sink.mode = 'accept'
    const second = make(dir, sink, { pool: { concurrency: 1 } })
    await vi.advanceTimersByTimeAsync(0)
    await second.flush()
    expect(sink.delivered).toEqual(Array.from({ length: 130 }, (_, k) => k))
  })
})
