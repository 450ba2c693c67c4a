import { EventEmitter } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import { Courier } from '../../src/input/courier.js'
import { describeCloseReport } from '../../src/stats/close-report.js'
import { LevelMap } from '../../src/config/levels.js'
import { RecordParser, type LogRecord } from '../../src/input/record.js'
import { DeliveryError } from '../../src/pool/delivery-error.js'
import { createMemorySender } from '../../src/sinks/memory/memory-sender.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { CloseReport, Sender } from '../../src/senders/sender.js'
import { StatsCounters } from '../../src/stats/delivery-stats.js'

const line = (level: number, i: number): string => `{"level":${level},"time":1,"msg":"m","i":${i}}`

describe('Courier', () => {
  describe('write', () => {
    it('fans a record out to every sender whose level it meets', async () => {
      const all = createMemorySender({ name: 'all' })
      const warn = createMemorySender({ name: 'warn', level: 'warn' })
      const courier = new Courier({ senders: [all, warn] })
      for (const [i, level] of [10, 30, 40, 50, 60].entries()) courier.write(line(level, i))
      await courier.flush()
      expect(all.values().map((v) => v.i)).toEqual([0, 1, 2, 3, 4])
      expect(warn.values().map((v) => v.i)).toEqual([2, 3, 4])
      expect(warn.stats().received).toBe(3)
      await courier.close()
    })

    it('counts lines and malformed lines, skips empty ones, still delivers malformed text', async () => {
      const memory = createMemorySender()
      const courier = new Courier({ senders: [memory] })
      courier.write(line(30, 1))
      courier.write('')
      courier.write('Segmentation fault (core dumped)')
      await courier.flush()
      expect(courier.stats()).toMatchObject({ lines: 2, malformed: 1 })
      expect(memory.values()[1]).toMatchObject({ msg: 'Segmentation fault (core dumped)', malformed: true, level: 30 })
      await courier.close()
    })

    it('uses the parser it is given (custom levels route by name)', async () => {
      const levels = new LevelMap({ info: 30, audit: 35, error: 50 })
      const audit = createMemorySender({ level: 'audit' }, { levels })
      const courier = new Courier({ senders: [audit], parser: new RecordParser({ levels }) })
      courier.write('{"level":"info","msg":"a"}')
      courier.write('{"level":"audit","msg":"b"}')
      courier.write('{"level":35,"msg":"c"}')
      await courier.flush()
      expect(audit.values().map((v) => v.msg)).toEqual(['b', 'c'])
      await courier.close()
    })

    it('a sender that throws does not keep the record from the others', async () => {
      const thrower = Object.assign(new EventEmitter(), {
        name: 'thrower',
        level: 0,
        send(_record: LogRecord): boolean {
          throw new Error('broken sender')
        },
      }) as unknown as Sender
      const memory = createMemorySender()
      const courier = new Courier({ senders: [thrower, memory] })
      expect(() => courier.write(line(30, 1))).not.toThrow()
      await memory.flush()
      expect(memory.lines()).toHaveLength(1)
      await memory.close()
    })
  })

  describe('close', () => {
    // A full queue hands a batch to its idle worker before dropping: 4 of a's 5 records get through.
    it('closes every sender once and sums their reports', async () => {
      const a = createMemorySender({ name: 'a', queue: { maxRecords: 2, maxBytes: 4096, maxRecordBytes: 1024 }, batch: { maxWaitMs: 60_000 } })
      const b = createMemorySender({ name: 'b' })
      const courier = new Courier({ senders: [a, b] })
      for (let i = 0; i < 5; i++) courier.write(line(30, i))
      const first = courier.close()
      expect(courier.close()).toBe(first)
      const report = await first
      expect(report.senders.map((r: CloseReport) => [r.name, r.stats.delivered, r.undelivered])).toEqual([
        ['a', 4, 1],
        ['b', 5, 0],
      ])
      expect(report.undelivered).toBe(1)
      expect(report.timedOut).toBe(false)
      expect(describeCloseReport(report)).toBe(
        'pino-courier: closed; 1 of 10 record deliveries could not be made (5 lines read, each counted once per sender it went to: 2 senders) - a: 1 (failed 0, dropped overflow 1, closed 0, oversize 0)',
      )
      // After close, lines are counted as dropped (closed) by every sender, never delivered.
      courier.write(line(30, 99))
      expect(a.stats().dropped.closed).toBe(1)
      expect(b.stats().dropped.closed).toBe(1)
      expect(b.lines()).toHaveLength(5)
    })
  })

  describe('describeCloseReport', () => {
    /** A sender whose every batch fails for good. */
    const broken = (name: string, level?: string): QueuedSender =>
      new QueuedSender({ name, level, retry: { maxAttempts: 1 } }, { deliver: () => Promise.reject(new DeliveryError('down', { permanent: true })) })

    // Issue: "closed; 3 of 3 records could not be delivered" after 2 log calls, because a record
    // sent to two senders counts twice. The summary now says what it counts.
    it('says that counts are per sender, with the lines read, when there are several senders', async () => {
      const courier = new Courier({ senders: [broken('http'), broken('file', 'error')] })
      courier.write(line(30, 1))
      courier.write(line(50, 2))
      await courier.flush()
      const report = await courier.close()
      expect(report.undelivered).toBe(3)
      expect(describeCloseReport(report)).toBe(
        'pino-courier: closed; 3 of 3 record deliveries could not be made (2 lines read, each counted once per sender it went to: 2 senders)' +
          ' - http: 2 (failed 2, dropped overflow 0, closed 0, oversize 0; last error: DeliveryError: down);' +
          ' file: 1 (failed 1, dropped overflow 0, closed 0, oversize 0; last error: DeliveryError: down)',
      )
    })

    it('keeps the plain wording with one sender, where records and lines are the same', async () => {
      const courier = new Courier({ senders: [broken('http')] })
      courier.write(line(30, 1))
      courier.write(line(50, 2))
      await courier.flush()
      expect(describeCloseReport(await courier.close())).toBe(
        'pino-courier: closed; 2 of 2 records could not be delivered - http: 2 (failed 2, dropped overflow 0, closed 0, oversize 0; last error: DeliveryError: down)',
      )
    })
  })

  describe('flush', () => {
    it('waits for every sender, then rejects with an AggregateError of the failures', async () => {
      const broken = customSender('broken', { flush: () => Promise.reject(new Error('disk gone')) })
      const memory = createMemorySender({ batch: { maxWaitMs: 60_000 } })
      const courier = new Courier({ senders: [broken, memory] })
      courier.write(line(30, 1))
      const error = await courier.flush().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(AggregateError)
      expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['disk gone'])
      // The healthy sender was flushed all the same.
      expect(memory.lines()).toHaveLength(1)
      await memory.close()
    })
  })

  describe('close deadline', () => {
    it('stops waiting for a custom sender whose close never settles', async () => {
      vi.useFakeTimers()
      try {
        const hung = customSender('hung', { close: () => new Promise<CloseReport>(() => undefined) })
        const memory = createMemorySender()
        const courier = new Courier({ senders: [hung, memory], closeTimeoutMs: 1000 })
        courier.write(line(30, 1))
        let report: Awaited<ReturnType<Courier['close']>> | undefined
        void courier.close().then((r) => (report = r))
        await vi.advanceTimersByTimeAsync(1000)
        expect(report).toBeUndefined()
        await vi.advanceTimersByTimeAsync(250)
        expect(report?.timedOut).toBe(true)
        expect(report?.senders.map((r) => [r.name, r.timedOut])).toEqual([
          ['hung', true],
          ['memory', false],
        ])
        expect(memory.lines()).toHaveLength(1)
      } finally {
        vi.useRealTimers()
      }
    })
  })
})

/** A hand-written Sender with no events, whose flush/close the test decides. */
function customSender(
  name: string,
  overrides: { flush?: () => Promise<void>; close?: () => Promise<CloseReport> },
): Sender {
  const stats = new StatsCounters().snapshot(name)
  return {
    name,
    level: 0,
    send: () => true,
    ready: () => Promise.resolve(),
    flush: overrides.flush ?? (() => Promise.resolve()),
    close: overrides.close ?? (() => Promise.resolve({ name, undelivered: 0, abandonedAtDeadline: 0, timedOut: false, stats })),
    stats: () => stats,
  } as unknown as Sender
}
