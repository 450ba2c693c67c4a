import { EventEmitter } from 'node:events'
import { DROP_REASONS, totalDropped, type SenderStats } from '../stats/delivery-stats.js'
import { RecordParser } from './record.js'
import type { CloseReport, Sender } from '../senders/sender.js'
import { DEFAULT_WARN_INTERVAL_MS, Warner, type CourierWarning } from '../stats/warner.js'
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../senders/queued-sender.js'
import { setTimer } from '../timers.js'

/** Counters of a whole courier: the lines it read and every sender's stats. */
export interface CourierStats {
  /** Non-empty lines read. */
  readonly lines: number
  /** Lines that were not a JSON object (still delivered, wrapped). */
  readonly malformed: number
  readonly senders: readonly SenderStats[]
}

/** What close() reports. */
export interface CourierCloseReport {
  /** Records not delivered, summed over senders (failed + dropped over the courier's life). */
  readonly undelivered: number
  /** Records abandoned at the close deadline, summed over senders. */
  readonly abandonedAtDeadline: number
  /** Records left in the senders' disk spools for the next start. */
  readonly spooled: number
  readonly timedOut: boolean
  readonly senders: readonly CloseReport[]
  readonly stats: CourierStats
}

/** Options of {@link Courier}. */
export interface CourierOptions {
  senders: readonly Sender[]
  /** Turns lines into records. @default a parser with pino's default levels */
  parser?: RecordParser
  /** Deadline of close(), shared by all senders (they close in parallel). @default 5000 */
  closeTimeoutMs?: number
  /** Shortest time between two warnings of the same sender and kind. @default 10000 */
  warnIntervalMs?: number
}

/** Events of a {@link Courier}. */
export interface CourierEvents {
  warning: [warning: CourierWarning]
}

/**
 * Reads lines, turns them into records and fans each out to every sender whose level it meets.
 * Senders are independent: each has its own queue and pool, so one stalled sender never delays another.
 */
export class Courier extends EventEmitter<CourierEvents> {
  readonly senders: readonly Sender[]
  readonly #parser: RecordParser
  readonly #closeTimeoutMs: number
  readonly #warner: Warner
  #lines = 0
  #malformed = 0
  #closing: Promise<CourierCloseReport> | undefined

  constructor(options: CourierOptions) {
    super()
    this.senders = options.senders
    this.#parser = options.parser ?? new RecordParser()
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    this.#warner = new Warner(options.warnIntervalMs ?? DEFAULT_WARN_INTERVAL_MS, (w) => this.emit('warning', w))
    for (const sender of this.senders) this.#warner.watch(sender)
  }

  /**
   * Accepts one line (without its newline). Never throws, never waits. Returns false when a sender
   * under the `block` policy asks the reader to pause until {@link Courier.ready} resolves.
   */
  write(line: string): boolean {
    if (line.length === 0) return true
    this.#lines++
    const record = this.#parser.parse(line)
    if (record.malformed) this.#malformed++
    let keepGoing = true
    for (const sender of this.senders) {
      try {
        if (!sender.send(record)) keepGoing = false
      } catch {
        // Senders must not throw; a custom one that does must not take the others down with it.
      }
    }
    return keepGoing
  }

  /** Resolves when no sender asks the reader to pause (each gives up pausing after its queue.maxBlockMs). */
  async ready(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.ready()))
  }

  /**
   * Resolves when every line written before the call has been delivered, failed or dropped. Waits for
   * every sender even when one fails; then rejects with an AggregateError of the senders' errors
   * (built-in senders never reject: their failures are counted, not thrown).
   */
  async flush(): Promise<void> {
    const results = await Promise.allSettled(this.senders.map((s) => s.flush()))
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} sender(s) failed to flush`)
  }

  /** Closes every sender in parallel within the deadline. Idempotent. */
  close(options: { timeoutMs?: number } = {}): Promise<CourierCloseReport> {
    return (this.#closing ??= this.#close(options.timeoutMs ?? this.#closeTimeoutMs))
  }

  stats(): CourierStats {
    return { lines: this.#lines, malformed: this.#malformed, senders: this.senders.map((s) => s.stats()) }
  }

  async #close(timeoutMs: number): Promise<CourierCloseReport> {
    // A custom sender may ignore its deadline or never settle: the courier's close must end anyway.
    const settled = await Promise.allSettled(
      this.senders.map((s) => withDeadline(Promise.resolve().then(() => s.close({ timeoutMs })), timeoutMs + SENDER_CLOSE_GRACE_MS)),
    )
    const reports = settled.map((result, i): CloseReport => {
      if (result.status === 'fulfilled') return result.value
      // A custom sender whose close rejected or ran past the deadline: its stats as they stand.
      const stats = (this.senders[i] as Sender).stats()
      return {
        name: stats.name,
        undelivered: stats.failed + totalDropped(stats) + stats.queued + stats.inFlight,
        abandonedAtDeadline: stats.queued + stats.inFlight,
        timedOut: true,
        stats,
      }
    })
    this.#warner.flush()
    return {
      undelivered: reports.reduce((n, r) => n + r.undelivered, 0),
      abandonedAtDeadline: reports.reduce((n, r) => n + r.abandonedAtDeadline, 0),
      spooled: reports.reduce((n, r) => n + (r.spooled ?? 0), 0),
      timedOut: reports.some((r) => r.timedOut),
      senders: reports,
      stats: this.stats(),
    }
  }
}

/** How long past the deadline a sender's close may take before the courier stops waiting for it. */
const SENDER_CLOSE_GRACE_MS = 250

/** Rejects when `promise` has not settled within `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimer(() => reject(new Error(`close did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
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
