/**
 * A log call after the transport ended, in a real child process. thread-stream answers such a write
 * with an 'error' event on the main thread, which crashed an app without an 'error' listener ("the
 * worker is ending"), and the line was counted nowhere. `createCourierTransport()` now counts such
 * lines (`transport.linesAfterEnd`), warns on stderr (throttled), and keeps the app alive; an app with
 * its own 'error' listener still gets the error.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNdjson } from '../fixtures/integration.js'
import { runCommand } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const { tempDir } = useCleanups()

/**
 * The app: logs one record, ends the transport (which blocks until the worker has closed), logs
 * `after` more, then prints `after-end <linesAfterEnd>` and exits 0 on the next timer. Arguments:
 * <log path> <JSON: { after, listen, stderr }>.
 */
const APP = `
import pino from 'pino'
import { createCourierTransport } from 'pino-courier'
const [path, json] = process.argv.slice(1)
const { after, listen, stderr } = JSON.parse(json)
const transport = createCourierTransport({ senders: [{ type: 'file', path }], stderr })
if (listen) transport.on('error', (error) => process.stdout.write('error ' + error.message + '\\n'))
const logger = pino(transport)
logger.info({ i: 0 }, 'before end')
transport.end()
for (let i = 1; i <= after; i++) logger.info({ i }, 'after end')
setTimeout(() => {
  process.stdout.write('after-end ' + transport.linesAfterEnd + '\\n')
  process.exit(0)
}, 200)
`

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runApp(path: string, options: { after: number; listen?: boolean; stderr?: boolean }): Promise<Run> {
  // --eval resolves 'pino-courier' from the working directory: the package itself (dist/, built).
  return runCommand(process.execPath, ['--input-type=module', '--eval', APP, path, JSON.stringify(options)], { timeoutMs: 30_000 })
}

const describeRun = (run: Run): string => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
const afterEndLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.includes('after the transport ended'))

describe('a log call after end()', () => {
  it('does not crash the app; the lines are counted and reported once on stderr, then summed up at exit', async () => {
    const path = join(await tempDir(), 'app.log')
    const run = await runApp(path, { after: 3 })

    // Before: exit 1 with "Error: the worker is ending" (thread-stream's unhandled 'error').
    expect(run.code, describeRun(run)).toBe(0)
    expect(run.stderr).not.toMatch(/the worker is ending/)
    expect(run.stdout).toMatch(/^after-end 3$/m)
    // The first at once; the other two within the 10 s throttle window, told at exit.
    expect(afterEndLines(run.stderr)).toEqual([
      'pino-courier: a log line was written after the transport ended (transport.end() or process exit) and lost; later ones are counted in transport.linesAfterEnd',
      'pino-courier: 2 more log lines written after the transport ended, lost (3 in all)',
    ])
    // The record before end() was delivered; the others never reached the worker.
    expect((await readNdjson(path)).map((r) => r.i)).toEqual([0])
  })

  it("still gives the app's own 'error' listener thread-stream's error, and counts the lines", async () => {
    const path = join(await tempDir(), 'app.log')
    const run = await runApp(path, { after: 2, listen: true, stderr: false })
    expect(run.code, describeRun(run)).toBe(0)
    expect(run.stdout.match(/^error the worker is ending$/gm)).toHaveLength(2)
    expect(run.stdout).toMatch(/^after-end 2$/m)
    // stderr: false keeps it quiet.
    expect(afterEndLines(run.stderr)).toEqual([])
  })
})
