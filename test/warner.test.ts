import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Sender } from '../src/senders/sender.js'
import { Warner, type CourierWarning } from '../src/warner.js'

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
