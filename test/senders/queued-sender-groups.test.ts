import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRecord, type LogRecord } from '../../src/input/record.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Batch, DeliveryContext, Sink } from '../../src/senders/sender.js'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { DROP_REASONS, totalDropped, type SenderStats } from '../../src/stats/delivery-stats.js'
import type { GroupStats } from '../../src/stats/group-stats.js'
import { MAX_GROUP_KEY_LENGTH } from '../../src/queue/queue-groups.js'
import { RecordBuffer } from '../../src/queue/record-buffer.js'
import { configErrorOf } from '../helpers/config-error.js'
import { useCleanups } from '../helpers/cleanups.js'

const { tempDir } = useCleanups()

/** A record of `tenant` (left out when undefined) with id `i`. */
function rec(tenant: unknown, i: number, level = 30): LogRecord {
  const fields = tenant === undefined ? '' : `"tenant":${JSON.stringify(tenant)},`
  return createRecord(`{"level":${level},${fields}"i":${i}}`)
}

/** A sink that takes `delayMs` (fake time) per batch, or fails while `failing` is set. */
class SlowSink implements Sink {
  /** Each delivered batch: its tenants and ids. */
  readonly batches: { tenants: unknown[]; ids: number[] }[] = []
  active = 0
  maxActive = 0
  failing: DeliveryError | undefined
  readonly #delayMs: number

  constructor(delayMs: number) {
    this.#delayMs = delayMs
  }

  deliver(batch: Batch, _context: DeliveryContext): Promise<void> {
    const values = batch.records.map((r) => r.value())
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        this.active--
        if (this.failing) return reject(this.failing)
        this.batches.push({ tenants: values.map((v) => v.tenant), ids: values.map((v) => v.i as number) })
        resolve()
      }, this.#delayMs)
    })
  }

  /** Records delivered of `tenant`. */
  of(tenant: unknown): number {
    let n = 0
    for (const b of this.batches) for (const t of b.tenants) if (t === tenant) n++
    return n
  }
}

function group(stats: SenderStats, key: string): GroupStats {
  const found = stats.groups?.list.find((g) => g.key === key && g.kind === 'key')
  if (!found) throw new Error(`no group ${key} in ${JSON.stringify(stats.groups?.list.map((g) => g.key))}`)
  return found
}

/** received = queued + inFlight + delivered + failed + spooled + dropped, for a group. */
function groupGap(g: GroupStats): number {
  let dropped = 0
  for (const reason of DROP_REASONS) dropped += g.dropped[reason]
  return g.queued + g.inFlight + g.delivered + g.failed + g.spooled + dropped - g.received
}

function senderGap(s: SenderStats): number {
  return s.queued + s.spooled + s.inFlight + s.delivered + s.failed + totalDropped(s) - (s.received + s.recovered)
}

const senders: QueuedSender[] = []
function make(options: CommonSenderOptions, sink: Sink): QueuedSender {
  const sender = new QueuedSender({ closeTimeoutMs: 60_000, ...options }, sink, { random: () => 0.5 })
  senders.push(sender)
  return sender
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(async () => {
  for (const sender of senders.splice(0)) {
    const closing = sender.close({ timeoutMs: 1 })
    await vi.runAllTimersAsync()
    await closing
  }
  vi.useRealTimers()
})

describe('queue groups (groupBy)', () => {
  it("keeps a quiet tenant's records through a noisy tenant's burst: the issue's scenario", async () => {
    const sink = new SlowSink(50)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 1000 }, pool: { concurrency: 1 }, batch: { maxRecords: 100, maxWaitMs: 20 } },
      sink,
    )
    const every = 500
    for (let i = 0, q = 0; i < 50_000; i++) {
      sender.send(rec('noisy', i))
      if (i % every === every - 1) sender.send(rec('quiet', 100_000 + q++))
    }
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed

    expect(sink.of('quiet')).toBe(100)
    expect(sink.maxActive).toBe(1)
    const stats = sender.stats()
    const noisy = group(stats, 'noisy')
    const quiet = group(stats, 'quiet')
    expect(quiet).toMatchObject({ received: 100, delivered: 100, queued: 0, inFlight: 0 })
    expect(totalDropped(quiet)).toBe(0)
    // Every noisy record that did not arrive is counted under its own key, and nowhere else.
    expect(noisy.delivered).toBe(sink.of('noisy'))
    expect(noisy.dropped.overflow).toBe(50_000 - sink.of('noisy'))
    expect(stats.dropped.overflow).toBe(noisy.dropped.overflow)
    // The most-dropping group comes first.
    expect(stats.groups?.list[0]?.key).toBe('noisy')
    expect(groupGap(noisy)).toBe(0)
    expect(groupGap(quiet)).toBe(0)
    expect(senderGap(stats)).toBe(0)
  })

  it('without groupBy the same burst crowds the quiet tenant out (the test above can fail)', async () => {
    const sink = new SlowSink(50)
    const sender = make({ queue: { maxRecords: 1000 }, pool: { concurrency: 1 }, batch: { maxRecords: 100, maxWaitMs: 20 } }, sink)
    for (let i = 0, q = 0; i < 50_000; i++) {
      sender.send(rec('noisy', i))
      if (i % 500 === 499) sender.send(rec('quiet', 100_000 + q++))
    }
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    expect(sink.of('quiet')).toBeLessThan(10)
    expect(sender.stats().groups).toBeUndefined()
  })

  it('takes batches from the groups in turn, each batch holding one group only', async () => {
    const sink = new SlowSink(10)
    const sender = make({ groupBy: 'tenant', pool: { concurrency: 1 }, batch: { maxRecords: 5, maxWaitMs: 0 } }, sink)
    // a has 20 records queued before b and c have any: b and c still go second and third.
    for (let i = 0; i < 20; i++) sender.send(rec('a', i))
    for (let i = 0; i < 5; i++) sender.send(rec('b', 100 + i))
    for (let i = 0; i < 5; i++) sender.send(rec('c', 200 + i))
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    const order = sink.batches.map((b) => {
      expect(new Set(b.tenants).size).toBe(1)
      return b.tenants[0]
    })
    // The first batch of a left before b and c had records; then the groups alternate.
    expect(order).toEqual(['a', 'b', 'c', 'a', 'a', 'a'])
    // Within a group, records keep their order.
    expect(sink.batches.filter((b) => b.tenants[0] === 'a').flatMap((b) => b.ids)).toEqual([...Array(20).keys()])
  })

  it('reads the key from a dotted path, numbers and booleans as text; records without one share a group', async () => {
    const sink = new SlowSink(1)
    const sender = make({ groupBy: 'req.tenant', batch: { maxWaitMs: 0 } }, sink)
    sender.send(createRecord('{"level":30,"req":{"tenant":"x"},"i":1}'))
    sender.send(createRecord('{"level":30,"req":{"tenant":7},"i":2}'))
    sender.send(createRecord('{"level":30,"req":{"tenant":true},"i":3}'))
    sender.send(createRecord('{"level":30,"req.tenant":"dotted","i":4}'))
    sender.send(createRecord('{"level":30,"req":{"tenant":null},"i":5}'))
    sender.send(createRecord('{"level":30,"req":{"tenant":{"id":1}},"i":6}'))
    sender.send(createRecord('{"level":30,"i":7}'))
    sender.send(createRecord(`{"level":30,"req":{"tenant":"${'k'.repeat(1000)}"},"i":8}`))
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    const list = sender.stats().groups?.list ?? []
    const keys = Object.fromEntries(list.map((g) => [`${g.kind}:${g.key}`, g.received]))
    expect(keys).toEqual({
      'key:x': 1,
      'key:7': 1,
      'key:true': 1,
      'key:dotted': 1,
      'missing:(missing)': 3,
      [`key:${'k'.repeat(MAX_GROUP_KEY_LENGTH)}`]: 1,
    })
  })

  it('puts keys past group.maxGroups in the overflow group, and makes room again by pruning idle groups', async () => {
    const sink = new SlowSink(1)
    const sender = make({ groupBy: 'tenant', group: { maxGroups: 2, idleMs: 5000 }, batch: { maxWaitMs: 0 } }, sink)
    sender.send(rec('a', 1))
    sender.send(rec('b', 2))
    sender.send(rec('c', 3))
    sender.send(rec('d', 4))
    await vi.advanceTimersByTimeAsync(100)
    let groups = sender.stats().groups
    expect(groups?.list.map((g) => `${g.kind}:${g.key}:${g.delivered}`).sort()).toEqual(['key:a:1', 'key:b:1', 'overflow:(overflow):2'])
    expect(groups?.live).toBe(3)
    expect(groups?.maxGroups).toBe(2)

    // Idle past group.idleMs: pruned, their counts folded into the pruned totals.
    await vi.advanceTimersByTimeAsync(6000)
    groups = sender.stats().groups
    expect(groups?.live).toBe(0)
    expect(groups?.pruned).toMatchObject({ groups: 3, received: 4, delivered: 4, failed: 0 })
    sender.send(rec('c', 5))
    await vi.advanceTimersByTimeAsync(100)
    groups = sender.stats().groups
    expect(groups?.list.map((g) => `${g.kind}:${g.key}:${g.received}`)).toEqual(['key:c:1'])
    // The sender's totals still hold every record.
    expect(sender.stats().delivered).toBe(5)
  })

  it('does not prune a group with records in flight, however long they take', async () => {
    const sink = new SlowSink(20_000)
    const sender = make({ groupBy: 'tenant', group: { idleMs: 1000 }, batch: { maxWaitMs: 0 }, pool: { timeoutMs: 60_000 } }, sink)
    sender.send(rec('slow', 1))
    await vi.advanceTimersByTimeAsync(10_000)
    sender.send(rec('other', 2))
    expect(group(sender.stats(), 'slow')).toMatchObject({ inFlight: 1 })
    await vi.advanceTimersByTimeAsync(10_500)
    expect(group(sender.stats(), 'slow')).toMatchObject({ inFlight: 0, delivered: 1 })
  })

  it('the groups together stay within group.maxTotalRecords, shared out fairly: room comes from the largest group', async () => {
    const sink = new SlowSink(1000)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 100 }, group: { maxTotalRecords: 150 }, pool: { concurrency: 1 }, batch: { maxRecords: 10, maxWaitMs: 60_000 } },
      sink,
    )
    // One batch of a goes to the sink; a then fills its own 100 and b the 50 left; past that, each
    // record of b takes the room of one of a's (the largest group) until both hold the same.
    for (let i = 100; i < 110; i++) sender.send(rec('a', i))
    await vi.advanceTimersByTimeAsync(0)
    for (let i = 110; i < 300; i++) sender.send(rec('a', i))
    for (let i = 500; i < 580; i++) sender.send(rec('b', i))
    const stats = sender.stats()
    const a = group(stats, 'a')
    const b = group(stats, 'b')
    expect(stats.queued).toBe(150)
    expect(a).toMatchObject({ received: 200, queued: 75, inFlight: 10 })
    expect(a.dropped.overflow).toBe(200 - 75 - 10)
    expect(b).toMatchObject({ received: 80, queued: 75 })
    expect(b.dropped.overflow).toBe(5)
    expect(groupGap(a)).toBe(0)
    expect(groupGap(b)).toBe(0)
    expect(senderGap(stats)).toBe(0)
  })

  it('keeps level priority within a group: a full group drops its own debug records first', async () => {
    const sink = new SlowSink(1000)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 10, overflow: 'drop-oldest' }, pool: { concurrency: 1 }, batch: { maxRecords: 1, maxWaitMs: 60_000 } },
      sink,
    )
    sender.send(rec('a', 0, 30))
    await vi.advanceTimersByTimeAsync(0)
    for (let i = 1; i <= 10; i++) sender.send(rec('a', i, 20))
    for (let i = 11; i <= 15; i++) sender.send(rec('a', i, 50))
    const a = group(sender.stats(), 'a')
    expect(a).toMatchObject({ inFlight: 1, queued: 10 })
    expect(a.dropped.overflow).toBe(5)
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    // The five errors and the five newest debug records arrive; the five oldest debug ones were dropped.
    expect(sink.batches.flatMap((b) => b.ids).sort((x, y) => x - y)).toEqual([0, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
  })

  it('counts failed, dead and closed records under their group, and the ledger adds up at close', async () => {
    const sink = new SlowSink(10)
    sink.failing = new DeliveryError('400', { permanent: true, status: 400 })
    const sender = make({ groupBy: 'tenant', batch: { maxWaitMs: 0 } }, sink)
    sender.send(rec('x', 1))
    sender.send(rec('y', 2))
    await vi.advanceTimersByTimeAsync(100)
    const stats = sender.stats()
    expect(group(stats, 'x')).toMatchObject({ failed: 1, inFlight: 0 })
    expect(group(stats, 'y')).toMatchObject({ failed: 1, inFlight: 0 })
    sink.failing = undefined
    const closing = sender.close()
    await vi.runAllTimersAsync()
    await closing
    sender.send(rec('z', 3))
    const after = sender.stats()
    expect(after.dropped.closed).toBe(1)
    expect(senderGap(after)).toBe(0)
    for (const g of after.groups?.list ?? []) expect(groupGap(g)).toBe(0)
  })

  it('hands the records of the group a record does not fit in to an idle worker (not another group) before dropping', async () => {
    const sink = new SlowSink(1000)
    // a's own group full by bytes, not by count (30 records of 33 bytes are not at its bounds, a 31st
    // does not fit), while the groups together have room: b's record is not what is in the way.
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 1000, maxBytes: 1000, maxRecordBytes: 100 }, group: { maxTotalBytes: 100_000 }, pool: { concurrency: 2 }, batch: { maxRecords: 1000, maxWaitMs: 60_000 } },
      sink,
    )
    sender.send(rec('b', 0))
    for (let i = 1; i <= 40; i++) sender.send(rec('a', i))
    const a = group(sender.stats(), 'a')
    // a's records went to a worker when the first of them did not fit: none dropped.
    expect(a.dropped.overflow).toBe(0)
    expect(a.queued + a.inFlight).toBe(40)
    expect(groupGap(a)).toBe(0)
    expect(senderGap(sender.stats())).toBe(0)
  })

  it("with a spool, a full group moves its own records to disk, not a quiet tenant's: the spool's evictions cost the noisy one only", async () => {
    const dir = await tempDir()
    const sink = new SlowSink(50)
    // A spool smaller than the burst: it evicts its oldest frames (counted spoolFull).
    const sender = make(
      {
        groupBy: 'tenant',
        queue: { maxRecords: 1000 },
        pool: { concurrency: 1 },
        batch: { maxRecords: 100, maxWaitMs: 20 },
        spool: { dir, fsync: 'never', maxBytes: 2_200_000 },
      },
      sink,
    )
    for (let i = 0, q = 0; i < 50_000; i++) {
      sender.send(rec('noisy', i))
      if (i % 500 === 499) sender.send(rec('quiet', 100_000 + q++))
    }
    expect(group(sender.stats(), 'quiet').spooled).toBe(0)
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    const stats = sender.stats()
    expect(stats.dropped.spoolFull).toBeGreaterThan(0)
    expect(sink.of('quiet')).toBe(100)
    expect(group(stats, 'quiet')).toMatchObject({ received: 100, delivered: 100, spooled: 0 })
    expect(sink.of('noisy')).toBe(50_000 - stats.dropped.spoolFull)
    expect(senderGap(stats)).toBe(0)
  }, 60_000)

  it("keeps level priority when the groups' total is full and the largest group holds only higher levels: the record's own group gives up a lower one", async () => {
    const sink = new SlowSink(1000)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 100 }, group: { maxTotalRecords: 50 }, pool: { concurrency: 1 }, batch: { maxRecords: 10, maxWaitMs: 60_000 } },
      sink,
    )
    for (let i = 0; i < 10; i++) sender.send(rec('w', i, 40))
    await vi.advanceTimersByTimeAsync(0)
    // q holds five debug records, w (the largest) 45 warnings: the total of 50 is reached.
    for (let i = 100; i < 105; i++) sender.send(rec('q', i, 20))
    for (let i = 10; i < 55; i++) sender.send(rec('w', i, 40))
    // An info record of q: w has nothing as low to give, so one of q's own debug records makes room
    // (the newest, as queue.overflow 'drop-newest' evicts a lower level).
    sender.send(rec('q', 105, 30))
    const stats = sender.stats()
    expect(group(stats, 'q')).toMatchObject({ received: 6, queued: 5, dropped: expect.objectContaining({ overflow: 1 }) })
    expect(group(stats, 'w').dropped.overflow).toBe(0)
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    expect(sink.batches.filter((b) => b.tenants[0] === 'q').flatMap((b) => b.ids)).toEqual([100, 101, 102, 103, 105])
    expect(senderGap(sender.stats())).toBe(0)
  })

  it('block: a group brought back within its bounds by evictions (its record refused after all) lets the reader go on, and blocks again next time', async () => {
    const sink = new SlowSink(60_000)
    const sender = make(
      {
        groupBy: 'tenant',
        queue: { maxRecords: 10, overflow: 'block', maxBlockMs: 100 },
        group: { maxTotalRecords: 1000 },
        pool: { concurrency: 1, timeoutMs: 120_000 },
        batch: { maxRecords: 1, maxWaitMs: 60_000 },
      },
      sink,
    )
    sender.send(rec('a', 0))
    // The worker is busy for a minute; a holds ten info records and a trace one: over its bounds.
    for (let i = 1; i <= 10; i++) sender.send(rec('a', i, 30))
    expect(sender.send(rec('a', 11, 10))).toBe(false)
    await vi.advanceTimersByTimeAsync(150)
    // Past the block window a debug record evicts the trace one and is refused (a holds only info).
    sender.send(rec('a', 12, 20))
    const a = group(sender.stats(), 'a')
    expect(a).toMatchObject({ queued: 10 })
    expect(a.dropped.overflow).toBe(2)
    // a is within its bounds again: another tenant's record does not pause the reader.
    expect(sender.send(rec('b', 13))).toBe(true)
    // And the next time a goes over, the reader is paused again (a new block window).
    expect(sender.send(rec('a', 14, 30))).toBe(false)
  })

  it('does not look through every group for the oldest record at each dropped record while a flush waits', async () => {
    const sink = new SlowSink(60_000)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 10 }, group: { maxTotalRecords: 1000 }, pool: { concurrency: 1, timeoutMs: 120_000 }, batch: { maxRecords: 10, maxWaitMs: 60_000 } },
      sink,
    )
    // 100 groups of 10 records (the first batch in flight): every group is full.
    for (let i = 0; i < 1010; i++) sender.send(rec(`t${i % 100}`, i))
    const flushed = sender.flush()
    const peeks = vi.spyOn(RecordBuffer.prototype, 'peekOldest')
    // A thousand records refused (their groups are full): the oldest record has not changed.
    for (let i = 0; i < 1000; i++) sender.send(rec(`t${i % 100}`, 2000 + i))
    expect(totalDropped(sender.stats())).toBe(1000)
    // A few looks per record (100 per record, one per group, before).
    expect(peeks.mock.calls.length).toBeLessThan(5000)
    peeks.mockRestore()
    await vi.runAllTimersAsync()
    await flushed
    expect(senderGap(sender.stats())).toBe(0)
  })

  it('never prunes the group a record is being admitted to (group.idleMs 0, stats() read in a drop listener)', async () => {
    const sink = new SlowSink(100)
    const sender = make(
      { groupBy: 'tenant', queue: { maxRecords: 100 }, group: { idleMs: 0, maxTotalRecords: 20 }, pool: { concurrency: 1 }, batch: { maxRecords: 10, maxWaitMs: 1000 } },
      sink,
    )
    // Each record past the total evicts one of a's: the drop event reads the stats, which prune idle groups.
    sender.on('drop', () => sender.stats())
    for (let i = 0; i < 30; i++) sender.send(rec('a', i))
    sender.send(rec('b', 100))
    await vi.advanceTimersByTimeAsync(1)
    sender.send(rec('c', 200))
    expect(sender.stats().groups?.list.map((g) => g.key).sort()).toEqual(['a', 'b', 'c'])
    const flushed = sender.flush()
    await vi.runAllTimersAsync()
    await flushed
    expect(sink.of('b')).toBe(1)
    expect(sink.of('c')).toBe(1)
    const stats = sender.stats()
    expect(stats.queued).toBe(0)
    expect(senderGap(stats)).toBe(0)
    // Every group pruned by now: their counts all reached the pruned totals.
    expect(stats.groups?.pruned).toMatchObject({ received: 32, delivered: stats.delivered })
  })

  it('refuses bad group options at start-up, naming the option', () => {
    expect(configErrorOf(() => new QueuedSender({ groupBy: '' }, new SlowSink(1))).message).toMatch(/groupBy/)
    expect(configErrorOf(() => new QueuedSender({ groupBy: 't', group: { maxGroups: 0 } }, new SlowSink(1))).message).toMatch(/group\.maxGroups/)
    const tooSmall = configErrorOf(() => new QueuedSender({ groupBy: 't', group: { maxTotalBytes: 10 } }, new SlowSink(1)))
    expect(tooSmall.message).toMatch(/group\.maxTotalBytes: must be at least queue\.maxRecordBytes/)
    expect(configErrorOf(() => new QueuedSender({ groupBy: 't', group: { idle: 5 } as never }, new SlowSink(1))).message).toMatch(/idle/)
  })
})
