import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DiskSpool, spoolDirName, type SpoolFrame } from '../../src/spool/disk-spool.js'
import { encodeFrame } from '../../src/spool/spool-frame.js'
import { isAlive, OWNER_FILE } from '../../src/spool/spool-owner.js'
import { DEFAULT_SPOOL, type ResolvedSpoolOptions } from '../../src/spool/spool-options.js'
import { useCleanups } from '../helpers/cleanups.js'
import { frameContent as batch } from '../helpers/switch-sink.js'

const { tempDir, defer } = useCleanups()

/** A pid above Linux's largest possible pid_max (2^22): never a running process. */
const DEAD_PID = 4_194_305

function options(dir: string, more: Partial<ResolvedSpoolOptions> = {}): ResolvedSpoolOptions {
  return { ...DEFAULT_SPOOL, dir, fsync: 'never', ...more }
}

function open(dir: string, more: Partial<ResolvedSpoolOptions> = {}, evicted: SpoolFrame[] = []): DiskSpool {
  const spool = new DiskSpool(options(dir, more), 'http', (f) => evicted.push(f))
  defer(() => spool.close())
  return spool
}

function append(spool: DiskSpool, id: string, from: number, n: number, where: 'tail' | 'front' = 'tail'): SpoolFrame {
  const result = spool.append(batch(id, from, n), from + 1, where)
  if ('error' in result) throw result.error
  return result
}

/** Reads every unread frame, oldest first, marking each done: [id, first i, count]. */
function drain(spool: DiskSpool): [string, number, number][] {
  const out: [string, number, number][] = []
  for (let frame = spool.peek(); frame; frame = spool.peek()) {
    const content = spool.take(frame)
    out.push([content.id, (JSON.parse(content.lines[0] as string) as { i: number }).i, content.lines.length])
    spool.done(frame)
  }
  return out
}

/** Makes a live-looking spool look like it belonged to a process that died (a crash, kill -9). */
function orphan(spool: DiskSpool): void {
  writeFileSync(join(spool.dir, OWNER_FILE), JSON.stringify({ pid: DEAD_PID, host: hostname(), instance: 'x', createdAt: 0 }))
}

function segmentsIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg'))
}

describe('DiskSpool', () => {
  describe('append and read back', () => {
    it('gives frames back in order with their ids, and deletes segments once every frame is done', async () => {
      const dir = await tempDir()
      const spool = open(dir, { maxBytes: 1024 * 1024 })
      append(spool, 'a', 0, 3)
      append(spool, 'b', 3, 2)
      expect(spool.unreadRecords).toBe(5)
      expect(drain(spool)).toEqual([
        ['a', 0, 3],
        ['b', 3, 2],
      ])
      expect(spool.stats()).toMatchObject({ unreadRecords: 0 })
      spool.close()
      // Nothing left: the instance directory is gone too.
      expect(readdirSync(join(dir, 'http'))).toEqual([])
    })

    it('puts a batch in front as in flight: not read again, and ahead of appended ones after a restart', async () => {
      const dir = await tempDir()
      const first = open(dir)
      append(first, 'tail-1', 10, 1)
      const front = append(first, 'front', 0, 1, 'front')
      expect(front.state).toBe('inflight')
      expect(first.peek()?.id).toBe('tail-1')
      first.close()

      const second = open(dir)
      expect(second.stats().recoveredRecords).toBe(2)
      expect(drain(second).map(([id]) => id)).toEqual(['front', 'tail-1'])
    })

    it('creates the directories owner-only and the files read-write for the owner only', async () => {
      const dir = await tempDir()
      const spool = open(join(dir, 'new'))
      append(spool, 'a', 0, 1)
      const mode = (p: string): number => statSync(p).mode & 0o777
      expect(mode(join(dir, 'new'))).toBe(0o700)
      expect(mode(spool.dir)).toBe(0o700)
      for (const name of readdirSync(spool.dir)) expect(mode(join(spool.dir, name)), name).toBe(0o600)
    })

    it('names each sender directory safely, one name to one directory', () => {
      expect(spoolDirName('http')).toBe('http')
      expect(spoolDirName('../etc')).toBe('%2e%2e%2fetc')
      expect(spoolDirName('a b')).not.toBe(spoolDirName('a_b'))
      expect(spoolDirName('')).toBe('%')
    })
  })

  describe('restart', () => {
    it('a clean close leaves unsent frames; the next start sends them first, acked ones never again', async () => {
      const dir = await tempDir()
      const first = open(dir)
      const sent = append(first, 'sent', 0, 2)
      append(first, 'left', 2, 3)
      first.take(sent)
      first.done(sent)
      first.close()

      const second = open(dir)
      expect(second.stats()).toMatchObject({ recoveredRecords: 3, unreadRecords: 3 })
      expect(drain(second)).toEqual([['left', 2, 3]])
    })

    it('adopts the directory of a crashed process (owner gone), oldest records first', async () => {
      const dir = await tempDir()
      const crashed = new DiskSpool(options(dir), 'http', () => undefined)
      append(crashed, 'old-1', 0, 2)
      const inflight = crashed.peek() as SpoolFrame
      crashed.take(inflight) // in flight at the crash: not acked, so sent again
      append(crashed, 'old-2', 2, 2)
      orphan(crashed)
      // No close(): the process "died" with its files open.

      const next = open(dir)
      append(next, 'new', 4, 1)
      expect(drain(next)).toEqual([
        ['old-1', 0, 2],
        ['old-2', 2, 2],
        ['new', 4, 1],
      ])
    })

    it('does not adopt the directory of a live owner (another process or sender using the same spool)', async () => {
      const dir = await tempDir()
      const live = open(dir)
      append(live, 'theirs', 0, 2)
      const other = open(dir)
      expect(other.stats().recoveredRecords).toBe(0)
      expect(other.dir).not.toBe(live.dir)
      append(other, 'mine', 10, 1)
      expect(drain(other)).toEqual([['mine', 10, 1]])
      expect(drain(live)).toEqual([['theirs', 0, 2]])
    })

    it('takes over what a process on another host left (a container with a new host name), unless told not to', async () => {
      const dir = await tempDir()
      const elsewhere = new DiskSpool(options(dir), 'http', () => undefined)
      append(elsewhere, 'theirs', 0, 2)
      // Written by a live-looking process on another host: its liveness cannot be checked from here.
      writeFileSync(join(elsewhere.dir, OWNER_FILE), JSON.stringify({ pid: process.pid, host: `old-${hostname()}`, instance: 'x', createdAt: 0 }))
      const shared = open(dir, { adoptOtherHosts: false })
      expect(shared.stats().recoveredRecords).toBe(0)
      const next = open(dir)
      expect(drain(next)).toEqual([['theirs', 0, 2]])
    })

    it('adopts a directory whose owner was adopted in turn, keeping the oldest first', async () => {
      const dir = await tempDir()
      const a = new DiskSpool(options(dir), 'http', () => undefined)
      append(a, 'a', 0, 1)
      orphan(a)
      const b = new DiskSpool(options(dir), 'http', () => undefined)
      append(b, 'b', 1, 1)
      orphan(b)
      const c = open(dir)
      expect(drain(c).map(([id]) => id)).toEqual(['a', 'b'])
    })

    it('removes the staging directory of a start that crashed, but not one being created right now', async () => {
      const dir = await tempDir()
      const root = join(dir, 'http')
      mkdirSync(join(root, '.new-crashed'), { recursive: true })
      writeFileSync(join(root, '.new-crashed', OWNER_FILE), JSON.stringify({ pid: DEAD_PID, host: hostname(), instance: 'c', createdAt: 0 }))
      // Another process's start, between making its directory and writing its owner file.
      mkdirSync(join(root, '.new-starting'))
      open(dir)
      expect(existsSync(join(root, '.new-crashed'))).toBe(false)
      expect(existsSync(join(root, '.new-starting'))).toBe(true)
    })

    it('tells a reused pid from its owner: same pid, another start time, is an earlier process', () => {
      expect(isAlive({ pid: process.pid, host: hostname(), start: 'another boot:1', instance: 'x', createdAt: 0 })).toBe(
        process.platform !== 'linux',
      )
      expect(isAlive({ pid: DEAD_PID, host: hostname(), instance: 'x', createdAt: 0 })).toBe(false)
      // Another host's process cannot be checked: taken over by default (containers change host
      // names), left alone with adoptOtherHosts: false (hosts sharing the directory).
      expect(isAlive({ pid: DEAD_PID, host: `not-${hostname()}`, instance: 'x', createdAt: 0 })).toBe(false)
      expect(isAlive({ pid: process.pid, host: `not-${hostname()}`, instance: 'x', createdAt: 0 }, false)).toBe(true)
    })
  })

  describe('torn and corrupt files', () => {
    it('skips a torn tail (a crash mid-append) and counts it, keeping every whole frame', async () => {
      const dir = await tempDir()
      const crashed = new DiskSpool(options(dir), 'http', () => undefined)
      append(crashed, 'a', 0, 2)
      append(crashed, 'b', 2, 2)
      orphan(crashed)
      const [segment] = segmentsIn(crashed.dir)
      const path = join(crashed.dir, segment as string)
      const torn = encodeFrame(batch('c', 4, 2)).subarray(0, 30)
      appendFileSync(path, torn)

      const next = open(dir)
      expect(next.stats()).toMatchObject({ recoveredRecords: 4, corruptBytes: 30, corruptRegions: 1 })
      expect(drain(next).map(([id]) => id)).toEqual(['a', 'b'])
    })

    it('skips a corrupt frame in the middle and finds the next good one', async () => {
      const dir = await tempDir()
      const crashed = new DiskSpool(options(dir), 'http', () => undefined)
      const a = append(crashed, 'a', 0, 2)
      const b = append(crashed, 'b', 2, 2)
      append(crashed, 'c', 4, 2)
      orphan(crashed)
      const path = join(crashed.dir, segmentsIn(crashed.dir)[0] as string)
      const data = readFileSync(path)
      data[b.offset + 20] = (data[b.offset + 20] as number) ^ 0xff
      writeFileSync(path, data)

      const next = open(dir)
      expect(next.stats()).toMatchObject({ recoveredRecords: 4, corruptBytes: b.size, corruptRegions: 1 })
      expect(drain(next).map(([id]) => id)).toEqual(['a', 'c'])
      expect(a.offset).toBe(0)
    })

    it('survives a segment of pure garbage and an empty one, and removes them', async () => {
      const dir = await tempDir()
      const crashed = new DiskSpool(options(dir), 'http', () => undefined)
      append(crashed, 'a', 0, 1)
      orphan(crashed)
      writeFileSync(join(crashed.dir, '100000000005.seg'), Buffer.alloc(5000, 0x41))
      writeFileSync(join(crashed.dir, '100000000006.seg'), '')
      writeFileSync(join(crashed.dir, 'not-a-segment.txt'), 'ignored')

      const next = open(dir)
      expect(next.stats()).toMatchObject({ recoveredRecords: 1, corruptBytes: 5000, corruptRegions: 1 })
      expect(drain(next).map(([id]) => id)).toEqual(['a'])
    })

    it('a frame damaged after start-up is dropped when read, not sent as garbage', async () => {
      const dir = await tempDir()
      const spool = open(dir)
      const frame = append(spool, 'a', 0, 2)
      append(spool, 'b', 2, 1)
      truncateSync(join(spool.dir, segmentsIn(spool.dir)[0] as string), 10)
      expect(() => spool.take(frame)).toThrow()
      expect(frame.state).toBe('done')
      expect(spool.stats()).toMatchObject({ corruptRegions: 1, unreadRecords: 1 })
    })

    it('ignores a torn ack entry: that frame is sent again rather than lost', async () => {
      const dir = await tempDir()
      const crashed = new DiskSpool(options(dir), 'http', () => undefined)
      const a = append(crashed, 'a', 0, 1)
      append(crashed, 'b', 1, 1)
      crashed.take(a)
      crashed.done(a)
      orphan(crashed)
      const ack = join(crashed.dir, (segmentsIn(crashed.dir)[0] as string).replace('.seg', '.ack'))
      expect(readFileSync(ack)).toHaveLength(4)
      appendFileSync(ack, Buffer.from([1, 2]))

      const next = open(dir)
      expect(drain(next).map(([id]) => id)).toEqual(['b'])
    })
  })

  describe('maxBytes', () => {
    it('evicts the oldest unread frames to make room, and reports each one', async () => {
      const dir = await tempDir()
      const evicted: SpoolFrame[] = []
      const spool = open(dir, { maxBytes: 256 * 1024 }, evicted)
      // Segments close at 64 KiB; frames of ~20 KiB.
      let i = 0
      for (let n = 0; n < 40; n++, i += 800) append(spool, `f${n}`, i, 800)
      expect(spool.stats().bytes).toBeLessThanOrEqual(256 * 1024)
      expect(evicted.length).toBeGreaterThan(0)
      const kept = drain(spool)
      // The newest survive, in order; evicted + kept = everything, nothing twice.
      expect(kept.at(-1)?.[0]).toBe('f39')
      expect(evicted.map((f) => f.id).concat(kept.map(([id]) => id))).toEqual(Array.from({ length: 40 }, (_, n) => `f${n}`))
      expect(evicted.reduce((sum, f) => sum + f.count, 0) + kept.reduce((sum, [, , n]) => sum + n, 0)).toBe(40 * 800)
    })

    it('refuses a single batch larger than the whole spool', async () => {
      const dir = await tempDir()
      const spool = open(dir, { maxBytes: 256 * 1024 })
      const result = spool.append({ id: 'x', levels: [30], lines: ['x'.repeat(300 * 1024)] }, 1, 'tail')
      expect('error' in result && String(result.error)).toMatch(/no room for a batch of \d+ bytes in spool.maxBytes/)
      expect(spool.unreadRecords).toBe(0)
    })
  })

  describe('fsync', () => {
    it('always: writes reach the file before append returns (the same bytes a reader sees)', async () => {
      const dir = await tempDir()
      const spool = open(dir, { fsync: 'always' })
      const frame = append(spool, 'a', 0, 2)
      const data = readFileSync(join(spool.dir, segmentsIn(spool.dir)[0] as string))
      expect(data.subarray(frame.offset, frame.offset + frame.size)).toEqual(encodeFrame(batch('a', 0, 2)))
    })
  })

  it('reports a directory it cannot create by throwing at start-up', async () => {
    const dir = await tempDir()
    writeFileSync(join(dir, 'file'), 'not a directory')
    expect(() => new DiskSpool(options(join(dir, 'file')), 'http', () => undefined)).toThrow()
    expect(existsSync(join(dir, 'file', 'http'))).toBe(false)
  })
})
