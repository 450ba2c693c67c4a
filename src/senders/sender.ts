import type { DeliveryOptions } from '../config/delivery-options.js'
import type { LevelMap } from '../config/levels.js'
import type { LogRecord } from '../input/record.js'
import type { RecordLog } from '../queue/record-log.js'
import type { RecordObserver } from '../stats/ledger.js'
import type { DropReason, FailureRecord, SenderStats } from '../stats/delivery-stats.js'
import type { GroupKind } from '../stats/group-stats.js'

// The sink contract lives with the sinks; its names stay importable from here.
export type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sinks/sink.js'

/** What close() could not deliver. */
export interface CloseReport {
  readonly name: string
  /** Records received but not delivered over the sender's life: failed + dropped. */
  readonly undelivered: number
  /** Records abandoned (dropped) because the close deadline passed, or the spool could not take them. */
  readonly abandonedAtDeadline: number
  /** Records left in the disk spool, sent by the next start (0 without a spool). */
  readonly spooled?: number
  /** True when the close deadline passed before everything settled. */
  readonly timedOut: boolean
  readonly stats: SenderStats
}

/** Events a sender emits (on the sender itself, an EventEmitter). */
export interface SenderEvents {
  /** A batch failed for good. */
  failure: [failure: FailureRecord & { sender: string }]
  /**
   * Records were dropped. `group` and `groupKind`: their queue group's key and kind, for a sender with
   * `groupBy` (a tenant named "(missing)" has kind `key`; without a kind, `group` is taken as a key).
   */
  drop: [drop: { sender: string; reason: DropReason; records: number; group?: string; groupKind?: GroupKind }]
  /**
   * A batch of `records` records failed its attempt number `attempt` and will be tried again after
   * `delayMs`. `waitingRecords` / `waitingBatches`: what now waits for a retry in the sender, this
   * batch included (a batch retried seven times is counted once there, not seven times).
   */
  retry: [
    retry: {
      sender: string
      records: number
      attempt: number
      delayMs: number
      error: string
      waitingRecords?: number
      waitingBatches?: number
    },
  ]
}

/**
 * A destination for log records. `send` is synchronous, cheap, never throws and never waits for the
 * network; `flush` and `close` return promises; `close` runs once and is bounded by a deadline.
 */
export interface Sender {
  /** Unique name within a courier (used in stats and warnings). */
  readonly name: string
  /** Level threshold: records below it are ignored. */
  readonly level: number
  /**
   * Accepts a record (or drops and counts it). Returns false only under the `block` overflow policy
   * when the queue is over its bounds: the caller should wait for {@link Sender.ready}.
   */
  send(record: LogRecord): boolean
  /**
   * Resolves when the queue is back under its bounds (immediately if it is), on close, or when the
   * `block` window (`queue.maxBlockMs`) runs out.
   */
  ready(): Promise<void>
  /** Resolves when every record accepted before the call has been delivered, failed or dropped. */
  flush(): Promise<void>
  /**
   * Stops accepting, delivers what it can until the deadline, leaves the rest in the spool if there
   * is one or abandons it (counted as dropped `closed`), releases the sink. Idempotent: later calls
   * return the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<CloseReport>
  stats(): SenderStats
  on<E extends keyof SenderEvents>(event: E, listener: (...args: SenderEvents[E]) => void): this
  off<E extends keyof SenderEvents>(event: E, listener: (...args: SenderEvents[E]) => void): this
}

/**
 * What a sender gets from its surroundings rather than from its (plain-data) options: the logger's
 * levels and keys, and the layers of delivery defaults under the sender's own options.
 */
export interface SenderContext {
  /** Level names, for `level` and `batch.flushLevel` given as names. @default pino's default levels */
  levels?: LevelMap
  /** Delivery defaults, lowest first, layered under the sender's own options. @default [] */
  defaults?: readonly (DeliveryOptions | undefined)[]
  /** Random source of the retry jitter, for tests. @default Math.random */
  random?: () => number
  /**
   * Told when records leave the queue for a worker and when they reach an end state, record by
   * record: for code built on top of a QueuedSender that follows its records. @default none
   */
  observer?: RecordObserver
  /** The logger's `messageKey`, for senders that read messages. @default 'msg' */
  messageKey?: string
  /** The transport's `levelKey`, for senders that read records' fields. @default 'level' */
  levelKey?: string
  /** The logger's `errorKey`, for senders that read errors. @default 'err' */
  errorKey?: string
  /**
   * The courier's record log, shared by its queued senders so that a record sent to several is kept
   * once. Set by the transport and the in-process stream. @default a log of the sender's own
   */
  recordLog?: RecordLog
}
