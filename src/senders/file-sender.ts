import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../config-error.js'
import { DeliveryError } from '../queue/delivery-error.js'
import type { DeliveryOptions } from '../queue/queue-options.js'
import { toNdjson } from './ndjson.js'
import { commonSenderShape, QueuedSender, type CommonSenderOptions, type SenderContext } from './queued-sender.js'
import type { Batch, Sink } from './sender.js'

/** Options of {@link createFileSender}. */
export interface FileSenderOptions extends CommonSenderOptions {
  /** File to append NDJSON to. */
  path: string
  /** Create missing parent directories. @default true */
  mkdir?: boolean
  /** Permissions of a file that does not exist yet. @default 0o644 */
  mode?: number
  /** fsync after every batch (durable, slower). @default false */
  fsync?: boolean
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

/** Errors that retrying the same write cannot fix. */
const PERMANENT_FS_CODES = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS', 'EINVAL'])

interface FileSinkOptions {
  path: string
  mkdir: boolean
  mode: number
  fsync: boolean
}

class FileSink implements Sink {
  readonly #path: string
  readonly #options: FileSinkOptions
  #handle: Promise<FileHandle> | undefined

  constructor(options: FileSinkOptions) {
    this.#path = resolve(options.path)
    this.#options = options
  }

  async deliver(batch: Batch): Promise<void> {
    const body = toNdjson(batch)
    let handle: FileHandle
    try {
      handle = await (this.#handle ??= this.#open())
      // writeFile on a handle opened with 'a' loops until every byte is appended.
      await handle.appendFile(body)
      if (this.#options.fsync) await handle.datasync()
    } catch (error) {
      // Reopen on the next attempt: the file may have been moved, deleted or its disk remounted.
      this.reopen()
      const code = (error as NodeJS.ErrnoException).code
      throw new DeliveryError(`cannot append to ${this.#path}: ${(error as Error).message}`, {
        permanent: code !== undefined && PERMANENT_FS_CODES.has(code),
        cause: error,
      })
    }
  }

  /** Closes the current file; the next batch opens the path again (log rotation). */
  reopen(): void {
    const old = this.#handle
    this.#handle = undefined
    old?.then((h) => h.close()).catch(() => undefined)
  }

  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    if (handle) await (await handle.catch(() => undefined))?.close()
  }

  async #open(): Promise<FileHandle> {
    try {
      if (this.#options.mkdir) {
        // When the parent path is a regular file, recursive mkdir fails with EEXIST, which would be
        // retried as transient; let open() report the real, permanent error (ENOTDIR) instead.
        await mkdir(dirname(this.#path), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error
        })
      }
      return await open(this.#path, 'a', this.#options.mode)
    } catch (error) {
      this.#handle = undefined
      throw error
    }
  }
}

/** Appends NDJSON batches to a file. */
export class FileSender extends QueuedSender {
  readonly #sink: FileSink
  /** Absolute path of the file. */
  readonly path: string

  constructor(options: FileSenderOptions, context: SenderContext = {}) {
    const parsed = fileSenderOptionsSchema.safeParse(options)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error)
    const { path, mkdir: makeDirs, mode, fsync, ...common } = options
    const sink = new FileSink({ path, mkdir: makeDirs ?? true, mode: mode ?? 0o644, fsync: fsync ?? false })
    super({ ...common, name: common.name ?? 'file' }, sink, {
      ...context,
      defaults: [FILE_SENDER_DEFAULTS, ...(context.defaults ?? [])],
    })
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
