import { EventEmitter } from 'node:events'
import type { SenderStats } from '../stats/delivery-stats.js'
import { courierCloseReport, senderCloseReport } from '../stats/close-report.js'
import { RecordParser, type LogRecord } from './record.js'
import type { RecordLog } from '../queue/record-log.js'
import { ACCEPT, QueuedSender, RECORD_LOG } from '../senders/queued-sender.js'
import type { CloseReport, Sender } from '../senders/sender.js'
import { DEFAULT_WARN_INTERVAL_MS, Warner, type CourierWarning } from '../stats/warner.js'
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../config/defaults.js'
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
  /**
   * The record log the senders were built with (SenderContext.recordLog): lines go into it once and
   * those senders take refs. @default none: every sender gets a record
   */
  recordLog?: RecordLog
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
  /** The log the senders built for this courier keep their records in (see {@link CourierOptions.recordLog}). */
  readonly #log: RecordLog | undefined
  /** The senders that take a ref into that log; the others get a record. */
  readonly #byRef: readonly QueuedSender[]
  readonly #byRecord: readonly Sender[]
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
    const log = options.recordLog
    const byRef = (s: Sender): s is QueuedSender => log !== undefined && s instanceof QueuedSender && s[RECORD_LOG] === log
    this.#byRef = this.senders.filter(byRef)
    this.#byRecord = this.senders.filter((s) => !byRef(s))
    this.#log = this.#byRef.length > 0 ? log : undefined
  }

  /**
   * Accepts one line (without its newline). Never throws, never waits. Returns false when a sender
   * under the `block` policy asks the reader to pause until {@link Courier.ready} resolves.
   */
  write(line: string): boolean {
    if (line.length === 0) return true
    this.#lines++
    const log = this.#log
    if (!log) return this.#send(this.#parser.parse(line))
    // The line goes into the log once, checked as it is encoded; the queued senders take its ref and
    // no record object is made, unless another sender wants one.
    return this.#fanOut(log, this.#parser.parseInto(line, log, Date.now()))
  }

  /**
   * {@link write} for a line given as UTF-8 bytes, `bytes[start..end)` without its newline: a piped
   * input's chunk (the CLI), copied into the log without a string per line. Never throws. The bytes
   * must be valid UTF-8 (a pino line is copied unchecked for encoding): a caller that cannot tell gives
   * the line to write(text), which sends U+FFFD as the transport does (the CLI checks each chunk).
   * The bytes are copied before this returns: the buffer may be reused at once.
   */
  writeBytes(bytes: Uint8Array, start: number, end: number): boolean {
    if (end <= start) return true
    const log = this.#log
    if (!log) return this.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end))
    this.#lines++
    return this.#fanOut(log, this.#parser.parseBytesInto(bytes, start, end, log, Date.now()))
  }

  /** Hands a line just appended to the log to every sender that wants it. */
  #fanOut(log: RecordLog, ref: number): boolean {
    if (log.malformed(ref)) this.#malformed++
    // Held while it is handed out: a sender making room (reading its spool back) may append to the
    // log meanwhile, and the line must not be freed before the senders that want it hold it.
    log.hold(ref)
    let keepGoing = true
    for (const sender of this.#byRef) if (!sender[ACCEPT](ref)) keepGoing = false
    if (this.#byRecord.length > 0) {
      const level = log.level(ref)
      let record: LogRecord | undefined
      for (const sender of this.#byRecord) {
        // Below its level a sender would ignore it: the record is made only for one that takes it.
        if (!(level >= sender.level)) continue
        record ??= log.view(ref)
        if (!sendTo(sender, record)) keepGoing = false
      }
    }
    log.release(ref)
    return keepGoing
  }

  #send(record: LogRecord): boolean {
    if (record.malformed) this.#malformed++
    let keepGoing = true
    for (const sender of this.senders) if (!sendTo(sender, record)) keepGoing = false
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
    const reports = settled.map((result, i): CloseReport =>
      result.status === 'fulfilled'
        ? result.value
        : // A custom sender whose close rejected or ran past the deadline: its stats as they stand.
          senderCloseReport((this.senders[i] as Sender).stats(), { abandoned: 0, timedOut: true, stillQueued: true }),
    )
    this.#warner.flush()
    return courierCloseReport(reports, this.stats())
  }
}

/** Hands a record to a sender: false when it asks the reader to pause. Never throws. */
function sendTo(sender: Sender, record: LogRecord): boolean {
  try {
    return sender.send(record)
  } catch {
    // Senders must not throw; a custom one that does must not take the others down with it.
    return true
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
