import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Sender, SenderEvents } from '../../src/senders/sender.js'
import { GroupCounters } from '../../src/stats/group-stats.js'
import { Ledger } from '../../src/stats/ledger.js'
import { Warner, type CourierWarning } from '../../src/stats/warner.js'

/** Only the event side of a Sender matters to the Warner. */
function fakeSender(): EventEmitter & Sender {
  return new EventEmitter() as EventEmitter & Sender
}

describe('Warner', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("names whose records a grouped sender dropped: the three keys that dropped most, all of them in groups", async () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1, group: 'noisy' })
    expect(seen[0]?.message).toBe('pino-courier: sender "http" dropped 1 record (overflow: 1); by group: "noisy" 1')
    for (let i = 0; i < 40; i++) sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1, group: 'noisy' })
    for (const [group, n] of [['b', 5], ['c', 3], ['d', 2], ['(missing)', 1]] as const) sender.emit('drop', { sender: 'http', reason: 'overflow', records: n, group })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(seen[1]).toMatchObject({ kind: 'dropped', records: 51, groups: { noisy: 40, b: 5, c: 3, d: 2, '(missing)': 1 } })
    expect(seen[1]?.message).toBe('pino-courier: sender "http" dropped 51 records (overflow: 51); by group: "noisy" 40, "b" 5, "c" 3 and 2 more')
    // An ungrouped sender's warning has no groups.
    sender.emit('drop', { sender: 'file', reason: 'overflow', records: 2 })
    expect(seen[2]).not.toHaveProperty('groups')
    warner.flush()
  })

  it('tells a tenant named "(missing)" or "(overflow)" from the shared groups of that name', async () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    // The first drop is told at once; the next ones are summed into one warning.
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1, group: 'first', groupKind: 'key' })
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 4, group: '(missing)', groupKind: 'key' })
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 3, group: '(missing)', groupKind: 'missing' })
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 2, group: '(overflow)', groupKind: 'overflow' })
    // A custom sender that names no kind: its key is a key.
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1, group: 'b' })
    warner.flush()
    expect(seen[1]).toMatchObject({ records: 10, groups: { '(missing)': 4, b: 1 }, sharedGroups: { missing: 3, overflow: 2 } })
    expect(seen[1]?.message).toBe('pino-courier: sender "http" dropped 10 records (overflow: 10); by group: "(missing)" 4, (missing) 3, (overflow) 2 and 1 more')
  })

  it("through a sender's ledger: a shared group's drops are not counted under a tenant of the same name", () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    const ledger = new Ledger('http', sender as unknown as EventEmitter<SenderEvents>)
    const tenant = new GroupCounters('(overflow)', 'key', 0)
    const overflow = new GroupCounters('(overflow)', 'overflow', 0)
    ledger.received(tenant)
    ledger.received(overflow)
    ledger.received(overflow)
    ledger.refused({ count: 1, bytes: 10, group: tenant }, 'overflow')
    ledger.refused({ count: 2, bytes: 20, group: overflow }, 'overflow')
    warner.flush()
    expect(seen.map((w) => [w.groups, w.sharedGroups])).toEqual([
      [{ '(overflow)': 1 }, undefined],
      [undefined, { overflow: 2 }],
    ])
  })

  it('holds at most 1,000 group keys per warning, however many keys drop within one interval; the rest are counted', async () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    sender.emit('drop', { sender: 'http', reason: 'oversize', records: 1, group: 'first', groupKind: 'key' })
    // Groups pruned at once (group.idleMs 0) can drop under a new key each, all within one interval.
    for (let i = 0; i < 5000; i++) sender.emit('drop', { sender: 'http', reason: 'oversize', records: 1, group: `tenant-${i}`, groupKind: 'key' })
    sender.emit('drop', { sender: 'http', reason: 'oversize', records: 7, group: 'tenant-1', groupKind: 'key' })
    warner.flush()
    const last = seen[1]
    expect(last?.records).toBe(5007)
    expect(Object.keys(last?.groups ?? {})).toHaveLength(1000)
    expect(last?.groups?.['tenant-1']).toBe(8)
    expect(last?.groupsLeftOut).toBe(4000)
    expect(last?.message).toBe('pino-courier: sender "http" dropped 5007 records (oversize: 5007); by group: "tenant-1" 8, "tenant-0" 1, "tenant-2" 1 and 997 more; 4000 records of further keys')
  })

  it('escapes control, line-separator and bidi characters of a group key in the message', () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    const key = 'a\nb\u001b[31mc\u009b2Jd\u2028e\u202ef\u007f\ud800'
    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1, group: key, groupKind: 'key' })
    expect(seen[0]?.message).toBe('pino-courier: sender "http" dropped 1 record (overflow: 1); by group: "a\\nb\\u001b[31mc\\u009b2Jd\\u2028e\\u202ef\\u007f\\ud800" 1')
    // The key itself is as it was, in groups.
    expect(seen[0]?.groups).toEqual({ [key]: 1 })
  })

  it('warns at once the first time, then sums up per interval', async () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)

    sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1 })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ sender: 'http', kind: 'dropped', records: 1, reasons: { overflow: 1 } })

    for (let i = 0; i < 500; i++) sender.emit('drop', { sender: 'http', reason: 'overflow', records: 1 })
    sender.emit('drop', { sender: 'http', reason: 'closed', records: 7 })
    expect(seen).toHaveLength(1)

    await vi.advanceTimersByTimeAsync(9_999)
    expect(seen).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(seen).toHaveLength(2)
    expect(seen[1]).toMatchObject({ kind: 'dropped', records: 507, reasons: { overflow: 500, closed: 7 } })
    expect(seen[1]?.message).toBe('pino-courier: sender "http" dropped 507 records (overflow: 500, closed: 7)')

    // Nothing more happened: no further warning, and the timer does not spin.
    await vi.advanceTimersByTimeAsync(60_000)
    expect(seen).toHaveLength(2)
  })

  it('keeps senders and kinds apart and carries the latest error', () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const a = fakeSender()
    const b = fakeSender()
    warner.watch(a)
    warner.watch(b)
    a.emit('failure', { sender: 'a', records: 3, error: 'HTTP 400 from http://x', at: 0, attempts: 1, reason: 'permanent' })
    b.emit('retry', { sender: 'b', records: 2, attempt: 1, delayMs: 10, error: 'HTTP 503 from http://y' })
    a.emit('drop', { sender: 'a', reason: 'oversize', records: 1 })
    expect(seen.map((w) => `${w.sender}/${w.kind}/${w.records}`)).toEqual(['a/failed/3', 'b/retrying/2', 'a/dropped/1'])
    expect(seen[0]?.message).toBe('pino-courier: sender "a" could not deliver 3 records: HTTP 400 from http://x')
    expect(seen[1]?.error).toBe('HTTP 503 from http://y')
  })

  it('counts a record retried seven times once, says after how many attempts, in the order things happened', () => {
    // Before: "is retrying 7 records" (retries x records), printed after the line saying it was dropped.
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    for (let attempt = 1; attempt <= 7; attempt++) {
      sender.emit('retry', { sender: 'http', records: 1, attempt, delayMs: 100, error: 'connect ECONNREFUSED 127.0.0.1:9', waitingRecords: 1, waitingBatches: 1 })
    }
    sender.emit('drop', { sender: 'http', reason: 'closed', records: 1 })
    warner.flush()
    expect(seen.map((w) => w.message)).toEqual([
      'pino-courier: sender "http": 1 record waits for a retry after 1 failed attempt; last error: connect ECONNREFUSED 127.0.0.1:9',
      'pino-courier: sender "http": 1 record waits for a retry after 7 failed attempts; last error: connect ECONNREFUSED 127.0.0.1:9',
      'pino-courier: sender "http" dropped 1 record (closed: 1)',
    ])
    expect(seen[1]).toMatchObject({ kind: 'retrying', records: 1, attempts: 7 })
  })

  it('says how many records in how many batches wait, not how many retries were made', () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    sender.emit('retry', { sender: 's', records: 500, attempt: 1, delayMs: 1, error: 'HTTP 503', waitingRecords: 500, waitingBatches: 1 })
    sender.emit('retry', { sender: 's', records: 500, attempt: 1, delayMs: 1, error: 'HTTP 503', waitingRecords: 1000, waitingBatches: 2 })
    sender.emit('retry', { sender: 's', records: 500, attempt: 2, delayMs: 1, error: 'HTTP 503', waitingRecords: 1000, waitingBatches: 2 })
    sender.emit('retry', { sender: 's', records: 500, attempt: 3, delayMs: 1, error: 'HTTP 503', waitingRecords: 800, waitingBatches: 2 })
    warner.flush()
    expect(seen[1]?.message).toBe(
      'pino-courier: sender "s": 800 records in 2 batches wait for a retry after 3 failed attempts (the most of one batch); last error: HTTP 503',
    )
    // A sender that does not say what waits (a custom one): its events are summed.
    const custom = fakeSender()
    warner.watch(custom)
    custom.emit('retry', { sender: 'c', records: 2, attempt: 1, delayMs: 1, error: 'x' })
    expect(seen.at(-1)).toMatchObject({ sender: 'c', kind: 'retrying', records: 2 })
  })

  it('flush() emits what is pending at once', () => {
    const seen: CourierWarning[] = []
    const warner = new Warner(10_000, (w) => seen.push(w))
    const sender = fakeSender()
    warner.watch(sender)
    sender.emit('drop', { sender: 's', reason: 'overflow', records: 1 })
    sender.emit('drop', { sender: 's', reason: 'overflow', records: 4 })
    warner.flush()
    expect(seen.map((w) => w.records)).toEqual([1, 4])
    warner.flush()
    expect(seen).toHaveLength(2)
  })
})
