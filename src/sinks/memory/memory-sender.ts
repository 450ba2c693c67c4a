import { z } from 'zod'
import type { CommonSenderOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import type { LogRecord } from '../../input/record.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import type { Batch, Sink } from '../sink.js'
import { defineSinkType } from '../sink-type.js'

/** Options of {@link createMemorySender}. */
export interface MemorySenderOptions extends CommonSenderOptions {
  /** Most records kept; older ones are forgotten first (they still count as delivered). @default 10000 */
  capacity?: number
}

export const memorySenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  capacity: z.number().int().positive().optional(),
})

/** Default number of records a memory sender keeps. */
export const DEFAULT_MEMORY_CAPACITY = 10_000

class RingSink implements Sink {
  readonly capacity: number
  readonly records: LogRecord[] = []
  batches = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  deliver(batch: Batch): Promise<void> {
    this.batches++
    for (const record of batch.records) this.records.push(record)
    const excess = this.records.length - this.capacity
    if (excess > 0) this.records.splice(0, excess)
    return Promise.resolve()
  }
}

/**
 * A sender that keeps the most recent records in memory: the fake for tests and a way to inspect
 * what a logger wrote. It runs through the same queue, batching and stats as every other sender.
 */
export class MemorySender extends QueuedSender {
  readonly #ring: RingSink

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: MemorySenderOptions = {}, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(memorySenderOptionsSchema, options)
    const { capacity, ...common } = options
    const ring = new RingSink(capacity ?? DEFAULT_MEMORY_CAPACITY)
    super(resolveSenderConfig(common, context, undefined, 'memory'), ring, context)
    this.#ring = ring
  }

  /** Delivered records, oldest first (a copy). */
  records(): LogRecord[] {
    return [...this.#ring.records]
  }

  /** Delivered lines, oldest first. */
  lines(): string[] {
    return this.#ring.records.map((r) => r.line)
  }

  /** Delivered log objects, oldest first. */
  values(): Record<string, unknown>[] {
    return this.#ring.records.map((r) => r.value())
  }

  /** Batches delivered so far. */
  get batches(): number {
    return this.#ring.batches
  }

  /** Forgets the kept records (counters are not reset). */
  clear(): void {
    this.#ring.records.length = 0
  }
}

/**
 * Creates a {@link MemorySender}.
 * @example
 * const memory = createMemorySender({ batch: { maxRecords: 1 } })
 * const logger = pino(createCourierStream({ senders: [memory] }))
 */
export function createMemorySender(options: MemorySenderOptions = {}, context?: SenderContext): MemorySender {
  return new MemorySender(options, context)
}

/** `{ type: 'memory' }`: records kept in the sender (read them through the stream's `senders`). */
export const memorySinkType = defineSinkType({
  type: 'memory',
  schema: memorySenderOptionsSchema as z.ZodType<MemorySenderOptions>,
  queued: true,
  create: (options: MemorySenderOptions, context) => new MemorySender(options, context, CHECKED),
})
