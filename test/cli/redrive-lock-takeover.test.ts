/**
 * Taking over the lock a killed redrive left: two runs may find the same stale lock at once. The one
 * that looks second must not remove the lock the first has just placed (both would then send every
 * line). Here the other run takes the stale lock over right after this one read it.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type * as Fs from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'

/** Runs after the next read of a lock file (the read returns what was there before). */
const afterLockRead: { hook: (() => void) | undefined } = { hook: undefined }

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof Fs>()
  const readFileSync = ((...args: Parameters<typeof actual.readFileSync>) => {
    const data = actual.readFileSync(...args)
    if (typeof args[0] === 'string' && args[0].endsWith('.redrive.lock') && afterLockRead.hook) {
      const hook = afterLockRead.hook
      afterLockRead.hook = undefined
      hook()
    }
    return data
  }) as typeof actual.readFileSync
  return { ...actual, default: { ...actual, readFileSync }, readFileSync }
})

const { RedriveLock, RedriveLockedError } = await import('../../src/cli/redrive/redrive-lock.js')

const cleanups = useCleanups()

describe('RedriveLock takeover', () => {
  it('does not remove a lock another run placed after this one found the stale lock', async () => {
    const dir = await cleanups.tempDir()
    const path = join(dir, 'dead.ndjson')
    writeFileSync(path, '')
    const lock = join(dir, '.dead.ndjson.redrive.lock')
    // Left by a killed run (a pid that cannot be running).
    writeFileSync(lock, '2147483646\n')
    // The other run: a live process that takes the stale lock over first.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    cleanups.defer(() => other.kill('SIGKILL'))
    afterLockRead.hook = () => {
      rmSync(lock)
      writeFileSync(lock, `${other.pid}\n`)
    }
    expect(() => RedriveLock.take(path)).toThrow(RedriveLockedError)
    expect(readFileSync(lock, 'utf8')).toBe(`${other.pid}\n`)
  })

  it('removes what a run killed while placing or taking over the lock left, and only that', async () => {
    const dir = await cleanups.tempDir()
    const path = join(dir, 'dead.ndjson')
    writeFileSync(path, '')
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    cleanups.defer(() => other.kill('SIGKILL'))
    for (const name of ['.dead.ndjson.redrive.lock.2147483646', '.dead.ndjson.redrive.lock.stale-2147483645', `.dead.ndjson.redrive.lock.${other.pid}`]) {
      writeFileSync(join(dir, name), '1\n')
    }
    RedriveLock.take(path).release()
    expect(readdirSync(dir).sort()).toEqual([`.dead.ndjson.redrive.lock.${other.pid}`, 'dead.ndjson'])
  })
})
