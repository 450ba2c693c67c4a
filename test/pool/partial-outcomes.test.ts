/**
 * Partial outcomes (issue 11): one attempt of a sink may accept some records of a batch, refuse some
 * for good and ask to retry others, or only say how many it refused. The ledger adds up, only the
 * records to retry go into the retry, nothing accepted is sent twice, and every record keeps its
 * identity across retries and spool replays.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createRecord } from '../../src/input/record.js'
import { splitOutcome } from '../../src/pool/partial-outcome.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, DeliveryResult, Sink } from '../../src/sinks/sink.js'
import { totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function tempDir(): Promise<string> {
  const { dir, cleanup } = await makeTempDir('courier-partial-')
  cleanups.push(cleanup)
  return dir
}

const line = (i: number): string => `{"level":30,"i":${i}}`
const idOf = (batch: Batch, index: number): number => batch.records[index]?.value().i as number

/** `received + recovered = queued + spooled + inFlight + delivered + failed + dropped`. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received + stats.recovered).toBe(
    stats.queued + stats.spooled + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats),
  )
}

/**
 * A bulk-like sink: refuses for good every record whose i % 10 === 3, asks to retry every record whose
 * i % 10 === 7 the first `retries` times it sees it, accepts the rest. Keeps what it accepted, by
 * record identity, and every body it was sent.
 */
class BulkSink implements Sink {
  readonly accepted = new Map<string, number>()
  readonly seen = new Map<number, number>()
  readonly batchIds: string[] = []
  readonly #retries: number
  constructor(retries = 1) {
    this.#retries = retries
  }

  deliver(batch: Batch): Promise<DeliveryResult> {
    this.batchIds.push(batch.id)
    const rejected: { index: number; error: string; status: number }[] = []
    const retry: { index: number; error: string; status: number }[] = []
    batch.records.forEach((_record, index) => {
      const i = idOf(batch, index)
      const times = (this.seen.get(i) ?? 0) + 1
      this.seen.set(i, times)
      if (i % 10 === 3) rejected.push({ index, error: 'mapper_parsing_exception', status: 400 })
      else if (i % 10 === 7 && times <= this.#retries) retry.push({ index, error: 'es_rejected_execution_exception', status: 429 })
      else {
        const id = batch.recordId?.(index) as string
        this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1)
      }
    })
    return Promise.resolve({ rejected, retry })
  }
}

describe('splitOutcome', () => {
  it('puts every record in exactly one part, whatever the sink says', () => {
    const split = splitOutcome(10, {
      rejected: [{ index: 1, error: 'bad' }, { index: 1 }, { index: 42 }, { index: -1 }, { index: 2.5 }],
      retry: [{ index: 1 }, { index: 4, error: 'busy', status: 429 }, { index: 5 }],
      rejectedCount: 99,
    })
    expect(split.rejected.indexes).toEqual([1]) // index 1 once; out-of-range and fractional indexes ignored
    expect(split.retry.indexes).toEqual([4, 5]) // a record both rejected and to retry is rejected
    expect(split.accepted).toEqual([0, 2, 3, 6, 7, 8, 9])
    expect(split.unnamed.count).toBe(7) // clamped to what is left
    expect(split.retry.error?.status).toBe(429)
    expect(split.rejected.message).toBe('1 of 10 records refused by the sink: bad')
    expect(split.retry.error?.message).toBe('2 of 10 records to try again: busy (429); no reason given')
  })

  it('sums up the reasons, the most frequent first, and counts the rest', () => {
    const rejected = [
      ...Array.from({ length: 3 }, (_, i) => ({ index: i, error: 'a', status: 400 })),
      { index: 3, error: 'b' },
      { index: 4, error: 'c' },
      { index: 5, error: 'd' },
      { index: 6, error: 'e' },
    ]
    expect(splitOutcome(8, { rejected }).rejected.message).toBe(
      '7 of 8 records refused by the sink: a (400) x3; b; c; and 2 other reason(s)',
    )
  })
})

describe('QueuedSender with partial outcomes', () => {
  it('a sink that took part of a batch is not failing: flush() waits for the records it asked again, and close sends the backlog', async () => {
    const dir = await tempDir()
    let calls = 0
    // The first answer asks for one record again; every later one takes all.
    const sink: Sink = { deliver: () => Promise.resolve(++calls === 1 ? { retry: [{ index: 0, error: 'busy', status: 429 }] } : undefined) }
    const sender = new QueuedSender(
      { batch: { maxRecords: 5, maxWaitMs: 60_000 }, spool: { dir, fsync: 'never' }, retry: { baseDelayMs: 20, maxDelayMs: 20 } },
      sink,
    )
    for (let i = 0; i < 5; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    // flush() means delivered here, not "safe on disk": the sink is up.
    expect(sender.stats()).toMatchObject({ delivered: 5, inFlight: 0, spooled: 0 })
    for (let i = 5; i < 50; i++) sender.send(createRecord(line(i)))
    const report = await sender.close()
    expect(report.stats).toMatchObject({ delivered: 50, spooled: 0, failed: 0 })
    expectLedger(report.stats)
  })

  it('splits on its own count: a sink that empties batch.records and answers in part leaves nothing in flight', async () => {
    const sink: Sink = {
      deliver: (b) => {
        ;(b.records as unknown[]).splice(0)
        return Promise.resolve({ rejected: [{ index: 0, error: 'bad' }], rejectedCount: 1 })
      },
    }
    const sender = new QueuedSender({ batch: { maxRecords: 5, maxWaitMs: 10 } }, sink)
    for (let i = 0; i < 5; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    const report = await sender.close()
    expect(report.stats).toMatchObject({ received: 5, inFlight: 0, delivered: 3, failed: 2 })
    expectLedger(report.stats)
  })

  it('counts truncatedCount in the truncated stat only for attempts that resolve, at most the batch, and delivered too', async () => {
    let calls = 0
    // 1st attempt fails (its cuts must not count), 2nd resolves with 2 cut, 3rd batch claims more than it holds.
    const sink: Sink = {
      deliver: (b) => {
        calls++
        if (calls === 1) return Promise.reject(new Error('connection reset'))
        return Promise.resolve({ truncatedCount: calls === 2 ? 2 : b.records.length + 10 })
      },
    }
    const sender = new QueuedSender({ batch: { maxRecords: 5, maxWaitMs: 10 }, retry: { baseDelayMs: 1, maxDelayMs: 5 } }, sink)
    expect(sender.stats().truncated).toBeUndefined()
    for (let i = 0; i < 5; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    expect(sender.stats()).toMatchObject({ delivered: 5, truncated: 2, retried: 5 })
    for (let i = 5; i < 8; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    const report = await sender.close()
    expect(report.stats).toMatchObject({ delivered: 8, failed: 0, truncated: 5 })
    expectLedger(report.stats)
  })

  it('settles accepted and refused records at once and retries only the rest, each record once', async () => {
    const sink = new BulkSink()
    const failures: { records: number; error: string }[] = []
    const retries: number[] = []
    const sender = new QueuedSender({ name: 'bulk', batch: { maxRecords: 100, maxWaitMs: 10 }, retry: { baseDelayMs: 1, maxDelayMs: 5 } }, sink)
    sender.on('failure', (f) => failures.push({ records: f.records, error: f.error }))
    sender.on('retry', (r) => retries.push(r.records))
    for (let i = 0; i < 1000; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    const stats = sender.stats()
    expectLedger(stats)
    expect(stats.received).toBe(1000)
    expect(stats.failed).toBe(100)
    expect(stats.delivered).toBe(900)
    // Each accepted record reached the sink once; the ones retried only went again alone.
    expect([...sink.accepted.values()].every((n) => n === 1)).toBe(true)
    expect(sink.accepted.size).toBe(900)
    for (const [i, times] of sink.seen) expect(times, `record ${i}`).toBe(i % 10 === 7 ? 2 : 1)
    // 10 batches of 100: 10 records of each refused, 10 retried.
    expect(failures).toHaveLength(10)
    expect(failures[0]).toEqual({ records: 10, error: '10 of 100 records refused by the sink: mapper_parsing_exception (400) x10' })
    expect(retries).toEqual(Array(10).fill(10))
    expect(stats.retried).toBe(100)
    expect(stats.recentFailures[0]?.status).toBe(400)
    await sender.close()
  })

  it('keeps record identities across a partial retry: the retried part has an id of its own', async () => {
    const sink = new BulkSink()
    const sender = new QueuedSender({ batch: { maxRecords: 10, maxWaitMs: 10 }, retry: { baseDelayMs: 1, maxDelayMs: 5 } }, sink)
    for (let i = 0; i < 10; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    await sender.close()
    const [first, second] = sink.batchIds
    expect(sink.batchIds).toHaveLength(2)
    // An id of its own, random: a whole batch and its part replayed after a crash must not share one.
    expect(second).toMatch(new RegExp(`^${first}~[0-9a-f]{8}$`))
    // Record 7 was retried alone, yet its identity is its place in the first batch.
    expect(sink.accepted.has(`${first}:7`)).toBe(true)
    expect([...sink.accepted.keys()].sort()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => `${first}:${i}`).sort())
  })

  it('counts records a sink refused without naming them, and dead-letters only the named ones', async () => {
    const dir = await tempDir()
    const path = join(dir, 'dead.ndjson')
    const sink: Sink = {
      deliver: (batch) =>
        Promise.resolve({ rejectedCount: 2, error: 'total ignored: 2 out of 5', rejected: [{ index: 0, error: 'too old' }] } satisfies DeliveryResult).then(
          (r) => (batch.records.length === 5 ? r : undefined),
        ),
    }
    const failures: string[] = []
    const sender = new QueuedSender({ batch: { maxRecords: 5, maxWaitMs: 10 }, deadLetter: { path } }, sink)
    sender.on('failure', (f) => failures.push(`${f.records}: ${f.error}`))
    for (let i = 0; i < 10; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    const stats = sender.stats()
    expectLedger(stats)
    expect(stats).toMatchObject({ received: 10, delivered: 4, failed: 6, deadLettered: 2 })
    expect(failures).toContain('2: 2 of 5 records refused by the sink (not named): total ignored: 2 out of 5')
    expect(readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).i)).toEqual([0, 5])
    // Bytes delivered: the accepted ones, less the unnamed refusals' share.
    expect(stats.deliveredBytes).toBeGreaterThan(0)
    await sender.close()
  })

  it('gives up on a record the sink keeps asking to retry, as on any batch, counted failed', async () => {
    const sink = new BulkSink(1000)
    const sender = new QueuedSender({ batch: { maxRecords: 10, maxWaitMs: 10 }, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } }, sink)
    for (let i = 0; i < 10; i++) sender.send(createRecord(line(i)))
    await sender.flush()
    const stats = sender.stats()
    expectLedger(stats)
    expect(stats).toMatchObject({ delivered: 8, failed: 2, attempts: 3 })
    expect(stats.recentFailures.map((f) => f.reason)).toEqual(['permanent', 'exhausted'])
    expect(sink.seen.get(7)).toBe(3)
    expect(sink.seen.get(1)).toBe(1)
    await sender.close()
  })

  it('a part to retry that waits in the spool keeps its identities across a restart', async () => {
    const dir = await tempDir()
    // First run: the sink takes all but record 7, which it wants again, then goes away.
    let down = false
    const firstIds: string[] = []
    const first: Sink = {
      deliver: (batch) => {
        if (down) return Promise.reject(new Error('connect ECONNREFUSED'))
        down = true
        firstIds.push(batch.id)
        return Promise.resolve({ retry: [{ index: 7, error: 'busy', status: 503 }] })
      },
    }
    const one = new QueuedSender({ name: 's', batch: { maxRecords: 10, maxWaitMs: 10 }, spool: { dir, fsync: 'never' }, retry: { baseDelayMs: 1, maxDelayMs: 2 } }, first)
    for (let i = 0; i < 10; i++) one.send(createRecord(line(i)))
    await one.flush()
    const closed = await one.close({ timeoutMs: 200 })
    expect(closed.stats).toMatchObject({ delivered: 9, spooled: 1, failed: 0 })
    expectLedger(closed.stats)
    // Second run: the part comes back from the spool with its id and the record's identity.
    const seen: { id: string; recordId: string | undefined; i: number }[] = []
    const second: Sink = {
      deliver: (batch) => {
        batch.records.forEach((_r, index) => seen.push({ id: batch.id, recordId: batch.recordId?.(index), i: idOf(batch, index) }))
        return Promise.resolve()
      },
    }
    const two = new QueuedSender({ name: 's', batch: { maxRecords: 10, maxWaitMs: 10 }, spool: { dir, fsync: 'never' } }, second)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await two.flush()
    const report = await two.close()
    expect(report.stats).toMatchObject({ recovered: 1, delivered: 1 })
    expect(seen).toEqual([{ id: expect.stringMatching(new RegExp(`^${firstIds[0]}~[0-9a-f]{8}$`)), recordId: `${firstIds[0]}:7`, i: 7 }])
  })
})
