/**
 * The file sender on a REAL full filesystem (issue 10, item 2): a batch that ENOSPC cuts short must
 * leave no torn line in the file, and its retry must append only what is not on disk yet.
 *
 * Each test runs test/fixtures/full-disk-app.mjs under `unshare --user --map-root-user --mount`: the
 * child becomes root of its own user and mount namespaces (no privileges needed outside), mounts a
 * 1 MiB tmpfs, fills it up to the last 48 KiB, logs 3,000 records (about 270 KB) through the real
 * `pino.transport({ target: 'pino-courier' })` worker and frees the space after 1.5 s. Where
 * `unshare` or `mount` is missing or user namespaces are off, the test fails and says what to
 * install or enable: it never skips.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport } from '../../../src/input/courier.js'
import { DROP_REASONS } from '../../../src/stats/delivery-stats.js'
import { fixture, perfectSequence, summarizeSequence } from '../../fixtures/integration.js'
import { runCommand } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'

const APP = fixture('full-disk-app.mjs')
const N = 3000
/** Room left on the tmpfs: a fraction of the 3,000 records, so the first batch is cut short mid-line. */
const FREE_BYTES = 48 * 1024

const { tempDir } = useCleanups()

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const NEEDS =
  'this test needs util-linux (`unshare`, `mount`: apt-get install util-linux) and unprivileged user ' +
  'namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0; on Ubuntu 24.04 ' +
  'also kernel.apparmor_restrict_unprivileged_userns=0)'

/** `unshare --user --map-root-user --mount node full-disk-app.mjs ...`, killed after 60 s. */
async function runInNamespace(args: string[]): Promise<Run> {
  try {
    return await runCommand('unshare', ['--user', '--map-root-user', '--mount', process.execPath, APP, ...args], { timeoutMs: 60_000 })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT' ? `\`unshare\` was not found: ${NEEDS}` : `cannot run \`unshare\`: ${(error as Error).message}; ${NEEDS}`)
  }
}

function describeRun(run: Run): string {
  return `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
}

async function fillLogAndFree(senderOptions: Record<string, unknown> = {}): Promise<{ text: string; report: CourierCloseReport }> {
  const work = await tempDir()
  const run = await runInNamespace([work, String(N), String(FREE_BYTES), '1500', JSON.stringify(senderOptions)])
  if (/unshare failed|unshare: /.test(run.stderr) && run.code !== 0) {
    throw new Error(`\`unshare --user --map-root-user --mount\` failed: ${run.stderr.trim()}; ${NEEDS}`)
  }
  if (run.code === 3) throw new Error(`${run.stderr.trim()}; ${NEEDS}`)
  expect(run.code, describeRun(run)).toBe(0)
  const free = Number(/^free (\d+)$/m.exec(run.stdout)?.[1])
  // The disk really was (nearly) full: far less room than the records need.
  expect(free, describeRun(run)).toBeLessThanOrEqual(FREE_BYTES + 8192)
  const reportLine = /^report (.*)$/m.exec(run.stdout)?.[1]
  expect(reportLine, describeRun(run)).toBeDefined()
  const report = JSON.parse(reportLine as string) as CourierCloseReport
  expect(report, describeRun(run)).not.toBeNull()
  return { text: await readFile(join(work, 'app.log'), 'utf8'), report }
}

/** Every line of the file parsed; lines that are not JSON are returned apart. */
function parseLines(text: string): { records: Record<string, unknown>[]; invalid: string[] } {
  const records: Record<string, unknown>[] = []
  const invalid: string[] = []
  const lines = text.split('\n')
  // The file ends with a newline: the last element is empty. Anything else there is a torn line.
  if (lines.at(-1) === '') lines.pop()
  for (const line of lines) {
    try {
      records.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      invalid.push(line.length > 120 ? `${line.slice(0, 120)}…` : line)
    }
  }
  return { records, invalid }
}

function expectLedger(report: CourierCloseReport): void {
  const stats = report.senders[0]?.stats
  expect(stats).toBeDefined()
  if (!stats) return
  const dropped = DROP_REASONS.reduce((n, reason) => n + (stats.dropped[reason] ?? 0), 0)
  expect(stats.received + (stats.recovered ?? 0)).toBe(
    stats.queued + stats.spooled + stats.inFlight + stats.delivered + stats.failed + dropped,
  )
  expect(stats).toMatchObject({ received: N, delivered: N, failed: 0, queued: 0, inFlight: 0, spooled: 0 })
  expect(dropped).toBe(0)
  expect(report.undelivered).toBe(0)
  // The full disk was hit: without a failed attempt this test would prove nothing.
  expect(stats.retried).toBeGreaterThan(0)
  expect(stats.attempts).toBeGreaterThan(1)
}

describe('deliver on a full disk', () => {
  it('appends every record exactly once and leaves no torn line when ENOSPC cuts a batch short', async () => {
    const { text, report } = await fillLogAndFree()
    const { records, invalid } = parseLines(text)
    expect(invalid).toEqual([])
    expect(text.endsWith('\n')).toBe(true)
    expect(summarizeSequence(records, N)).toEqual(perfectSequence(N))
    expectLedger(report)
  }, 90_000)

  it('does the same when the failed batch is kept in a disk spool (retried with the same batch id)', async () => {
    // The spool lives outside the full tmpfs: the batch goes there at its first failure and is retried
    // from it under the id it had.
    const spoolDir = join(await tempDir(), 'spool')
    const { text, report } = await fillLogAndFree({ spool: { dir: spoolDir } })
    const { records, invalid } = parseLines(text)
    expect(invalid).toEqual([])
    expect(summarizeSequence(records, N)).toEqual(perfectSequence(N))
    expectLedger(report)
  }, 90_000)
})
