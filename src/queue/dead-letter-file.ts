import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { LogRecord } from '../record.js'
import type { DeadLetterOptions } from '../spool/spool-options.js'

/**
 * Where a sender appends the records of batches that failed for good (a 400, retries used up): the
 * NDJSON lines exactly as they would have been sent, so they can be inspected and sent again by hand.
 * Writes are synchronous appends (one per failed batch, which is rare), so that a crash right after
 * a failure cannot lose the record of it.
 */
export class DeadLetterFile {
  readonly path: string
  readonly #mode: number
  #fd: number | undefined

  constructor(options: DeadLetterOptions) {
    this.path = resolve(options.path)
    this.#mode = options.mode ?? 0o600
  }

  /** Appends the records; throws when the file cannot be written. */
  write(records: readonly LogRecord[]): void {
    let text = ''
    for (const record of records) text += `${record.line}\n`
    const data = Buffer.from(text)
    // Moved away (log rotation) or removed, directory and all: writes to the old descriptor would
    // succeed and land nowhere anyone looks. Failures are rare, so a stat per write costs nothing.
    if (this.#fd !== undefined && !this.#stillThere(this.#fd)) this.close()
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
      this.#fd = openSync(this.path, 'a', this.#mode)
    }
    let written = 0
    try {
      while (written < data.length) written += writeSync(this.#fd, data, written, data.length - written)
    } catch (error) {
      // Open again next time: the file may have been moved away or its disk remounted.
      this.close()
      throw error
    }
  }

  #stillThere(fd: number): boolean {
    try {
      const open = fstatSync(fd)
      const named = statSync(this.path)
      return open.nlink > 0 && open.ino === named.ino && open.dev === named.dev
    } catch {
      return false
    }
  }

  close(): void {
    if (this.#fd === undefined) return
    try {
      closeSync(this.#fd)
    } catch {
      // Already closed.
    }
    this.#fd = undefined
  }
}
