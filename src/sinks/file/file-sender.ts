import { resolve } from 'node:path'
import { z } from 'zod'
import type { BatchOptions, CommonSenderOptions, DeliveryOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { defineSinkType } from '../sink-type.js'
import { checkDirectory, FileSink } from './file-sink.js'

export { MAX_PARTIAL_BATCHES } from './file-sink.js'

/** Options of {@link createFileSender}. */
export interface FileSenderOptions extends CommonSenderOptions {
  /** File to append NDJSON to. */
  path: string
  /**
   * Create missing parent directories. With `false`, the directory must exist when the sender is
   * made (a ConfigError naming `path` otherwise).
   * @default true
   */
  mkdir?: boolean
  /** Permissions of a file that does not exist yet. @default 0o644 */
  mode?: number
  /** fsync after every batch (durable, slower). @default false */
  fsync?: boolean
  /**
   * When a batch leaves: local writes are cheap, so a record waits at most 100 ms by default.
   * @default { maxRecords: 5000, maxBytes: 1048576, maxWaitMs: 100, flushLevel: 'error' }
   */
  batch?: BatchOptions
}

export const fileSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  path: z.string().min(1),
  mkdir: z.boolean().optional(),
  mode: z.number().int().min(0).max(0o7777).optional(),
  fsync: z.boolean().optional(),
})

/**
 * Defaults of the file sender that differ from the general ones: local writes are cheap, so
 * batches leave sooner.
 */
export const FILE_SENDER_DEFAULTS: DeliveryOptions = { batch: { maxWaitMs: 100 } }


/** Appends NDJSON batches to a file. */
export class FileSender extends QueuedSender {
  readonly #sink: FileSink
  /** Absolute path of the file. */
  readonly path: string

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: FileSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(fileSenderOptionsSchema, options)
    const { path, mkdir: makeDirs, mode, fsync, ...common } = options
    const config = resolveSenderConfig(common, context, FILE_SENDER_DEFAULTS, 'file')
    if (makeDirs === false) checkDirectory(path)
    const sink = new FileSink({ path, mkdir: makeDirs ?? true, mode: mode ?? 0o644, fsync: fsync ?? false })
    super(config, sink, context)
    this.#sink = sink
    this.path = resolve(path)
  }

  /** Closes the file; the next batch opens the path again. Call after rotating the file. */
  reopen(): void {
    this.#sink.reopen()
  }
}

/**
 * Creates a sender that appends NDJSON batches to `path` (parent directories created).
 * @example createFileSender({ path: 'logs/app.ndjson', level: 'info' })
 */
export function createFileSender(options: FileSenderOptions, context?: SenderContext): FileSender {
  return new FileSender(options, context)
}

/** `{ type: 'file', path, … }` in the transport options. */
export const fileSinkType = defineSinkType({
  type: 'file',
  schema: fileSenderOptionsSchema as z.ZodType<FileSenderOptions>,
  defaults: FILE_SENDER_DEFAULTS,
  queued: true,
  create: (options: FileSenderOptions, context) => new FileSender(options, context, CHECKED),
})
