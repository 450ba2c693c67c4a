/**
 * What the CLI prints at the end (the final tally), and the exit code it comes to: per sender what
 * was delivered, failed (and dead-lettered), dropped by reason, left spooled, and retried.
 */
import type { CourierCloseReport, CourierStats } from '../input/courier.js'
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'
import { EXIT } from './usage-error.js'

/** Records a sender did not deliver for good: failed (dead-lettered included) and dropped for any reason. */
export function undelivered(stats: SenderStats): number {
  let dropped = 0
  for (const reason of DROP_REASONS) dropped += stats.dropped[reason]
  return stats.failed + dropped
}

/** 0 when every record was delivered or spooled; 1 when some record failed or was dropped. */
export function exitCodeOf(stats: CourierStats): number {
  return stats.senders.some((s) => undelivered(s) > 0) ? EXIT.undelivered : EXIT.ok
}

/** `dropped 3 (oversize 2, closed 1)`, or `dropped 0`. */
export function droppedText(stats: SenderStats): string {
  const parts = DROP_REASONS.filter((r) => stats.dropped[r] > 0).map((r) => `${r} ${stats.dropped[r]}`)
  const total = DROP_REASONS.reduce((sum, r) => sum + stats.dropped[r], 0)
  return parts.length > 0 ? `dropped ${total} (${parts.join(', ')})` : 'dropped 0'
}

/** One sender's line of the tally. */
export function senderTally(stats: SenderStats): string {
  const failed = stats.deadLettered > 0 ? `failed ${stats.failed} (dead-lettered ${stats.deadLettered})` : `failed ${stats.failed}`
  const recovered = stats.recovered > 0 ? `, recovered from spool ${stats.recovered}` : ''
  return `${stats.name}: delivered ${stats.delivered}, ${failed}, ${droppedText(stats)}, spooled ${stats.spooled}, retried ${stats.retried}${recovered}`
}

/** How the input ended, for the tally's first line. */
export type InputEnd = { readonly kind: 'end' } | { readonly kind: 'signal'; readonly signal: string } | { readonly kind: 'error'; readonly message: string }

/** The final tally's lines (without newlines), ending with the exit code and why. */
export function tallyLines(report: CourierCloseReport, input: InputEnd, elapsedMs: number, closeTimeoutMs: number): string[] {
  const { stats } = report
  const how = input.kind === 'end' ? 'end of input' : input.kind === 'signal' ? `stopped by ${input.signal}` : `input failed (${input.message})`
  const malformed = stats.malformed > 0 ? ` (${stats.malformed} not JSON, sent wrapped)` : ''
  // The time is the whole run's: a slow sink keeps the command going well after the input ended.
  const read = `${stats.lines} ${stats.lines === 1 ? 'line' : 'lines'} read`
  const lines = [`pino-courier: ${how}: ${read}${malformed}, all done in ${(elapsedMs / 1000).toFixed(1)} s`]
  for (const sender of stats.senders) lines.push(`pino-courier:   ${senderTally(sender)}`)
  if (report.timedOut) {
    const left = report.spooled > 0 ? `, ${report.spooled} left in the spool` : ''
    lines.push(`pino-courier: close deadline (${closeTimeoutMs} ms) reached: ${report.abandonedAtDeadline} records abandoned${left}`)
  }
  const code = tallyExitCode(stats, input)
  const missing = stats.senders.reduce((sum, s) => sum + undelivered(s), 0)
  if (input.kind === 'error') {
    // The rest of the input was never read: whatever was delivered, not everything was.
    lines.push(`pino-courier: exit 1: the input failed before its end${missing > 0 ? `, and ${missing} records were not delivered (failed or dropped)` : ''}`)
    return lines
  }
  lines.push(code === EXIT.ok ? 'pino-courier: exit 0: every record delivered' : `pino-courier: exit 1: ${missing} records not delivered (failed or dropped)`)
  if (code === EXIT.ok && stats.senders.some((s) => s.spooled > 0)) lines[lines.length - 1] += ' or spooled for the next start'
  return lines
}

/** The pipe command's exit code: {@link exitCodeOf}, and 1 when the input failed (the tally says why). */
export function tallyExitCode(stats: CourierStats, input: InputEnd): number {
  return input.kind === 'error' ? EXIT.undelivered : exitCodeOf(stats)
}
