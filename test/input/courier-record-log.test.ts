/**
 * The courier's record log (issue 11): a line goes into the log once, however many queued senders
 * take it; other senders get a record made for them; every hold is released by the close.
 */
import { describe, expect, it } from 'vitest'
import { LevelMap } from '../../src/config/levels.js'
import { assembleCourier, senderContext } from '../../src/input/assemble.js'
import type { LogRecord } from '../../src/input/record.js'
import type { RecordLog } from '../../src/queue/record-log.js'
import { createBuiltinSender } from '../../src/sinks/registry.js'
import type { MemorySender } from '../../src/sinks/memory/memory-sender.js'
import type { Sender } from '../../src/senders/sender.js'
import { EventEmitter } from 'node:events'

/** A sender written from scratch: it gets records, not refs. */
class PlainSender extends EventEmitter implements Sender {
  readonly name = 'plain'
  readonly level = 50
  readonly got: LogRecord[] = []
  send(record: LogRecord): boolean {
    this.got.push(record)
    return true
  }
  ready = (): Promise<void> => Promise.resolve()
  flush = (): Promise<void> => Promise.resolve()
  close = () =>
    Promise.resolve({ name: this.name, undelivered: 0, abandonedAtDeadline: 0, timedOut: false, stats: this.stats() })
  stats = () => ({
    name: this.name, received: this.got.length, queued: 0, queuedBytes: 0, inFlight: 0, spooled: 0, spooledBytes: 0, recovered: 0,
    delivered: this.got.length, deliveredBytes: 0, retried: 0, failed: 0, deadLettered: 0, attempts: 0, recentFailures: [],
    dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 },
  })
}

describe('the courier and its record log', () => {
  it('queued senders share the lines in one log; a plain sender gets records for its level only; all is released at close', async () => {
    const logger = { levels: new LevelMap() }
    const context = senderContext({ stderr: false }, logger)
    const memories = [0, 1, 2].map((n) =>
      createBuiltinSender({ type: 'memory', name: `m${n}`, capacity: 100_000, batch: { maxRecords: 500, maxWaitMs: 5 } }, context) as MemorySender,
    )
    const plain = new PlainSender()
    const courier = assembleCourier([...memories, plain], { stderr: false }, logger, context, () => undefined)
    const n = 20_000
    for (let i = 0; i < n; i++) courier.write(`{"level":${i % 10 === 0 ? 50 : 30},"i":${i},"msg":"${'x'.repeat(150)}"}`)
    courier.write('not json')
    await courier.flush()
    for (const memory of memories) {
      expect(memory.lines()).toHaveLength(n + 1)
      expect(memory.values()[n - 1]).toMatchObject({ i: n - 1 })
    }
    expect(memories[0]?.records()[n]).toMatchObject({ malformed: true, level: 30 })
    expect(plain.got).toHaveLength(n / 10)
    expect(plain.got[1]?.value()).toMatchObject({ level: 50, i: 10 })
    const report = await courier.close()
    expect(report.undelivered).toBe(0)
    expect(courier.stats()).toMatchObject({ lines: n + 1, malformed: 1 })
    expect((context.recordLog as RecordLog).idle()).toBe(true)
  })
})
