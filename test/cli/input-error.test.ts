import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { CLI_MAIN } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: a stdin that fails', () => {
  it('exits 1 and its tally says so (not "exit 0: every record delivered")', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    // A directory as stdin: every read fails with EISDIR.
    const fd = openSync(dir, 'r')
    const child = spawn(process.execPath, [CLI_MAIN, '--url', sink.url, '--quiet'], { cwd: PROJECT_ROOT, stdio: [fd, 'ignore', 'pipe'] })
    closeSync(fd)
    let stderr = ''
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(1)
    expect(stderr).toContain('input failed (EISDIR')
    const last = stderr.trim().split('\n').at(-1)
    expect(last).toMatch(/^pino-courier: exit 1: the input failed/)
    expect(stderr).not.toContain('exit 0')
  })
})
