import type { LogRecord } from '../input/record.js'

/** A batch of records handed to a sink in one delivery. A fresh array for every batch. */
export interface Batch {
  /**
   * Random id of the batch (a UUID), the same on every attempt, so that a sink can recognise a batch
   * it has already accepted (the http sender sends it as `Idempotency-Key`). When only part of a batch
   * is tried again (see {@link DeliveryResult}), that part goes as a batch of its own, with an id of its
   * own derived from this one (`<id>~<n>`).
   */
  readonly id: string
  readonly records: readonly LogRecord[]
  /** Sum of the records' `bytes` (lines plus newlines). */
  readonly bytes: number
  /**
   * The stable identity of `records[index]`: the same on every retry, on a retry of part of the batch
   * and after a replay from the disk spool or a restart, so that a sink can derive an idempotent id
   * from it (an Elasticsearch `_id`, a NATS `Nats-Msg-Id`). It is `<first batch id>:<position in that
   * batch>`. Optional so that hand-made batches (tests, custom code calling a sink) still type-check;
   * every batch the engine makes has it.
   */
  readonly recordId?: (index: number) => string
  /**
   * The records as NDJSON (each line and its newline), as slices of the record log the engine keeps
   * them in: a sink that forwards NDJSON sends these without building a body, and never needs
   * `records` (which are then made only if asked for). The slices are valid until this attempt's
   * `deliver` settles: the log reuses its memory once the batch is done, so copy what you keep
   * (`toNdjson(batch)` gives a copy). Absent on hand-made batches.
   */
  readonly ndjson?: () => Buffer[]
}

/** Passed to every delivery attempt. */
export interface DeliveryContext {
  /** Fires when the attempt times out or the sender's close deadline passes: stop and reject. */
  readonly signal: AbortSignal
  /** 1 for the first attempt. */
  readonly attempt: number
}

/** Some records of a batch, named by their index in `batch.records`, and why. */
export interface RecordRejection {
  readonly index: number
  /** The sink's reason (shown in stats and warnings: never put a credential in it). */
  readonly error?: string
  /** The status the sink gave this record, when it has one (Elasticsearch's per-item status). */
  readonly status?: number
}

/**
 * What a sink says about a batch it took only in part. Records it does not name are accepted; the
 * ledger adds up either way: accepted + rejected + rejectedCount + retry = the batch's records.
 */
export interface DeliveryResult {
  /** Refused for good (a mapping error, a record too old): counted failed and dead-lettered. */
  readonly rejected?: readonly RecordRejection[]
  /**
   * To try again (a 429 for one item, a shard not ready): only these go into the retry, as a batch of
   * their own, keeping their identities; the rest is settled now.
   */
  readonly retry?: readonly RecordRejection[]
  /**
   * Records refused for good that the sink can only count, not name (OTLP's `rejectedLogRecords`,
   * Loki's "total ignored: N out of M"): counted failed, not dead-lettered (which ones is unknown).
   */
  readonly rejectedCount?: number
  /** Why the counted ones were refused (the sink's own message). */
  readonly error?: string
  /**
   * Of the records accepted, those the sink cut to fit its size limit before sending (syslog's
   * `maxMessageBytes`): they count delivered, and also in the sender's `truncated` stat, so that a
   * shortened record is never a silent loss of its tail.
   */
  readonly truncatedCount?: number
}

/**
 * Where a sender's batches go. `deliver` resolves when the sink accepted the batch and rejects
 * otherwise: throw a {@link DeliveryError} with `permanent: true` for failures a retry cannot fix,
 * anything else is retried. A sink that took only part of the batch resolves with a
 * {@link DeliveryResult} saying which records it refused or wants to send again.
 */
export interface Sink {
  // `void |` keeps every sink written before partial outcomes valid: resolving with nothing is "all accepted".
  deliver(batch: Batch, context: DeliveryContext): Promise<void | DeliveryResult>
  /** Releases what the sink owns (connections, file handles). Called once, after the last delivery. */
  close?(): Promise<void>
}
