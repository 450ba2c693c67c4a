/**
 * A second SIGTERM while redrive replaces FILE: FILE has been renamed into place and the lines an app
 * appended to its old version meanwhile are still to be copied over (redrive waits a moment for them).
 * Quitting at once there lost them; the second signal now waits for the copy to end.
 */
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const CLI = 'dist/cli/main.js'
const cleanups = useCleanups()

describe('redrive and a second signal', () => {
  it('does not lose the lines appended to the old FILE when a second SIGTERM comes while it is replaced', async (context) => {
    const dir = await cleanups.tempDir()
    const file = join(dir, 'dead.ndjson')
    writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ level: 30, i })).join('\n') + '\n')
    const { ino } = statSync(file)
    // An app appending to FILE, as its dead-letter writer does: it keeps the old file open.
    const app = openSync(file, 'a')
    cleanups.defer(() => closeSync(app))
    let appended = false
    const sink = await cleanups.sink(() => {
      if (!appended) {
        appended = true
        // FILE grows while the redrive runs: it will wait for appends racing its rename.
        writeSync(app, '{"level":30,"late":"a"}\n')
      }
      return undefined
    })

    const redrive = startNode(CLI, ['redrive', file, '--url', sink.url], { timeoutMs: 60_000 })
    cleanups.defer(() => redrive.running && redrive.signal('SIGKILL'))
    // The rename: FILE is another inode now.
    while (redrive.running && statSync(file).ino === ino) await new Promise((resolve) => setTimeout(resolve, 1))
    if (!redrive.running) {
      context.skip()
      return
    }
    // Appended to the old file after the rename and its first copy of late appends (redrive waits
    // 200 ms for more), then stopped twice.
    await new Promise((resolve) => setTimeout(resolve, 50))
    writeSync(app, '{"level":30,"late":"b"}\n')
    redrive.signal('SIGTERM')
    // Apart: two signals sent at once may arrive as one.
    await new Promise((resolve) => setTimeout(resolve, 40))
    redrive.signal('SIGTERM')
    const result = await redrive.result
    expect(result.code).toBe(130)
    expect(readFileSync(file, 'utf8')).toBe('{"level":30,"late":"a"}\n{"level":30,"late":"b"}\n')
  })
})
