import { randomUUID } from 'node:crypto'
import type { LogRecord } from '../input/record.js'
import type { RecordLog } from '../queue/record-log.js'
import type { Batch } from '../sinks/sink.js'
import type { SpoolFrame } from '../spool/disk-spool.js'
import type { GroupCounters } from '../stats/group-stats.js'

/**
 * A batch on its way through the pool: what the sink sees ({@link Batch}) plus the engine's own
 * bookkeeping. It holds its records as refs into the record log: the body is made of slices of the
 * log ({@link ndjson}), and `records` are made only when a sink asks for them. Settled exactly once;
 * its refs are released then.
 */
export class DeliveryBatch implements Batch {
  id: string
  /** The records, as refs into the log, held until the batch settles. */
  refs: number[]
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
  /** When the sender handed it to a worker (ms since epoch): its delivery time is measured from here. */
  dispatchedAt = 0
  /** The batch's copy in the disk spool, once it has one: it is marked done when the batch settles. */
  frame: SpoolFrame | undefined
  /** Id of the batch the records were first sent in: their identities hang on it. */
  readonly originId: string
  /** Position of each record in the first batch, when this batch is part of it (a partial retry). */
  positions: readonly number[] | undefined
  /** Its queue group's counters, when the sender groups its queue (a batch holds one group's records). */
  group: GroupCounters | undefined
  readonly #log: RecordLog
  #records: LogRecord[] | undefined

  constructor(
    log: RecordLog,
    refs: number[],
    bytes: number,
    firstSeq: number,
    options: { id?: string; positions?: readonly number[] | undefined; frame?: SpoolFrame; group?: GroupCounters | undefined } = {},
  ) {
    this.#log = log
    this.id = options.id ?? randomUUID()
    this.refs = refs
    this.bytes = bytes
    this.count = refs.length
    this.firstSeq = firstSeq
    this.frame = options.frame
    // A part of a batch keeps its origin in its id (`<origin>~<n>`), also after a spool replay.
    const tilde = this.id.indexOf('~')
    this.originId = tilde < 0 ? this.id : this.id.slice(0, tilde)
    this.positions = options.positions
    this.group = options.group
  }

  /** The records, made from the log the first time a sink asks (the http sink never does). */
  get records(): readonly LogRecord[] {
    return (this.#records ??= this.refs.map((ref) => this.#log.view(ref)))
  }

  /** The body as NDJSON: slices of the log, one per run of consecutive records. */
  ndjson(): Buffer[] {
    return this.#log.chunks(this.refs)
  }

  /** `<origin id>:<position>`: stable across retries, partial retries and spool replays. */
  readonly recordId = (index: number): string => `${this.originId}:${this.positions ? this.positions[index] : index}`

  /**
   * Keeps only the records at `indexes` (ascending): the part of the batch a sink asked to try again.
   * The batch gets an id of its own (a sink that remembers batch ids must not take it for the whole
   * one it has partly accepted); the records keep their identities. The others are released.
   */
  narrow(indexes: readonly number[]): void {
    const keep = new Set(indexes)
    const refs: number[] = []
    const positions: number[] = []
    const records: LogRecord[] | undefined = this.#records ? [] : undefined
    let bytes = 0
    this.refs.forEach((ref, index) => {
      if (!keep.has(index)) {
        this.#log.release(ref)
        return
      }
      refs.push(ref)
      positions.push(this.positions ? (this.positions[index] as number) : index)
      bytes += this.#log.bytes(ref)
      records?.push(this.#records?.[index] as LogRecord)
    })
    this.refs = refs
    this.#records = records
    this.positions = positions
    this.count = refs.length
    this.bytes = bytes
    // Unique, not counted: a whole batch and its part replayed after a crash must not share an id.
    this.id = `${this.originId}~${randomUUID().slice(0, 8)}`
  }

  /** Some of the records, by index, for the ledger (their refs, still held). */
  part(indexes: readonly number[]): { count: number; bytes: number; refs: number[]; group: GroupCounters | undefined } {
    const refs = indexes.map((i) => this.refs[i] as number)
    let bytes = 0
    for (const ref of refs) bytes += this.#log.bytes(ref)
    return { count: refs.length, bytes, refs, group: this.group }
  }

  /** The batch settled: the log may free its records. Once. */
  release(): void {
    for (const ref of this.refs) this.#log.release(ref)
    this.refs = []
  }
}
