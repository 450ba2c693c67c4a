import { randomUUID } from 'node:crypto'
import type { LogRecord } from '../input/record.js'
import type { Batch } from '../sinks/sink.js'
import type { SpoolFrame } from '../spool/disk-spool.js'

/**
 * A batch on its way through the pool: what the sink sees ({@link Batch}) plus the engine's own
 * bookkeeping. Built when records leave the queue (or the spool) and settled exactly once.
 */
export class DeliveryBatch implements Batch {
  id: string
  records: readonly LogRecord[]
  bytes: number
  /**
   * Records in the batch, fixed when it is made or narrowed. The counters use this rather than
   * `records.length`: a (JavaScript) sink that empties or splices the array it was given must not
   * skew the stats.
   */
  count: number
  /** Seq of the oldest record: flush() waits for batches older than its target. */
  readonly firstSeq: number
  settled = false
  /** The batch's copy in the disk spool, once it has one: it is marked done when the batch settles. */
  frame: SpoolFrame | undefined
  /** Id of the batch the records were first sent in: their identities hang on it. */
  readonly originId: string
  /** Position of each record in the first batch, when this batch is part of it (a partial retry). */
  positions: readonly number[] | undefined
  /** Partial retries so far: the next one's id is `<originId>~<n>`. */
  #parts = 0

  constructor(
    records: readonly LogRecord[],
    bytes: number,
    firstSeq: number,
    options: { id?: string; originId?: string; positions?: readonly number[]; frame?: SpoolFrame; count?: number } = {},
  ) {
    this.id = options.id ?? randomUUID()
    this.records = records
    this.bytes = bytes
    this.count = options.count ?? records.length
    this.firstSeq = firstSeq
    this.frame = options.frame
    // A part of a batch keeps its origin in its id (`<origin>~<n>`), also after a spool replay.
    const tilde = this.id.indexOf('~')
    this.originId = options.originId ?? (tilde < 0 ? this.id : this.id.slice(0, tilde))
    if (tilde >= 0) this.#parts = Number(this.id.slice(tilde + 1)) || 0
    this.positions = options.positions
  }

  /** `<origin id>:<position>`: stable across retries, partial retries and spool replays. */
  readonly recordId = (index: number): string => `${this.originId}:${this.positions ? this.positions[index] : index}`

  /**
   * Keeps only the records at `indexes` (ascending): the part of the batch a sink asked to try again.
   * The batch gets an id of its own (a sink that remembers batch ids must not take it for the whole
   * one it has partly accepted); the records keep their identities. Returns what was left out.
   */
  narrow(indexes: readonly number[]): { records: LogRecord[]; bytes: number } {
    const keep = new Set(indexes)
    const kept: LogRecord[] = []
    const positions: number[] = []
    const left: LogRecord[] = []
    let keptBytes = 0
    let leftBytes = 0
    this.records.forEach((record, index) => {
      if (keep.has(index)) {
        kept.push(record)
        positions.push(this.positions ? (this.positions[index] as number) : index)
        keptBytes += record.bytes
      } else {
        left.push(record)
        leftBytes += record.bytes
      }
    })
    this.records = kept
    this.positions = positions
    this.count = kept.length
    this.bytes = keptBytes
    this.id = `${this.originId}~${++this.#parts}`
    return { records: left, bytes: leftBytes }
  }
}
