import { DROP_REASONS, totalDropped } from '../../stats/delivery-stats.js'
import type { RedriveReport } from './redrive.js'

/**
 * The exit code of a redrive: 0 when every line read went (and the file was read whole and updated), else
 * 1. A remainder written with a warning (lines appended while it was replaced may not all have been
 * copied over) is 1 too: lines may be missing, which a script must not take for success.
 */
export function redriveExitCode(report: RedriveReport): 0 | 1 {
  const remainder = report.remainder
  const rewritten = remainder === 'unchanged' || (remainder.written && remainder.warning === undefined)
  return report.kept === 0 && !report.stopped && rewritten ? 0 : 1
}

/**
 * What a redrive tells stderr: one line for the file (lines re-sent, delivered, failed again, dropped
 * by reason, what the file keeps), one per sender (its counts, its last error), and why the file was
 * left as it was when it was. `name` is the file as the user named it.
 * @example
 * // pino-courier redrive: dead.ndjson: 10 lines re-sent: 7 delivered, 2 failed again, 1 dropped (overflow 1); dead.ndjson keeps 3 lines
 */
export function describeRedrive(report: RedriveReport, name: string): string[] {
  const out: string[] = []
  const dropped = totalDroppedLines(report)
  // A spooled line leaves the file but may not have reached the sink: said apart (below: what still waits there).
  const parts = [`${report.delivered - report.spooled} delivered`]
  if (report.spooled > 0) parts.push(`${report.spooled} handed to a disk spool`)
  parts.push(`${report.failed} failed again`)
  const reasons = DROP_REASONS.filter((r) => report.dropped[r] > 0).map((r) => `${r} ${report.dropped[r]}`)
  parts.push(`${dropped} dropped${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`)
  if (report.untaken > 0) parts.push(`${report.untaken} taken by no sender (below every sender's level, or not reported)`)
  const blank = report.blank > 0 ? ` (${report.blank} blank ${plural(report.blank, 'line')} skipped)` : ''
  out.push(`pino-courier redrive: ${name}: ${report.sent} ${plural(report.sent, 'line')} re-sent${blank}: ${parts.join(', ')}; ${keeps(report, name)}`)
  for (const sender of report.close.senders) {
    const s = sender.stats
    const drops = DROP_REASONS.filter((r) => s.dropped[r] > 0).map((r) => `${r} ${s.dropped[r]}`)
    const fields = [`delivered ${s.delivered}`, `failed ${s.failed}`]
    if (s.deadLettered > 0) fields.push(`dead-lettered ${s.deadLettered}`)
    fields.push(`dropped ${totalDropped(s)}${drops.length > 0 ? ` (${drops.join(', ')})` : ''}`)
    if (s.spooled > 0) fields.push(`left in the spool ${s.spooled}`)
    if (s.recovered > 0) fields.push(`of which recovered from its spool ${s.recovered}`)
    const why = (s.failed > 0 || totalDropped(s) > 0) && s.lastError ? `; last error: ${s.lastError.message}` : ''
    out.push(`pino-courier redrive:   ${s.name}: ${fields.join(', ')}${why}`)
  }
  const waiting = report.close.senders.reduce((n, s) => n + s.stats.spooled, 0)
  if (waiting > 0) {
    out.push(
      `pino-courier redrive: ${waiting} ${plural(waiting, 'record')} wait in a disk spool, not delivered yet: the next start of that sender with that spool sends them, or pino-courier spool DIR --drain`,
    )
  }
  if (report.unfollowed.length > 0) {
    out.push(`pino-courier redrive: not followed record by record, so not counted in what the file keeps: ${report.unfollowed.join(', ')}`)
  }
  if (report.unattributed > 0) {
    out.push(
      `pino-courier redrive: ${report.unattributed} ${plural(report.unattributed, 'record')} failed or dropped without the sink saying which: every line was kept, and a re-run sends the delivered ones again`,
    )
  }
  if (report.remainder !== 'unchanged' && report.remainder.written && report.remainder.warning) {
    out.push(`pino-courier redrive: ${name}: ${report.remainder.warning}`)
  }
  if (report.stopped) out.push(`pino-courier redrive: stopped by a signal; the lines not read yet stay in ${name}`)
  return out
}

function keeps(report: RedriveReport, name: string): string {
  const remainder = report.remainder
  if (remainder !== 'unchanged' && !remainder.written) {
    return `${name} was left as it was, since ${remainder.reason}: a re-run sends its lines again`
  }
  const tail = remainder !== 'unchanged' && remainder.tailBytes > 0 ? `, plus ${remainder.tailBytes} bytes appended while it ran` : ''
  return `${name} keeps ${report.kept} ${plural(report.kept, 'line')}${tail}`
}

function totalDroppedLines(report: RedriveReport): number {
  return DROP_REASONS.reduce((n, r) => n + report.dropped[r], 0)
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`
}
