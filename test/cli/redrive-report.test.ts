/** redrive's exit code from its report (docs/cli-redrive.md, "Output and exit code"). */
import { describe, expect, it } from 'vitest'
import { redriveExitCode } from '../../src/cli/redrive/redrive-report.js'
import type { RedriveReport } from '../../src/cli/redrive/redrive.js'

function report(over: Partial<RedriveReport>): RedriveReport {
  return { kept: 0, stopped: false, remainder: { written: true, tailBytes: 0 }, ...over } as RedriveReport
}

describe('redriveExitCode', () => {
  it('is 0 only when every line went and FILE was updated without a doubt', () => {
    expect(redriveExitCode(report({}))).toBe(0)
    expect(redriveExitCode(report({ remainder: 'unchanged' }))).toBe(0)
    expect(redriveExitCode(report({ kept: 1 }))).toBe(1)
    expect(redriveExitCode(report({ stopped: true }))).toBe(1)
    expect(redriveExitCode(report({ remainder: { written: false, reason: 'it was truncated' } }))).toBe(1)
    // Lines appended while FILE was replaced may be missing from it: not a success.
    expect(redriveExitCode(report({ remainder: { written: true, tailBytes: 10, warning: 'lines appended … may not all have been copied over (EIO)' } }))).toBe(1)
  })
})
