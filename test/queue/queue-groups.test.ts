/**
 * QueueGroups on its own: turns, pruning and the cost of keys past group.maxGroups. The sender-level
 * behaviour is in test/senders/queued-sender-groups.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MAX_GROUP_KEY_LENGTH, QueueGroups, type QueueGroup } from '../../src/queue/queue-groups.js'
import { RecordLog } from '../../src/queue/record-log.js'

const log = new RecordLog()

/** A record of `tenant` in the log, and its ref. */
function ref(tenant: string): number {
  return log.append(`{"level":30,"tenant":${JSON.stringify(tenant)}}`, 30, Date.now())
}

/** The group of a new record of `tenant`; the record is queued in it when `queue` is set. */
function add(groups: QueueGroups, tenant: string, queue = true): QueueGroup {
  const r = ref(tenant)
  const group = groups.groupOf(r, undefined)
  if (queue) group.buffer.push(r, 30, log.bytes(r))
  return group
}

function keyOf(group: QueueGroup | undefined): string | undefined {
  return group?.counters?.key
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(1_000_000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('QueueGroups', () => {
  it('passes the turn to the next group kept when the group whose turn it is gets pruned, not back to the first', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 10, idleMs: 1000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    add(groups, 'a')
    const b = add(groups, 'b')
    add(groups, 'c', false)
    add(groups, 'd')
    // b sent a batch: c has the next turn, but c has nothing queued and goes idle.
    groups.passTurn(b)
    vi.setSystemTime(1_000_000 + 1500)
    groups.prune()
    expect(groups.all().map(keyOf)).toEqual(['a', 'b', 'd'])
    // d comes after c: a, which has just had its turn before b, waits for its next one.
    expect(keyOf(groups.select(() => true))).toBe('d')
  })

  it('keeps the turn with its group when a group before it is pruned', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 10, idleMs: 1000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    add(groups, 'a', false)
    const b = add(groups, 'b')
    add(groups, 'c')
    add(groups, 'd')
    groups.passTurn(b)
    vi.setSystemTime(1_000_000 + 1500)
    groups.prune()
    expect(groups.all().map(keyOf)).toEqual(['b', 'c', 'd'])
    expect(keyOf(groups.select(() => true))).toBe('c')
  })

  it('does not walk every group for each record of a new key once maxGroups exist (a stream of distinct keys)', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 4, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    for (let i = 0; i < 4; i++) add(groups, `k${i}`)
    const prune = vi.spyOn(groups, 'prune')
    vi.setSystemTime(1_000_000 + 5000)
    // The clock stands still: one look for idle groups, however many new keys come in this millisecond.
    for (let i = 4; i < 1000; i++) expect(add(groups, `k${i}`, false).counters?.kind).toBe('overflow')
    expect(prune.mock.calls.length).toBeLessThanOrEqual(2)
    // A millisecond later it looks again, and a group idle for idleMs makes room for a new key.
    vi.setSystemTime(1_000_000 + 5001)
    add(groups, 'k1000', false)
    expect(prune.mock.calls.length).toBeLessThanOrEqual(3)
  })

  it('with group.idleMs 0, looks for idle groups once per millisecond, not for each record', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 256, idleMs: 0, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    for (let i = 0; i < 100; i++) add(groups, `k${i}`)
    const prune = vi.spyOn(groups, 'prune')
    vi.setSystemTime(1_000_000 + 10)
    for (let i = 0; i < 1000; i++) add(groups, `k${i % 100}`)
    expect(prune.mock.calls.length).toBeLessThanOrEqual(1)
    // A group emptied is still removed at the next millisecond's look.
    vi.setSystemTime(1_000_000 + 11)
    add(groups, 'k0', false)
    expect(prune.mock.calls.length).toBe(2)
  })

  it('finds the group holding the oldest record as records come and go, in creation order or not', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 10, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    const queue = (group: QueueGroup, r: number): void => {
      group.buffer.push(r, 30, log.bytes(r))
      groups.queued(r)
    }
    expect(groups.oldest()).toBeUndefined()
    const [r1, r2, r3, r4] = [ref('a'), ref('b'), ref('a'), ref('b')] as [number, number, number, number]
    const a = groups.groupOf(r1, undefined)
    const b = groups.groupOf(r2, undefined)
    queue(a, r1)
    queue(b, r2)
    expect(keyOf(groups.oldest())).toBe('a')
    // Records leaving another group do not change it; the oldest leaving does.
    queue(b, r4)
    expect(keyOf(groups.oldest())).toBe('a')
    a.buffer.shiftOldest()
    expect(keyOf(groups.oldest())).toBe('b')
    // A record queued after newer ones (a caller sending out of creation order) can be the oldest.
    queue(a, r3)
    expect(keyOf(groups.oldest())).toBe('b')
    b.buffer.shiftOldest()
    expect(keyOf(groups.oldest())).toBe('a')
    a.buffer.drain()
    b.buffer.drain()
    expect(groups.oldest()).toBeUndefined()
    const early = ref('c')
    const late = ref('b')
    queue(b, late)
    expect(keyOf(groups.oldest())).toBe('b')
    const c = groups.groupOf(early, undefined)
    queue(c, early)
    expect(keyOf(groups.oldest())).toBe('c')
    c.buffer.shiftOldest()
    expect(keyOf(groups.oldest())).toBe('b')
  })

  it('makes room for a new key at maxGroups once a group has been idle for idleMs', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 2, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    add(groups, 'a')
    add(groups, 'b', false)
    expect(add(groups, 'c', false).counters?.kind).toBe('overflow')
    vi.setSystemTime(1_000_000 + 60_000)
    expect(add(groups, 'd', false).counters?.kind).toBe('key')
    expect(groups.all().map(keyOf)).toEqual(['a', 'd'])
  })

  it('cuts a long key to MAX_GROUP_KEY_LENGTH without splitting a surrogate pair', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 10, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    const split = add(groups, `${'k'.repeat(MAX_GROUP_KEY_LENGTH - 1)}\u{1F600}tail`).counters?.key ?? ''
    expect(split).toBe('k'.repeat(MAX_GROUP_KEY_LENGTH - 1))
    const whole = add(groups, `${'k'.repeat(MAX_GROUP_KEY_LENGTH - 2)}\u{1F600}tail`).counters?.key ?? ''
    expect(whole).toBe(`${'k'.repeat(MAX_GROUP_KEY_LENGTH - 2)}\u{1F600}`)
    // Keys that share their first MAX_GROUP_KEY_LENGTH characters share a group (documented).
    expect(add(groups, `${'k'.repeat(MAX_GROUP_KEY_LENGTH)}a`).counters).toBe(add(groups, `${'k'.repeat(MAX_GROUP_KEY_LENGTH)}b`).counters)
  })

  it('takes a number and its text as one key, and a prototype name as a key like any other', () => {
    const groups = new QueueGroups('tenant', { maxGroups: 10, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    const numeric = groups.groupOf(log.append('{"level":30,"tenant":1}', 30, Date.now()), undefined)
    expect(groups.groupOf(log.append('{"level":30,"tenant":"1"}', 30, Date.now()), undefined)).toBe(numeric)
    expect(groups.groupOf(log.append('{"level":30,"tenant":1.0}', 30, Date.now()), undefined)).toBe(numeric)
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(add(groups, name).counters).toMatchObject({ key: name, kind: 'key' })
    }
    // A record without the field is not given the prototype's: it goes to the missing group.
    const byProto = new QueueGroups('constructor', { maxGroups: 10, idleMs: 60_000, maxTotalRecords: undefined, maxTotalBytes: undefined }, log)
    expect(add(byProto, 'x').counters?.kind).toBe('missing')
    expect(byProto.groupOf(log.append('{"level":30,"__proto__":{"constructor":"y"}}', 30, Date.now()), undefined).counters?.kind).toBe('missing')
  })
})
