/**
 * The pieces of redrive that keep the file safe, on real files: the remainder written beside the file
 * and renamed over it (appends that race the rename, a file replaced or truncated meanwhile), and the
 * lock that keeps two redrives of one file apart.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RedriveLock, RedriveLockedError } from '../../src/cli/redrive/redrive-lock.js'
import { writeRemainder } from '../../src/cli/redrive/remainder.js'
import { useCleanups } from '../helpers/cleanups.js'

const cleanups = useCleanups()

/** A file of lines "a".."e" (2 bytes each) opened for reading, as redrive opens it. */
async function fileOfFiveLines(): Promise<{ path: string; fd: number }> {
  const dir = await cleanups.tempDir()
  const path = join(dir, 'dead.ndjson')
  writeFileSync(path, 'a\nb\nc\nd\ne\n', { mode: 0o640 })
  const fd = openSync(path, 'r')
  cleanups.defer(() => closeSync(fd))
  return { path, fd }
}

describe('writeRemainder', () => {
  it('keeps the ranges asked for, then what was appended, with the file’s mode, and copies appends that race the rename', async () => {
    const { path, fd } = await fileOfFiveLines()
    const opened = fstatSync(fd)
    // An app holding the file open for appends, as a dead-letter writer does.
    const app = openSync(path, 'a')
    cleanups.defer(() => closeSync(app))
    writeSync(app, 'f\n')
    // Lines b and d kept (bytes 2-4 and 6-8), the rest delivered; reading stopped after "e".
    const writing = writeRemainder(path, fd, opened, [{ start: 2, end: 4 }, { start: 6, end: 8 }], 10)
    // The rename is done and the command waits for late appends: the app writes to the old file now.
    writeSync(app, 'g\n')
    const result = await writing
    expect(result).toEqual({ written: true, tailBytes: 4 })
    expect(readFileSync(path, 'utf8')).toBe('b\nd\nf\ng\n')
    expect(statSync(path).mode & 0o777).toBe(0o640)
    expect(statSync(path).ino).not.toBe(opened.ino)
    expect(readdirSync(join(path, '..'))).toEqual(['dead.ndjson'])
  })

  it('gives a kept last line without a newline one before what follows', async () => {
    const dir = await cleanups.tempDir()
    const path = join(dir, 'saved.ndjson')
    writeFileSync(path, 'a\nb')
    const fd = openSync(path, 'r')
    cleanups.defer(() => closeSync(fd))
    const result = await writeRemainder(path, fd, fstatSync(fd), [{ start: 2, end: 3 }], 3)
    expect(result).toEqual({ written: true, tailBytes: 0 })
    expect(readFileSync(path, 'utf8')).toBe('b\n')
  })

  it('leaves the file alone when it was moved away or truncated meanwhile', async () => {
    const moved = await fileOfFiveLines()
    renameSync(moved.path, `${moved.path}.1`)
    writeFileSync(moved.path, 'other\n')
    const result = await writeRemainder(moved.path, moved.fd, fstatSync(moved.fd), [], 10)
    expect(result).toEqual({ written: false, reason: expect.stringMatching(/moved, removed or replaced/) as unknown })
    expect(readFileSync(moved.path, 'utf8')).toBe('other\n')
    expect(readFileSync(`${moved.path}.1`, 'utf8')).toBe('a\nb\nc\nd\ne\n')

    const truncated = await fileOfFiveLines()
    const opened = fstatSync(truncated.fd)
    truncateSync(truncated.path, 4)
    const after = await writeRemainder(truncated.path, truncated.fd, opened, [], 10)
    expect(after).toEqual({ written: false, reason: expect.stringMatching(/truncated/) as unknown })
    expect(readFileSync(truncated.path, 'utf8')).toBe('a\nb\n')
    expect(readdirSync(join(truncated.path, '..'))).toEqual(['dead.ndjson'])
  })
})

describe('RedriveLock', () => {
  it('refuses a second redrive of a file while the first holds it, and takes over a dead one’s lock', async () => {
    const dir = await cleanups.tempDir()
    const path = join(dir, 'dead.ndjson')
    writeFileSync(path, '')
    const first = RedriveLock.take(path)
    expect(() => RedriveLock.take(path)).toThrow(RedriveLockedError)
    first.release()
    RedriveLock.take(path).release()

    // A lock and a temp file left by a killed run (a pid that cannot be running).
    writeFileSync(join(dir, '.dead.ndjson.redrive.lock'), '2147483646\n')
    writeFileSync(join(dir, '.dead.ndjson.redrive-2147483646.tmp'), 'partial')
    const taken = RedriveLock.take(path)
    expect(readdirSync(dir).sort()).toEqual(['.dead.ndjson.redrive.lock', 'dead.ndjson'])
    taken.release()
    expect(readdirSync(dir)).toEqual(['dead.ndjson'])
  })
})
