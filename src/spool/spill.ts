import { randomUUID } from 'node:crypto'
import type { ResolvedSpoolOptions } from './spool-options.js'
import type { Batcher } from '../batch/batcher.js'
import { DeliveryBatch } from '../batch/delivery-batch.js'
import { ConfigError } from '../config/config-error.js'
import { errorMessage } from '../error-message.js'
import type { Admission } from '../queue/admission.js'
import type { QueueGroup } from '../queue/queue-groups.js'
import type { RecordLog } from '../queue/record-log.js'
import type { Ledger } from '../stats/ledger.js'
import { DiskSpool, SpoolReadError, type SpoolFrame } from './disk-spool.js'
import type { FrameContent } from './spool-frame.js'

/** After the spool fails to write, how long overflow falls back to the queue's own policy. */
const SPOOL_RETRY_AFTER_ERROR_MS = 5000

/** What reading a spooled batch back gave. */
export type Unspooled = DeliveryBatch | 'unreadable-now' | 'damaged'

/**
 * When records go to the disk spool, stay there or come back: a sender's sink health (`failing`: a
 * batch failed transiently and none has been delivered since) and its {@link DiskSpool}. While the
 * sink fails, due batches go to disk rather than wait in memory, where a crash would lose them; a
 * full queue moves to disk instead of dropping; a batch in flight is stored so that a crash during
 * its retries loses nothing; what close could not deliver waits there for the next start.
 */
export class Spill {
  readonly spool: DiskSpool
  readonly #log: RecordLog
  readonly #ledger: Ledger
  readonly #queue: Admission
  readonly #batcher: Batcher
  /** Records per spooled batch: batch.maxRecords, and the rate limit's records per window (a spooled batch is sent whole). */
  readonly #maxRecords: number
  /** Called when records reached the disk while the sink fails: flush() counts them as settled. */
  readonly #stored: () => void
  /** No spilling before this time (ms epoch): the spool failed to write just now. */
  #brokenUntil = 0
  #failing = false

  constructor(
    options: ResolvedSpoolOptions,
    name: string,
    parts: { log: RecordLog; ledger: Ledger; queue: Admission; batcher: Batcher; maxRecords: number; stored: () => void },
  ) {
    this.#log = parts.log
    this.#ledger = parts.ledger
    this.#queue = parts.queue
    this.#batcher = parts.batcher
    this.#maxRecords = parts.maxRecords
    this.#stored = parts.stored
    try {
      // An unread frame that is gone (evicted from a full spool, or its file removed) is counted.
      this.spool = new DiskSpool(options, name, (frame, reason) => parts.ledger.spoolLost(frame, reason))
    } catch (error) {
      throw new ConfigError(`pino-courier: invalid options: spool.dir: cannot use "${options.dir}" (${errorMessage(error)})`, {
        paths: ['spool.dir'],
        cause: error,
      })
    }
    this.#ledger.recovered(this.spool.unreadRecords, this.spool.unreadBytes)
  }

  /** Whether the sink is failing: records then go to disk, and flush() counts them as settled there. */
  get failing(): boolean {
    return this.#failing
  }

  /**
   * A batch failed transiently: it is stored (so that a crash during its retries loses nothing), and
   * the sink counts as failing (`sinkFailing`: not when it took part of the batch and asked for the
   * rest again). True when that is news: the sender then moves due records to disk.
   */
  failedTransiently(batch: DeliveryBatch, sinkFailing: boolean): boolean {
    if (!batch.frame && this.writable()) this.persist(batch)
    if (this.#failing || !sinkFailing) return false
    this.#failing = true
    return true
  }

  /** A batch was delivered: the sink is back. */
  recovered(): void {
    this.#failing = false
  }

  /** Whether the spool may be written now (not just after a write error). */
  writable(): boolean {
    return Date.now() >= this.#brokenUntil
  }

  /** The oldest spooled batch, next to send: everything in the spool is older than what waits in memory. */
  peek(): SpoolFrame | undefined {
    return this.spool.peek()
  }

  /**
   * Moves up to `frames` batches from memory to the end of the spool, oldest first: from `group` only
   * when one is named (a queue group that needs room), else from any. A batch the spool cannot take is
   * dropped (`spoolFull` without room, `spoolError` on a write error); after a write error spilling
   * pauses for a while: the queue's own overflow policy then applies, rather than a broken disk
   * swallowing every queue-full.
   */
  spill(frames: number, group?: QueueGroup): void {
    for (let n = 0; n < frames && (group ? group.buffer.size : this.#queue.size) > 0; n++) {
      const cut = this.#batcher.cut(this.#maxRecords, group)
      const log = this.#log
      const result = this.spool.append(frameOf(log, randomUUID(), cut.refs), log.seq(cut.refs[0] as number), 'tail')
      if ('error' in result) {
        this.#writeFailed(result)
        this.#ledger.droppedFromQueue(cut, result.full ? 'spoolFull' : 'spoolError')
      } else this.#ledger.spilled(cut)
      for (const ref of cut.refs) log.release(ref)
      if ('error' in result) break
    }
    this.#queue.boundsChanged()
    if (this.#failing) this.#stored()
  }

  /** Stores a batch that is being sent, so that a crash during its retries loses nothing. */
  persist(batch: DeliveryBatch): void {
    const result = this.spool.append(frameOf(this.#log, batch.id, batch.refs, batch.positions), batch.firstSeq, 'front')
    // Not stored: it goes on as a batch in memory, with the usual retry limits.
    if ('error' in result) {
      this.#writeFailed(result)
      return
    }
    batch.frame = result
    // While the sink fails, a batch on disk counts as settled for flush(): every batch that reaches
    // the disk may be the last one a waiter was waiting for (with several in flight, the first failure
    // finds the others not stored yet).
    if (this.#failing) this.#stored()
  }

  /**
   * A batch read from the spool now holds only the part a sink asked for again: that part goes to disk
   * before the whole batch's copy is given up. Not stored, the whole copy stays (a crash would then
   * send its accepted records again, never lose the part).
   */
  narrowed(batch: DeliveryBatch): void {
    const whole = batch.frame
    if (!whole) return
    batch.frame = undefined
    if (this.writable()) this.persist(batch)
    if (batch.frame) this.spool.done(whole)
    else batch.frame = whole
  }

  /** Reads a spooled batch back to send it, with the id it was spooled with. */
  take(frame: SpoolFrame): Unspooled {
    let content
    try {
      content = this.spool.take(frame)
    } catch (error) {
      // Its file could not be read just now (EMFILE, EIO): the frame stays first in line.
      if (error instanceof SpoolReadError && error.transient) return 'unreadable-now'
      // Damaged on disk: counted, and the next frame goes on.
      this.#ledger.spoolLost(frame, 'spoolError')
      return 'damaged'
    }
    const { lines, levels, positions } = content
    // Back into the log, to be sent like any batch; held by this sender until the batch settles.
    const log = this.#log
    const now = Date.now()
    const refs = lines.map((line, i) => {
      const ref = log.append(line, levels[i] as number, now)
      log.hold(ref)
      return ref
    })
    this.#ledger.unspooled({ count: frame.count, bytes: frame.bytes, refs })
    const batch = new DeliveryBatch(log, refs, frame.bytes, frame.firstSeq, { id: frame.id, frame, positions })
    // The frame's own count and bytes are what the counters moved (the same, unless the file lied).
    batch.count = frame.count
    return batch
  }

  /** The batch settled: its copy on disk is not sent again. */
  done(frame: SpoolFrame): void {
    this.spool.done(frame)
  }

  /** At close: a batch in flight stays in the spool for the next start. False when the spool could not take it. */
  keep(batch: DeliveryBatch): boolean {
    // Its copy went with a removed spool directory: store it again.
    if (batch.frame && !this.spool.isOnDisk(batch.frame)) batch.frame = undefined
    if (!batch.frame) this.persist(batch)
    return batch.frame !== undefined
  }

  /**
   * At close: batches in flight (older) go in front of the spool (`keepInFlight`, newest first, so
   * that they come back oldest first), then what waits in memory behind it. What the spool cannot
   * take is dropped, counted.
   */
  keepAll(inflight: readonly DeliveryBatch[], keepInFlight: (batch: DeliveryBatch) => void): void {
    // A write error (disk full) must not stop the rest from being tried.
    this.#brokenUntil = 0
    for (const batch of [...inflight].sort((a, b) => b.firstSeq - a.firstSeq)) keepInFlight(batch)
    this.#brokenUntil = 0
    while (this.#queue.size > 0) {
      this.spill(Number.POSITIVE_INFINITY)
      this.#brokenUntil = 0
    }
  }

  close(): void {
    this.spool.close()
  }

  #writeFailed(failure: { error: unknown; full: boolean }): void {
    this.spool.noteError(errorMessage(failure.error))
    if (!failure.full) this.#brokenUntil = Date.now() + SPOOL_RETRY_AFTER_ERROR_MS
  }
}

/** A spool frame's content: the batch's id, each record's level and line, and their positions (part of a batch). */
function frameOf(log: RecordLog, id: string, refs: readonly number[], positions?: readonly number[]): FrameContent {
  return { id, levels: refs.map((ref) => log.level(ref)), lines: refs.map((ref) => log.line(ref)), positions }
}
