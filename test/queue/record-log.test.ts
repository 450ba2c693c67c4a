/**
 * The record log (issue 11): lines stored once as UTF-8 in shared slabs, named by refs, freed when no
 * sender holds them, compacted when a few held records would pin a slab, and read back as NDJSON
 * slices without copying.
 */
import { describe, expect, it } from 'vitest'
import { createRecord } from '../../src/input/record.js'
import { RecordLog, SLAB_BYTES } from '../../src/queue/record-log.js'
import { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Sink } from '../../src/sinks/sink.js'

const line = (i: number, pad = 0): string => `{"level":30,"i":${i},"pad":"${'x'.repeat(pad)}"}`

describe('RecordLog', () => {
  it('keeps a line, its level, seq, time and size, and gives it back as NDJSON and as a record', () => {
    const log = new RecordLog()
    const text = '{"level":50,"msg":"ünïcödé ✓ 😀"}'
    const ref = log.appendChecked(text, 50, 1234)
    expect(ref).toBeGreaterThanOrEqual(0)
    expect(log.line(ref)).toBe(text)
    expect(log.level(ref)).toBe(50)
    expect(log.time(ref)).toBe(1234)
    expect(log.bytes(ref)).toBe(Buffer.byteLength(text) + 1)
    expect(Buffer.concat(log.chunks([ref])).toString()).toBe(`${text}\n`)
    const view = log.view(ref)
    expect(view).toMatchObject({ line: text, level: 50, bytes: Buffer.byteLength(text) + 1, time: 1234, malformed: false })
    expect(view.seq).toBe(log.seq(ref))
    expect(view.value()).toEqual({ level: 50, msg: 'ünïcödé ✓ 😀' })
  })

  it('refuses what is not one JSON object, appending nothing', () => {
    const log = new RecordLog()
    const before = log.appendChecked('{"level":30}', 30, 0)
    expect(log.appendChecked('{"level":30,"a":1}{"b":2}', 30, 0)).toBe(-1)
    expect(log.appendChecked('{"level":30,"a":', 30, 0)).toBe(-1)
    const after = log.appendChecked('{"level":30,"b":2}', 30, 0)
    expect(Buffer.concat(log.chunks([before, after])).toString()).toBe('{"level":30}\n{"level":30,"b":2}\n')
  })

  it('gives consecutive records as one slice of a slab, and records across slabs as one slice each', () => {
    const log = new RecordLog()
    const refs: number[] = []
    // About 2.5 slabs of lines.
    for (let i = 0; i < (SLAB_BYTES * 2.5) / 1000; i++) {
      const ref = log.appendChecked(line(i, 980), 30, 0)
      log.hold(ref) // a slab nobody holds anything in is freed when the next one starts
      refs.push(ref)
    }
    const chunks = log.chunks(refs)
    expect(chunks).toHaveLength(3)
    const text = Buffer.concat(chunks).toString()
    expect(text.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(refs.map((_, i) => i))
    // Not consecutive: a slice per run.
    expect(log.chunks([refs[0] as number, refs[2] as number, refs[3] as number])).toHaveLength(2)
  })

  it('gives a line longer than a slab a slab of its own', () => {
    const log = new RecordLog()
    const refs = [line(1), line(2, SLAB_BYTES * 2), line(3)].map((text) => {
      const ref = log.appendChecked(text, 30, 0)
      log.hold(ref)
      return ref
    })
    const [small, big, after] = refs as [number, number, number]
    expect(log.line(big)).toBe(line(2, SLAB_BYTES * 2))
    expect(log.line(after)).toBe(line(3))
    for (const ref of [small, big, after]) log.release(ref)
    expect(log.idle()).toBe(true)
  })

  it('frees a slab once every record in it is released, and not before', () => {
    const log = new RecordLog()
    const refs: number[] = []
    for (let i = 0; i < (SLAB_BYTES * 3) / 1000; i++) {
      const ref = log.appendChecked(line(i, 980), 30, 0)
      log.hold(ref)
      log.hold(ref) // two senders
      refs.push(ref)
    }
    expect(log.slabs).toBe(4)
    for (const ref of refs) log.release(ref)
    expect(log.slabs).toBe(4) // the other sender still holds them
    for (const ref of refs) log.release(ref)
    expect(log.idle()).toBe(true)
    expect(log.dataBytes).toBe(SLAB_BYTES)
  })

  it('moves the few records still held out of a mostly released slab, and reads them where they went', () => {
    const log = new RecordLog({ compactSlack: 0 })
    const refs: number[] = []
    for (let i = 0; i < (SLAB_BYTES * 2) / 1000; i++) {
      const ref = log.appendChecked(line(i, 980), i % 100 === 0 ? 50 : 30, i)
      log.hold(ref)
      refs.push(ref)
    }
    // An error sender keeps 1 in 100; the rest are delivered.
    const kept = refs.filter((_, i) => i % 100 === 0)
    for (const [i, ref] of refs.entries()) if (i % 100 !== 0) log.release(ref)
    // Once the tail moves on, the kept records move out and the old slabs' data goes.
    for (let i = 0; i < (SLAB_BYTES * 6) / 1000; i++) {
      const ref = log.appendChecked(line(5000 + i, 980), 30, 0)
      log.hold(ref)
      log.release(ref)
    }
    expect(log.dataBytes).toBeLessThanOrEqual(2 * SLAB_BYTES)
    for (const [n, ref] of kept.entries()) {
      expect(log.line(ref)).toBe(line(n * 100, 980))
      expect(log.level(ref)).toBe(50)
      expect(log.time(ref)).toBe(n * 100)
    }
    expect(Buffer.concat(log.chunks(kept)).toString().trim().split('\n')).toHaveLength(kept.length)
    for (const ref of kept) log.release(ref)
    expect(log.idle()).toBe(true)
  })

  it('moves nothing while the slabs hold about what is live (a burst in a queue)', () => {
    const log = new RecordLog()
    const refs: number[] = []
    for (let i = 0; i < (SLAB_BYTES * 8) / 1000; i++) {
      const ref = log.appendChecked(line(i, 980), 30, 0)
      log.hold(ref)
      refs.push(ref)
    }
    // Released in order, as a queue does: no slab is ever copied.
    const before = log.dataBytes
    for (const ref of refs.slice(0, refs.length / 2)) log.release(ref)
    expect(log.dataBytes).toBeLessThan(before)
    expect(log.liveBytes).toBe(refs.slice(refs.length / 2).reduce((n, ref) => n + log.bytes(ref), 0))
    for (const ref of refs.slice(refs.length / 2)) log.release(ref)
    expect(log.idle()).toBe(true)
  })

  it('keeps the slab data within twice the live bytes and a few slabs, however sparse what is held', () => {
    const log = new RecordLog()
    for (let i = 0; i < (SLAB_BYTES * 40) / 1000; i++) {
      const ref = log.appendChecked(line(i, 980), 30, 0)
      log.hold(ref)
      if (i % 200 !== 0) log.release(ref)
    }
    expect(log.dataBytes).toBeLessThanOrEqual(2 * log.liveBytes + 6 * SLAB_BYTES)
  })

  it('reuses the buffer of a slab nobody holds, never one a held record is in', () => {
    const log = new RecordLog()
    const keep = log.appendChecked(line(0, 980), 30, 0)
    log.hold(keep)
    const body = log.chunks([keep])
    // Churn: slabs filled and released, their buffers reused for the next ones.
    for (let i = 0; i < (SLAB_BYTES * 30) / 1000; i++) {
      const ref = log.appendChecked(line(i + 1, 980), 30, 0)
      log.hold(ref)
      expect(log.line(ref)).toBe(line(i + 1, 980))
      log.release(ref)
    }
    // The held record's slab was never handed out again: the body taken before is intact.
    expect(Buffer.concat(body).toString()).toBe(`${line(0, 980)}\n`)
    expect(log.line(keep)).toBe(line(0, 980))
    expect(log.dataBytes).toBeLessThanOrEqual(3 * SLAB_BYTES)
    log.release(keep)
  })

  it('a record not held is freed with its slab: only held records can be read', () => {
    const log = new RecordLog()
    const ref = log.appendChecked(line(0), 30, 0)
    for (let i = 0; i < SLAB_BYTES / 500; i++) log.appendChecked(line(i, 500), 30, 0)
    expect(() => log.line(ref)).toThrow(RangeError)
    expect(log.idle()).toBe(true)
  })

  it('a held record survives being moved again and again, one hop from its ref, pinning no slab but its own', () => {
    const log = new RecordLog({ compactSlack: 0 })
    const keep = log.appendChecked(line(0, 980), 50, 7)
    log.hold(keep)
    for (let round = 0; round < 4; round++) {
      const filler: number[] = []
      for (let i = 0; i < SLAB_BYTES / 1000; i++) {
        const ref = log.appendChecked(line(1000 + i, 980), 30, 0)
        log.hold(ref)
        filler.push(ref)
      }
      for (const ref of filler) log.release(ref)
    }
    expect(log.line(keep)).toBe(line(0, 980))
    expect(log.time(keep)).toBe(7)
    // Its birth slab (its forward table only), the slab it is in now, and the tail.
    expect(log.slabs).toBeLessThanOrEqual(3)
    expect(log.dataBytes).toBeLessThanOrEqual(2 * SLAB_BYTES)
    log.release(keep)
    expect(log.idle()).toBe(true)
  })
})

describe('QueuedSender on a record log', () => {
  it('releases every record it held, whatever became of it', async () => {
    const log = new RecordLog()
    let calls = 0
    const sink: Sink = {
      deliver: () => {
        calls++
        if (calls % 3 === 0) return Promise.reject(new Error('flaky'))
        if (calls % 5 === 0) return Promise.resolve({ rejected: [{ index: 0 }], retry: [{ index: 1 }] })
        return Promise.resolve()
      },
    }
    const sender = new QueuedSender(
      { batch: { maxRecords: 50, maxWaitMs: 5 }, queue: { maxRecords: 400 }, retry: { baseDelayMs: 1, maxDelayMs: 2 } },
      sink,
      { recordLog: log },
    )
    for (let i = 0; i < 5000; i++) {
      const ref = log.appendChecked(line(i, 200), 30, Date.now())
      sender.send(createRecord(line(-1))) // a direct send too
      void ref
    }
    await sender.flush()
    await sender.close()
    expect(log.idle()).toBe(true)
  })
})
