import { DROP_REASONS, totalDropped, type SenderStats } from './delivery-stats.js'
import type { CloseReport } from '../senders/sender.js'
import type { CourierCloseReport } from '../input/courier.js'

/**
 * A sender's close report from its stats: what it could not deliver over its life, what the deadline
 * cut off, what waits in its spool. Every built-in sender reports through this, and the courier for a
 * custom sender whose close failed or overran (`stillQueued`: its queued and in-flight records count
 * as abandoned).
 */
export function senderCloseReport(
  stats: SenderStats,
  outcome: { abandoned: number; timedOut: boolean; stillQueued?: boolean },
): CloseReport {
  const pending = outcome.stillQueued ? stats.queued + stats.inFlight : 0
  return {
    name: stats.name,
    undelivered: stats.failed + totalDropped(stats) + pending,
    abandonedAtDeadline: outcome.abandoned + pending,
    spooled: stats.spooled,
    timedOut: outcome.timedOut,
    stats,
  }
}

/** The courier's report: its senders' reports summed up. */
export function courierCloseReport(reports: readonly CloseReport[], stats: CourierCloseReport['stats']): CourierCloseReport {
  return {
    undelivered: reports.reduce((n, r) => n + r.undelivered, 0),
    abandonedAtDeadline: reports.reduce((n, r) => n + r.abandonedAtDeadline, 0),
    spooled: reports.reduce((n, r) => n + (r.spooled ?? 0), 0),
    timedOut: reports.some((r) => r.timedOut),
    senders: reports,
    stats,
  }
}

/** Whether a close report has anything to tell: records not delivered, or left in a spool. */
export function closeReportNeedsTelling(report: CourierCloseReport): boolean {
  return report.undelivered > 0 || report.spooled > 0
}

/**
 * A one-line summary of a close report, for stderr. Counts are per sender: a line that went to two
 * senders is two records there. With one sender that is the number of records; with several the
 * summary says so and gives the lines read, so that `3 of 3` after two log calls makes sense.
 * @example
 * // pino-courier: closed; 1200 of 50000 records could not be delivered - http: 1200 (...)
 * // pino-courier: closed; 3 of 3 record deliveries could not be made (2 lines read, each counted once per sender it went to: 2 senders) - http: 2 (...); file: 1 (...)
 */
export function describeCloseReport(report: CourierCloseReport): string {
  const received = report.senders.reduce((n, r) => n + r.stats.received + (r.stats.recovered ?? 0), 0)
  const total =
    report.senders.length > 1
      ? `${report.undelivered} of ${received} record deliveries could not be made (${report.stats.lines} ${report.stats.lines === 1 ? 'line' : 'lines'} read, ` +
        `each counted once per sender it went to: ${report.senders.length} senders)`
      : `${report.undelivered} of ${received} records could not be delivered`
  const parts = report.senders
    .filter((r) => r.undelivered > 0 || (r.spooled ?? 0) > 0)
    .map((r) => {
      const d = r.stats.dropped
      // The spool's reasons only when they happened: without a spool they never do.
      const drops = DROP_REASONS.filter((reason) => (d[reason] ?? 0) > 0 || !reason.startsWith('spool'))
        .map((reason) => `${reason} ${d[reason] ?? 0}`)
        .join(', ')
      const dead = r.stats.deadLettered ? ` (${r.stats.deadLettered} in the dead-letter file)` : ''
      const spooled = r.spooled ? `, spooled ${r.spooled}` : ''
      // Why, when records were left behind: the deadline alone does not say that the host name did not resolve.
      const why = r.stats.lastError ? `; last error: ${r.stats.lastError.message}` : ''
      return `${r.name}: ${r.undelivered} (failed ${r.stats.failed}${dead}, dropped ${drops}${spooled}${why})`
    })
  return (
    `pino-courier: closed; ${total}` +
    (report.spooled > 0 ? `, ${report.spooled} left in the spool for the next start` : '') +
    (report.timedOut ? ` (close deadline passed, ${report.abandonedAtDeadline} abandoned)` : '') +
    (parts.length ? ` - ${parts.join('; ')}` : '')
  )
}
