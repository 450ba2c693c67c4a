import { statSync } from 'node:fs'
import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../../config/config-error.js'
import { errorMessage } from '../../error-message.js'
import { DeliveryError } from '../../pool/delivery-error.js'
import { toNdjson } from '../ndjson.js'
import type { Batch, DeliveryContext, Sink } from '../sink.js'

/** Errors that retrying the same write cannot fix. */
const PERMANENT_FS_CODES = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS', 'EINVAL'])

/**
 * Most batches whose partial write is remembered (see {@link FileSink}). An entry is a few numbers;
 * it exists only from a failed attempt that left part of a batch in the file until the batch's next
 * attempt completes it, so in practice there are as many as batches in flight (`pool.concurrency`).
 * Past the bound the oldest is forgotten: its retry then appends the whole batch again.
 */
export const MAX_PARTIAL_BATCHES = 256

export interface FileSinkOptions {
  path: string
  mkdir: boolean
  mode: number
  fsync: boolean
}

/** An open file and what kind it is. */
interface OpenFile {
  readonly handle: FileHandle
  /** A regular file: its size tells where our bytes end, and it can be truncated. */
  readonly regular: boolean
}

/** What an earlier, failed attempt of a batch left in the file. */
interface PartialBatch {
  /** Bytes of the batch's NDJSON body in the file, from its start. */
  readonly written: number
  /** Length of the body and number of records: a batch with the same id but other content is not it. */
  readonly total: number
  readonly records: number
  /**
   * Set when `written` ends inside a line that could not be cut off: the file (device, inode) and
   * its size right after that line's fragment. While the file is still that size, the fragment is its
   * last bytes and the retry completes the line from the next byte.
   */
  readonly fragmentEnd?: { readonly dev: bigint; readonly ino: bigint; readonly size: bigint }
}

/** Offset just past the last newline of `body` before `offset` (0 when there is none): where the line holding `offset` starts. */
function lineStart(body: Buffer, offset: number): number {
  return offset === 0 ? 0 : body.lastIndexOf(0x0a, offset - 1) + 1
}

/**
 * Appends batches to one file, so that a batch's records are in the file once each and no torn line
 * stays behind, even when a write fails part-way (ENOSPC on a full disk, EIO, a timeout or close
 * deadline between two writes).
 *
 * - Batches are written one at a time, each with its own write loop: the sink knows how many bytes of
 *   it landed. The file is opened with O_APPEND, so other processes appending to the same file never
 *   overwrite our lines nor we theirs (each write() lands at the end at that moment).
 * - When an attempt fails after some bytes landed, the file is cut back (ftruncate) to the end of the
 *   last complete line of the batch, and the number of bytes of the batch kept is remembered by
 *   `batch.id` (the engine retries a batch under the same id, also from the disk spool). The retry
 *   appends only the rest. The cut is made only when the file's size is exactly its size before the
 *   attempt plus the bytes we wrote, i.e. nobody else appended or truncated meanwhile: a cut would
 *   otherwise remove another writer's bytes. (A writer appending between that check and the cut is
 *   not seen: O_APPEND files have no cheaper lock; logs shared by several writers should each have
 *   their own file.)
 * - When the cut is impossible but the fragment is still the end of the file (ftruncate failed, or
 *   the file is a pipe or a terminal, which have no size and cannot be cut), the retry resumes at the
 *   byte after the fragment, so the line is completed and not written twice. When the fragment is no
 *   longer the end of the file (another writer appended after it, the file was truncated or
 *   replaced), the line it belongs to is broken whatever we do: the retry then writes that record
 *   whole from its start, so it is in the file intact once (beside the unreadable fragment) rather
 *   than lost in a second broken line.
 * - A batch counts as delivered (deliver resolves) only once all its bytes are in the file (and
 *   synced, with `fsync`). A failed datasync after a complete write is retried alone: the bytes are
 *   in the file already and are not appended again.
 *
 * What is remembered lives in memory: if the process ends between a partial write and the retry (a
 * spooled batch then goes again at the next start), the records of the batch that were written are
 * written again (duplicates, never a torn line: the cut happened at the failure).
 */
export class FileSink implements Sink {
  readonly #path: string
  readonly #options: FileSinkOptions
  #file: Promise<OpenFile> | undefined
  /** Batches that left part of themselves in the file, by id, oldest first (bounded). */
  readonly #partial = new Map<string, PartialBatch>()
  /** The last append, settled or not: appends run one after the other. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor(options: FileSinkOptions) {
    this.#path = resolve(options.path)
    this.#options = options
  }

  deliver(batch: Batch, context?: DeliveryContext): Promise<void> {
    // One batch at a time, also with pool.concurrency > 1 and after an attempt that timed out: the
    // engine stops waiting for it, but its writes go on until the next check of the signal, and the
    // batch's retry must see what they left.
    const appended = this.#tail.then(() => this.#append(batch, context?.signal))
    this.#tail = appended.catch(() => undefined)
    return appended
  }

  async #append(batch: Batch, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted()
    const body = toNdjson(batch)
    let partial = this.#partial.get(batch.id)
    if (partial && (partial.total !== body.length || partial.records !== batch.records.length)) {
      this.#partial.delete(batch.id)
      partial = undefined
    }
    let start = partial?.written ?? 0
    let file: OpenFile | undefined
    /** Size of the file before this attempt's first write (regular files only). */
    let base: bigint | undefined
    let landed = 0
    try {
      file = await (this.#file ??= this.#open())
      if (file.regular) {
        const before = await file.handle.stat({ bigint: true })
        base = before.size
        const fragment = partial?.fragmentEnd
        if (start !== lineStart(body, start)) {
          const stillTail =
            fragment !== undefined && fragment.dev === before.dev && fragment.ino === before.ino && fragment.size === before.size
          // The fragment is no longer the end of this file: its line is broken for good; write the
          // record whole so that it is in the file once, intact.
          if (!stillTail) start = lineStart(body, start)
        }
      }
      while (start + landed < body.length) {
        signal?.throwIfAborted()
        const { bytesWritten } = await file.handle.write(body, start + landed, body.length - start - landed, null)
        if (bytesWritten <= 0) throw Object.assign(new Error('write() wrote nothing'), { code: 'EIO' })
        landed += bytesWritten
      }
      if (this.#options.fsync) await file.handle.datasync()
      this.#partial.delete(batch.id)
    } catch (error) {
      if (file) await this.#remember(batch, body, file, base, start, landed, partial)
      // Reopen on the next attempt: the file may have been moved, deleted or its disk remounted.
      this.reopen()
      const code = (error as NodeJS.ErrnoException).code
      throw new DeliveryError(`cannot append to ${this.#path}: ${errorMessage(error)}`, {
        permanent: code !== undefined && PERMANENT_FS_CODES.has(code),
        cause: error,
      })
    }
  }

  /**
   * After a failed attempt that wrote `landed` bytes of `body` from `start`: cuts a torn line off the
   * file when it can, and remembers how much of the batch is in the file. Never throws.
   */
  async #remember(
    batch: Batch,
    body: Buffer,
    file: OpenFile,
    base: bigint | undefined,
    start: number,
    landed: number,
    before: PartialBatch | undefined,
  ): Promise<void> {
    const reached = start + landed
    const keep = (written: number, fragmentEnd?: PartialBatch['fragmentEnd']): void => {
      this.#partial.delete(batch.id)
      if (written === 0) return
      this.#partial.set(batch.id, { written, total: body.length, records: batch.records.length, ...(fragmentEnd ? { fragmentEnd } : {}) })
      // Forget the oldest beyond the bound (a Map iterates in insertion order).
      for (const id of this.#partial.keys()) {
        if (this.#partial.size <= MAX_PARTIAL_BATCHES) break
        this.#partial.delete(id)
      }
    }
    const lineEnd = lineStart(body, reached)
    // Complete lines only (or everything, when the datasync after a complete write failed).
    if (reached === lineEnd || reached === body.length) return keep(reached)
    if (!file.regular) {
      // A pipe or terminal: the bytes are gone to the reader, and nothing else writes between two
      // of our writes of this stream. The retry completes the line.
      return keep(reached)
    }
    // The file's size could not be read before writing (so nothing was written): as it was.
    if (base === undefined) return keep(reached, reached === before?.written ? before.fragmentEnd : undefined)
    let now
    try {
      now = await file.handle.stat({ bigint: true })
    } catch {
      // Cannot tell whether the fragment is still the end of the file: write its record whole.
      return keep(lineEnd)
    }
    if (now.size !== base + BigInt(landed)) {
      // Someone else appended or truncated meanwhile: a cut could remove their bytes, and our
      // fragment is not provably the end of the file. The retry writes the torn record whole.
      return keep(lineEnd)
    }
    // `start` inside a line means the attempt resumed a fragment that was the file's tail: the cut
    // may reach back into it (to the start of its line).
    const cutAt = base - BigInt(start - lineEnd)
    try {
      await file.handle.truncate(Number(cutAt))
      return keep(lineEnd)
    } catch {
      // The fragment stays, as the end of the file: the retry completes its line if it still is.
      return keep(reached, { dev: now.dev, ino: now.ino, size: now.size })
    }
  }

  /** Closes the current file; the next batch opens the path again (log rotation). */
  reopen(): void {
    const old = this.#file
    this.#file = undefined
    // An append under way finishes in the old file (and may still need its handle to cut a torn
    // line off): close it after that.
    void this.#tail
      .then(() => old)
      .then((f) => f?.handle.close())
      .catch(() => undefined)
  }

  async close(): Promise<void> {
    // The append under way stops at its next write (the close deadline aborts it) and may still cut
    // its torn line off: wait for it before closing the file.
    await this.#tail
    const file = this.#file
    this.#file = undefined
    this.#partial.clear()
    if (file) await (await file.catch(() => undefined))?.handle.close()
  }

  async #open(): Promise<OpenFile> {
    try {
      if (this.#options.mkdir) {
        // When the parent path is a regular file, recursive mkdir fails with EEXIST, which would be
        // retried as transient; let open() report the real, permanent error (ENOTDIR) instead.
        await mkdir(dirname(this.#path), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error
        })
      }
      const handle = await open(this.#path, 'a', this.#options.mode)
      try {
        return { handle, regular: (await handle.stat()).isFile() }
      } catch (error) {
        await handle.close().catch(() => undefined)
        throw error
      }
    } catch (error) {
      this.#file = undefined
      throw error
    }
  }
}

/**
 * With `mkdir: false` the directory of `path` must exist when the sender is made: a missing one would
 * otherwise be retried for as long as `retry` allows, and fail every batch. (Removed later, while
 * running, it is a runtime failure: see the README.)
 */
export function checkDirectory(path: string): void {
  const dir = dirname(resolve(path))
  let problem: string | undefined
  try {
    if (!statSync(dir).isDirectory()) problem = 'is not a directory'
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') problem = 'does not exist'
    else if (code === 'ENOTDIR') problem = 'is not a directory'
    // Anything else (EACCES on a parent, ...) shows at the first write, with its own code.
  }
  if (problem) {
    throw new ConfigError(
      `pino-courier: invalid options: path: the directory "${dir}" ${problem} (with mkdir: false it must exist: create it, or set mkdir: true)`,
      { paths: ['path'] },
    )
  }
}
