import { mkdir, open, readdir, readFile, readlink, rename, rmdir, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { createRecord } from '../../../src/input/record.js'
import { createSenders } from '../../../src/sinks/registry.js'
import { createFileSender, type FileSender, type FileSenderOptions } from '../../../src/sinks/file/file-sender.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { makeTempDir } from '../../helpers/temp-dir.js'
import { configErrorOf } from '../../helpers/config-error.js'

type FailureEvent = SenderEvents['failure'][0]

/** Every record the sender received is delivered, failed, dropped, queued or in flight. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

const line = (i: number): string => `{"level":30,"time":${1_700_000_000_000 + i},"msg":"m${i}","i":${i}}`
const ndjson = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('')

let dir = ''
let cleanup: () => Promise<void> = () => Promise.resolve()
const senders: FileSender[] = []

beforeEach(async () => {
  ;({ dir, cleanup } = await makeTempDir('pino-courier-file-'))
})

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
  await cleanup()
})

/** A sender whose batches leave only on flush() (or a full batch), with fast retries. */
function sender(options: FileSenderOptions): FileSender {
  const created = createFileSender({
    batch: { maxWaitMs: 60_000 },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  })
  senders.push(created)
  return created
}

function sendLines(target: FileSender, lines: readonly string[]): void {
  for (const text of lines) expect(target.send(createRecord(text))).toBe(true)
}

/** File descriptors of this process that point at `path` (Linux /proc). */
async function openDescriptors(path: string): Promise<number> {
  let count = 0
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '')
    if (target === path) count++
  }
  return count
}

describe('FileSender', () => {
  describe('append', () => {
    it('appends NDJSON exactly, creating missing parent directories', async () => {
      const path = join(dir, 'a', 'b', 'c', 'app.ndjson')
      const file = sender({ path })
      expect(file.path).toBe(path)
      const odd = '{"msg":"raw, not re-serialized","n":1.0,"level":40, "x" : "caf\\u00e9"}'
      sendLines(file, [line(1), line(2), odd])
      await file.flush()
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2), odd))

      sendLines(file, [line(4)])
      await file.flush()
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2), odd, line(4)))
      expect(file.stats()).toMatchObject({ received: 4, delivered: 4, failed: 0, attempts: 2 })
      expect(file.stats().deliveredBytes).toBe(Buffer.byteLength(ndjson(line(1), line(2), odd, line(4))))
      expectLedger(file.stats())
    })

    it('appends to an existing file without truncating it', async () => {
      const path = join(dir, 'existing.ndjson')
      await writeFile(path, 'kept line one\nkept line two\n')
      const file = sender({ path })
      sendLines(file, [line(1), line(2)])
      await file.flush()
      expect(await readFile(path, 'utf8')).toBe(`kept line one\nkept line two\n${ndjson(line(1), line(2))}`)
      expectLedger(file.stats())
    })

    it('with mkdir: false, a missing parent directory is a ConfigError at construction, naming path', async () => {
      const path = join(dir, 'missing', 'app.ndjson')
      // Before: the sender was made and every batch was retried for seconds, then failed (ENOENT).
      const error = configErrorOf(() => createFileSender({ path, mkdir: false }))
      expect(error.paths).toEqual(['path'])
      expect(error.message).toBe(
        `pino-courier: invalid options: path: the directory "${join(dir, 'missing')}" does not exist (with mkdir: false it must exist: create it, or set mkdir: true)`,
      )
      // Through the factory (the transport's options), the path names the sender.
      const fromSpecs = await createSenders([{ type: 'file', path: join(dir, 'ok.ndjson') }, { type: 'file', path, mkdir: false }], {}).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(fromSpecs).toBeInstanceOf(ConfigError)
      expect((fromSpecs as ConfigError).paths).toEqual(['senders[1].path'])
      expect((fromSpecs as ConfigError).message).toBe(
        `pino-courier: invalid options: senders[1].path: the directory "${join(dir, 'missing')}" does not exist (with mkdir: false it must exist: create it, or set mkdir: true)`,
      )
      // Nothing was created, and with mkdir (the default) the same path is fine.
      await expect(stat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' })
      const made = sender({ path })
      sendLines(made, [line(1)])
      await made.flush()
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1)))
    })

    it('creates a new file with mode 0o600, and leaves an existing file’s mode alone', async () => {
      const path = join(dir, 'private.ndjson')
      const file = sender({ path, mode: 0o600 })
      sendLines(file, [line(1)])
      await file.flush()
      expect((await stat(path)).mode & 0o777).toBe(0o600)
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1)))
      expectLedger(file.stats())

      const existingPath = join(dir, 'existing.ndjson')
      await writeFile(existingPath, '', { mode: 0o640 })
      const existing = sender({ path: existingPath, mode: 0o600 })
      sendLines(existing, [line(2)])
      await existing.flush()
      expect((await stat(existingPath)).mode & 0o777).toBe(0o640)
      expectLedger(existing.stats())
    })

    it('fsync: true syncs after every batch; the default does not', async () => {
      // FileHandle is not exported: spy on the prototype of a real one.
      const probe = await open(join(dir, 'probe'), 'a')
      const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void> }
      await probe.close()
      const datasync = vi.spyOn(proto, 'datasync')

      const plain = sender({ path: join(dir, 'plain.ndjson') })
      sendLines(plain, [line(1)])
      await plain.flush()
      expect(datasync).toHaveBeenCalledTimes(0)

      const path = join(dir, 'durable.ndjson')
      const durable = sender({ path, fsync: true })
      sendLines(durable, [line(1), line(2)])
      await durable.flush()
      sendLines(durable, [line(3)])
      await durable.flush()
      expect(datasync).toHaveBeenCalledTimes(2)
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2), line(3)))
      expect(durable.stats()).toMatchObject({ received: 3, delivered: 3 })
      expectLedger(plain.stats())
      expectLedger(durable.stats())
    })
  })

  describe('close and reopen', () => {
    it('close() delivers the rest and releases the file handle', async () => {
      const path = join(dir, 'app.ndjson')
      const file = sender({ path })
      sendLines(file, [line(1)])
      await file.flush()
      expect(await openDescriptors(path)).toBe(1)

      sendLines(file, [line(2)])
      const report = await file.close()
      expect(report).toMatchObject({ name: 'file', timedOut: false, undelivered: 0, abandonedAtDeadline: 0 })
      expect(await openDescriptors(path)).toBe(0)
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2)))

      // After close a send is counted as dropped and never written.
      sendLines(file, [line(3)])
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2)))
      const stats = file.stats()
      expect(stats).toMatchObject({ received: 3, delivered: 2, dropped: { closed: 1, overflow: 0, oversize: 0 } })
      expectLedger(stats)
    })

    it('reopen() after the file was renamed (rotation) sends the next batch to a new file at the path', async () => {
      const path = join(dir, 'app.ndjson')
      const rotated = join(dir, 'app.ndjson.1')
      const file = sender({ path })
      sendLines(file, [line(1), line(2)])
      await file.flush()

      await rename(path, rotated)
      file.reopen()
      sendLines(file, [line(3)])
      await file.flush()

      expect(await readFile(rotated, 'utf8')).toBe(ndjson(line(1), line(2)))
      expect(await readFile(path, 'utf8')).toBe(ndjson(line(3)))
      await file.close()
      expect(await openDescriptors(path)).toBe(0)
      expect(await openDescriptors(rotated)).toBe(0)
      expect(file.stats()).toMatchObject({ received: 3, delivered: 3, failed: 0 })
      expectLedger(file.stats())
    })

    it('without reopen(), a renamed file keeps receiving (why rotation needs reopen)', async () => {
      const path = join(dir, 'app.ndjson')
      const rotated = join(dir, 'app.ndjson.1')
      const file = sender({ path })
      sendLines(file, [line(1)])
      await file.flush()
      await rename(path, rotated)
      sendLines(file, [line(2)])
      await file.flush()

      expect(await readFile(rotated, 'utf8')).toBe(ndjson(line(1), line(2)))
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
      expectLedger(file.stats())
    })
  })

  describe('failures', () => {
    it('a path that is a directory fails permanently (EISDIR), counted, no crash', async () => {
      const path = join(dir, 'is-a-dir')
      await mkdir(path)
      const failures: FailureEvent[] = []
      const file = sender({ path })
      file.on('failure', (f) => failures.push(f))
      sendLines(file, [line(1), line(2)])
      await file.flush()

      const stats = file.stats()
      expect(stats).toMatchObject({ received: 2, delivered: 0, failed: 2, retried: 0, attempts: 1 })
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ sender: 'file', records: 2, attempts: 1, reason: 'permanent' })
      expect(failures[0]!.error).toContain('EISDIR')
      expect(failures[0]!.error).toContain(`cannot append to ${path}`)
      expect((await stat(path)).isDirectory()).toBe(true)
      expectLedger(stats)

      // The sender keeps working: later batches are tried (and fail) on their own.
      sendLines(file, [line(3)])
      await file.flush()
      expect(file.stats()).toMatchObject({ received: 3, failed: 3, attempts: 2 })
      expectLedger(file.stats())
    })

    it('a parent that is a regular file fails permanently (ENOTDIR) with mkdir, and is a ConfigError without', async () => {
      const parent = join(dir, 'plain-file')
      await writeFile(parent, 'not a directory\n')
      const file = sender({ path: join(parent, 'app.ndjson') })
      sendLines(file, [line(1)])
      await file.flush()
      const stats = file.stats()
      expect(stats).toMatchObject({ received: 1, delivered: 0, failed: 1, retried: 0, attempts: 1 })
      expect(stats.recentFailures[0]).toMatchObject({ reason: 'permanent', records: 1, attempts: 1 })
      expect(stats.recentFailures[0]!.error).toContain('ENOTDIR')
      expectLedger(stats)
      expect(configErrorOf(() => createFileSender({ path: join(parent, 'app.ndjson'), mkdir: false })).message).toMatch(
        /path: the directory ".*plain-file" is not a directory \(with mkdir: false it must exist/,
      )
      expect(await readFile(parent, 'utf8')).toBe('not a directory\n')
    })

    it('a transient failure is retried: the file appears between attempts and the batch lands once', async () => {
      const parent = join(dir, 'later')
      const path = join(parent, 'app.ndjson')
      // The directory exists when the sender is made (mkdir: false checks that), then goes away while
      // it runs: ENOENT at runtime stays transient, since the directory may well come back.
      await mkdir(parent)
      const file = sender({ path, mkdir: false, retry: { maxAttempts: 1000, baseDelayMs: 5, maxDelayMs: 10 } })
      await rmdir(parent)
      const firstRetry = new Promise<void>((resolve) => file.once('retry', () => resolve()))
      sendLines(file, [line(1), line(2)])
      const flushed = file.flush()
      await firstRetry
      await mkdir(parent)
      await flushed

      expect(await readFile(path, 'utf8')).toBe(ndjson(line(1), line(2)))
      const stats = file.stats()
      expect(stats).toMatchObject({ received: 2, delivered: 2, failed: 0 })
      expect(stats.attempts).toBeGreaterThanOrEqual(2)
      expect(stats.retried).toBe(2 * (stats.attempts - 1))
      expectLedger(stats)
    })
  })

  describe('options', () => {
    it('rejects bad options with a ConfigError naming the path', () => {
      expect(() => createFileSender({ path: '' })).toThrow(ConfigError)
      expect(() => createFileSender({ path: '' })).toThrow(/invalid options: path: /)
      expect(() => createFileSender({ path: 'x', mode: 0o10000 })).toThrow(/mode: /)
      expect(() => createFileSender({ path: 'x', bogus: true } as FileSenderOptions)).toThrow(/bogus/)
    })

    it('resolves a relative path and uses the short default batch wait', async () => {
      const file = sender({ path: relative(process.cwd(), join(dir, 'x', '..', 'rel.ndjson')), batch: undefined })
      expect(file.path).toBe(join(dir, 'rel.ndjson'))
      expect(file.options.batch.maxWaitMs).toBe(100)
      // The age limit alone sends the batch: no flush() call.
      sendLines(file, [line(1)])
      await vi.waitFor(async () => expect(await readFile(file.path, 'utf8').catch(() => '')).toBe(ndjson(line(1))), {
        timeout: 30_000,
        interval: 20,
      })
      expect(file.stats()).toMatchObject({ received: 1, delivered: 1 })
      expectLedger(file.stats())
    })
  })
})
