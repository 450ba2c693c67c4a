/**
 * redrive takes its lock before it opens FILE. Opened first, a run could read the version of FILE a
 * finishing run was replacing (the finishing run renames its remainder over FILE, then lets the lock
 * go): it then re-sent the lines that run had just delivered. Here another redrive (a live process
 * holding the lock) finishes exactly while FILE is being opened.
 */
import { spawn } from 'node:child_process'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import type * as FsPromises from 'node:fs/promises'

/** What happens while FILE is opened (after the open itself): set by the test. */
const duringOpen: { hook: (() => void) | undefined } = { hook: undefined }

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>()
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args)
      const hook = duringOpen.hook
      duringOpen.hook = undefined
      hook?.()
      return handle
    },
  }
})

const { Courier } = await import('../../src/input/courier.js')
const { MemorySender } = await import('../../src/sinks/memory/memory-sender.js')
const { redrive, RedriveUsageError } = await import('../../src/cli/redrive/redrive.js')

const cleanups = useCleanups()

describe('redrive lock order', () => {
  it('does not send the lines of a version of FILE that a finishing redrive replaced meanwhile', async () => {
    const dir = await cleanups.tempDir()
    const file = join(dir, 'dead.ndjson')
    writeFileSync(file, '{"level":30,"i":1}\n{"level":30,"i":2}\n')
    // The other redrive: a live process holding FILE's lock; it delivered both lines, so its remainder is empty.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    cleanups.defer(() => other.kill('SIGKILL'))
    const lock = join(dirname(file), `.${basename(file)}.redrive.lock`)
    writeFileSync(lock, `${other.pid}\n`)
    const remainder = join(dir, '.other-remainder')
    writeFileSync(remainder, '')
    duringOpen.hook = () => {
      renameSync(remainder, file)
      rmSync(lock)
    }

    let sender: InstanceType<typeof MemorySender> | undefined
    const run = redrive({
      file,
      deadLetterPaths: [],
      createCourier: (observer) => {
        sender = new MemorySender({}, { observer })
        return new Courier({ senders: [sender] })
      },
    })
    // Refused (the lock was held when it looked) or run on the new, empty FILE: never the old lines again.
    const result = await run.then(
      (report) => report,
      (error: unknown) => {
        if (error instanceof RedriveUsageError) return undefined
        throw error
      },
    )
    expect(sender?.lines() ?? []).toEqual([])
    if (result) expect(result.sent).toBe(0)
  })
})
