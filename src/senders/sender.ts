import type { LogRecord } from '../input/record.js'
import type { DropReason, FailureRecord, SenderStats } from '../stats/delivery-stats.js'

/** A batch of records handed to a sink in one delivery. A fresh array for every batch. */
export interface Batch {
  /**
   * Random id of the batch (a UUID), the same on every attempt, so that a sink can recognise a batch
   * it has already accepted (the http sender sends it as `Idempotency-Key`).
   */
  readonly id: string
  readonly records: readonly LogRecord[]
  /** Sum of the records' `bytes` (lines plus newlines). */
  readonly bytes: number
}

/** Passed to every delivery attempt. */
export interface DeliveryContext {
  /** Fires when the attempt times out or the sender's close deadline passes: stop and reject. */
  readonly signal: AbortSignal
  /** 1 for the first attempt. */
  readonly attempt: number
}

/**
 * Where a sender's batches go. `deliver` resolves when the sink accepted the batch and rejects
 * otherwise: throw a {@link DeliveryError} with `permanent: true` for failures a retry cannot fix,
 * anything else is retried.
 */
export interface Sink {
  deliver(batch: Batch, context: DeliveryContext): Promise<void>
  /** Releases what the sink owns (connections, file handles). Called once, after the last delivery. */
  close?(): Promise<void>
}

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
  /** Records were dropped. */
  drop: [drop: { sender: string; reason: DropReason; records: number }]
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
