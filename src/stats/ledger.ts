import type { EventEmitter } from 'node:events'
import { errorMessage } from '../error-message.js'
import type { LogRecord } from '../input/record.js'
import type { RecordLog } from '../queue/record-log.js'
import type { SenderEvents } from '../senders/sender.js'
import { checkDeadLetterPath, DeadLetterFile } from '../spool/dead-letter-file.js'
import type { DeadLetterOptions } from '../spool/spool-options.js'
import type { SpoolStats } from '../spool/disk-spool.js'
import type { TimingsRecorder } from './timings-recorder.js'
import { StatsCounters, type DropReason, type FailureRecord, type SenderStats } from './delivery-stats.js'
import type { GroupCounters, GroupsStats } from './group-stats.js'

/** Where a record went, as a {@link RecordObserver} hears it. */
export type RecordOutcome = 'delivered' | 'failed' | 'spooled' | DropReason

/**
 * Follows records through a sender. Calls are synchronous, made after the sender's own counters have
 * changed, and a throwing observer is ignored. Records written to a disk spool are reported `spooled`;
 * they come back from it as new objects, and losses inside the spool are only counted in the stats.
 */
export interface RecordObserver {
  /** The records were handed to a worker in one batch (they count as in flight from now on). */
  dispatched?(records: readonly LogRecord[]): void
  /** The records reached an end state, or the spool; `failure` is the failure kept in the stats. */
  settled?(records: readonly LogRecord[], outcome: RecordOutcome, failure?: FailureRecord): void
}

/**
 * Records moving together: their count (fixed when they moved), bytes and, when at hand, the records:
 * as refs into the record log, or as records (made only when an observer or the dead-letter file needs
 * them). Refs must still be held when the ledger is told: it moves first, the sender releases after.
 */
export interface Moved {
  readonly count: number
  readonly bytes: number
  readonly refs?: readonly number[] | undefined
  readonly records?: readonly LogRecord[] | undefined
  /** Their queue group's counters (a grouped sender's): moved along with the sender's. */
  readonly group?: GroupCounters | undefined
}

/** How a batch failed for good. */
export interface Failure {
  readonly error: unknown
  readonly attempts: number
  readonly reason: 'permanent' | 'exhausted'
  /** A message to show instead of the error's own (a sink's reason for part of a batch). */
  readonly message?: string
  /** The status to keep, when it is not the error's own (a sink's per-record status). */
  readonly status?: number | undefined
}

/**
 * The only place a sender's counters move and its drop / failure / retry events are emitted. Every
 * method is one move between the states of {@link SenderStats} (received → queued → in flight →
 * delivered, failed, spooled or dropped), so `received + recovered = queued + spooled + inFlight +
 * delivered + failed + dropped` holds after each call, whoever calls it.
 */
export class Ledger {
  readonly #name: string
  /** Where refs are read, for the observer and the dead-letter file. */
  readonly #log: RecordLog | undefined
  readonly #counters = new StatsCounters()
  readonly #events: EventEmitter<SenderEvents>
  readonly #observer: RecordObserver | undefined
  readonly #deadLetter: DeadLetterFile | undefined
  /** Called after records reach an end state: flush() waiters may be done. */
  readonly #settled: () => void

  /** `deadLetter`: where failed records go; its path is checked now, not at the first failure. */
  constructor(
    name: string,
    events: EventEmitter<SenderEvents>,
    options: {
      log?: RecordLog | undefined
      observer?: RecordObserver | undefined
      deadLetter?: DeadLetterOptions | undefined
      onSettled?: () => void
    } = {},
  ) {
    this.#name = name
    this.#log = options.log
    this.#events = events
    this.#observer = options.observer
    const { deadLetter } = options
    // Refused at start-up rather than at the first failure: a link at the path, a directory others can write.
    if (deadLetter) checkDeadLetterPath(deadLetter)
    this.#deadLetter = deadLetter ? new DeadLetterFile(deadLetter) : undefined
    this.#settled = options.onSettled ?? (() => undefined)
  }

  /** A record at or above the sender's level arrived (in `group`, when the sender groups its queue). */
  received(group?: GroupCounters): void {
    this.#counters.received++
    if (group) {
      group.received++
      group.admitting++
    }
  }

  /** Records an earlier run left in the spool: they count like received ones. */
  recovered(count: number, bytes: number): void {
    const c = this.#counters
    c.recovered += count
    c.spooled += count
    c.spooledBytes += bytes
  }

  /** A record that never entered the queue (closed, oversize, no room): dropped. Always true. */
  refused(moved: Moved, reason: DropReason): true {
    if (moved.group) moved.group.admitting -= moved.count
    this.#dropped(moved, reason)
    return true
  }

  queued(bytes: number, group?: GroupCounters): void {
    this.#counters.queued++
    this.#counters.queuedBytes += bytes
    if (group) {
      group.admitting--
      group.queued++
      group.queuedBytes += bytes
    }
  }

  /** Records leave the queue without being sent: evicted (overflow), abandoned at close, or not taken by the spool. */
  droppedFromQueue(moved: Moved, reason: DropReason): void {
    this.#counters.queued -= moved.count
    this.#counters.queuedBytes -= moved.bytes
    unqueue(moved)
    this.#dropped(moved, reason)
  }

  /** Records leave the queue for a worker. */
  dispatched(moved: Moved): void {
    const c = this.#counters
    c.queued -= moved.count
    c.queuedBytes -= moved.bytes
    c.inFlight += moved.count
    const group = unqueue(moved)
    if (group) group.inFlight += moved.count
    if (this.#observer) this.#observe(moved, 'dispatched')
  }

  /** Records move from the queue to the disk spool. */
  spilled(moved: Moved): void {
    const c = this.#counters
    c.queued -= moved.count
    c.queuedBytes -= moved.bytes
    c.spooled += moved.count
    c.spooledBytes += moved.bytes
    const group = unqueue(moved)
    if (group) group.spooled += moved.count
    if (this.#observer) this.#observe(moved, 'spooled')
  }

  /** A batch read back from the spool goes to a worker. */
  unspooled(moved: Moved): void {
    const c = this.#counters
    c.spooled -= moved.count
    c.spooledBytes -= moved.bytes
    c.inFlight += moved.count
    if (this.#observer) this.#observe(moved, 'dispatched')
  }

  /** Spooled records are gone: evicted from a full spool, unreadable, or their file was removed. */
  spoolLost(moved: Moved, reason: DropReason): void {
    this.#counters.spooled -= moved.count
    this.#counters.spooledBytes -= moved.bytes
    this.#dropped(moved, reason)
  }

  attempted(): void {
    this.#counters.attempts++
  }

  /** An attempt the sink took cut `count` of its records to fit (they are counted delivered too). */
  truncated(count: number): void {
    this.#counters.truncated += count
  }

  /** An attempt failed, retried or not: kept as `lastError`. */
  attemptFailed(error: unknown): void {
    this.#counters.lastError = { at: Date.now(), message: errorMessage(error) }
  }

  /**
   * A batch will be tried again: `waiting` says what now waits for a retry, this batch included (asked
   * only when someone listens).
   */
  retrying(
    count: number,
    attempt: number,
    delayMs: number,
    error: unknown,
    waiting: () => { records: number; batches: number },
  ): void {
    this.#counters.retried += count
    if (this.#events.listenerCount('retry') === 0) return
    const { records, batches } = waiting()
    this.#events.emit('retry', {
      sender: this.#name,
      records: count,
      attempt,
      delayMs,
      error: errorMessage(error),
      waitingRecords: records,
      waitingBatches: batches,
    })
  }

  /** Records in flight reached the sink. */
  delivered(moved: Moved): void {
    const c = this.#counters
    c.inFlight -= moved.count
    c.delivered += moved.count
    c.deliveredBytes += moved.bytes
    const group = outOfFlight(moved)
    if (group) group.delivered += moved.count
    if (this.#observer) this.#observe(moved, 'delivered')
    this.#settled()
  }

  /**
   * Records in flight failed for good: counted, written to the dead-letter file (when the records are
   * at hand), kept in the failure history and announced.
   */
  failed(moved: Moved, failure: Failure): void {
    const c = this.#counters
    c.inFlight -= moved.count
    c.failed += moved.count
    const group = outOfFlight(moved)
    if (group) group.failed += moved.count
    const status = failure.status ?? (failure.error as { status?: unknown } | null)?.status
    let error = failure.message ?? errorMessage(failure.error)
    const records = this.#deadLetter || this.#observer ? this.#records(moved) : undefined
    if (this.#deadLetter && records) {
      try {
        this.#deadLetter.write(records)
        c.deadLettered += moved.count
      } catch (dlqError) {
        error += `; not written to the dead-letter file either: ${errorMessage(dlqError)}`
      }
    }
    const record: FailureRecord = {
      at: Date.now(),
      records: moved.count,
      attempts: failure.attempts,
      reason: failure.reason,
      error,
      ...(typeof status === 'number' ? { status } : {}),
    }
    c.addFailure(record)
    if (records) this.#observe({ ...moved, records }, 'failed', record)
    if (this.#events.listenerCount('failure') > 0) this.#events.emit('failure', { ...record, sender: this.#name })
    this.#settled()
  }

  /**
   * A sink took part of a batch: the accepted records are delivered, the refused ones failed (the
   * named ones dead-lettered); the ones to retry stay in flight.
   */
  settledInPart(
    parts: { accepted: Moved; rejected: Moved; unnamed: number },
    messages: { rejected: string; unnamed: string; status: number | undefined },
    attempts: number,
  ): void {
    const { accepted, rejected, unnamed } = parts
    if (accepted.count > 0) {
      // Refused without names: counted out of the accepted ones (which ones is unknown), bytes in proportion.
      const bytes = accepted.bytes - Math.round((accepted.bytes * unnamed) / accepted.count)
      this.delivered({ ...accepted, count: accepted.count - unnamed, bytes })
    }
    if (unnamed > 0) this.failed({ count: unnamed, bytes: 0, group: accepted.group }, { error: undefined, attempts, reason: 'permanent', message: messages.unnamed })
    if (rejected.count > 0) {
      this.failed(rejected, { error: undefined, status: messages.status, attempts, reason: 'permanent', message: messages.rejected })
    }
  }

  /** Records in flight went to the spool (at close, for the next start). */
  inFlightSpooled(moved: Moved): void {
    const c = this.#counters
    c.inFlight -= moved.count
    c.spooled += moved.count
    c.spooledBytes += moved.bytes
    const group = outOfFlight(moved)
    if (group) group.spooled += moved.count
    if (this.#observer) this.#observe(moved, 'spooled')
    this.#settled()
  }

  /** Records in flight were given up: the close deadline passed, or the spool could not take them. */
  inFlightDropped(moved: Moved, reason: DropReason): void {
    this.#counters.inFlight -= moved.count
    outOfFlight(moved)
    this.#dropped(moved, reason)
  }

  closeDeadLetter(): void {
    this.#deadLetter?.close()
  }

  /** Dropped records, by reason. */
  get dropped(): Readonly<Record<DropReason, number>> {
    return this.#counters.dropped
  }

  /** The sender's latency and batch-size histograms: observed by the pool and the sender, per attempt or batch. */
  get timings(): TimingsRecorder {
    return this.#counters.timings
  }

  snapshot(spool?: SpoolStats, queueCapacity?: number, groups?: GroupsStats): SenderStats {
    return this.#counters.snapshot(this.#name, spool, queueCapacity, groups)
  }

  #dropped(moved: Moved, reason: DropReason): void {
    this.#counters.dropped[reason] += moved.count
    if (moved.group) moved.group.dropped[reason] += moved.count
    if (this.#observer) this.#observe(moved, reason)
    if (this.#events.listenerCount('drop') > 0) {
      const group = moved.group
      this.#events.emit('drop', group ? { sender: this.#name, reason, records: moved.count, group: group.key, groupKind: group.kind } : { sender: this.#name, reason, records: moved.count })
    }
    this.#settled()
  }

  /** The moved records as records, when they are at hand. */
  #records(moved: Moved): readonly LogRecord[] | undefined {
    if (moved.records) return moved.records
    const log = this.#log
    return moved.refs && log ? moved.refs.map((ref) => log.view(ref)) : undefined
  }

  /** Tells the observer; its mistakes must not break the sender's own bookkeeping. */
  #observe(moved: Moved, outcome: RecordOutcome | 'dispatched', failure?: FailureRecord): void {
    const observer = this.#observer
    if (!observer) return
    const records = this.#records(moved)
    if (!records) return
    try {
      if (outcome === 'dispatched') observer.dispatched?.(records)
      else observer.settled?.(records, outcome, failure)
    } catch {
      // An observer is told, not asked: what it does with the news is its own business.
    }
  }
}

/** Records leave their group's queue: its counters, if any, to move on. */
function unqueue(moved: Moved): GroupCounters | undefined {
  const group = moved.group
  if (group) {
    group.queued -= moved.count
    group.queuedBytes -= moved.bytes
  }
  return group
}

/** Records in flight settle: their group's counters, if any, to move on. A group is active until then. */
function outOfFlight(moved: Moved): GroupCounters | undefined {
  const group = moved.group
  if (group) {
    group.inFlight -= moved.count
    group.lastActive = Date.now()
  }
  return group
}
