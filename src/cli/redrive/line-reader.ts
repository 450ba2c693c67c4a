import type { FileHandle } from 'node:fs/promises'

/** One line of the file: its text (without the newline) and where its bytes are. */
export interface FileLine {
  readonly text: string
  /** Offset of its first byte. */
  readonly start: number
  /** Offset just past its newline (or its last byte, for a last line without one). */
  readonly end: number
}

const CHUNK_BYTES = 256 * 1024

/**
 * Reads a file line by line from its start, by offset, so that the caller knows which bytes each line
 * is (to copy the lines it keeps, and the tail past what it read, into the file's next version). Reads
 * only when asked for the next line: a caller that waits (backpressure) holds the reading.
 */
export class LineReader {
  readonly #file: FileHandle
  readonly #buffer = Buffer.allocUnsafe(CHUNK_BYTES)
  /** Bytes read but not yet returned as lines, and the file offset of the first of them. */
  #pending: Buffer = Buffer.alloc(0)
  #pendingAt = 0
  /** Leading bytes of #pending already searched for a newline (none there): not searched again. */
  #searched = 0
  /** Where the next read starts. */
  #position = 0
  #eof = false

  constructor(file: FileHandle) {
    this.#file = file
  }

  /** Offset just past the last whole line returned. */
  get consumed(): number {
    return this.#pendingAt
  }

  /** Bytes read after the last newline (a last line without one, or one being appended). */
  get unterminated(): number {
    return this.#pending.length
  }

  /**
   * The next whole (newline-ended) line, or undefined at the end of the file. A last line without a
   * newline is not returned: see {@link LineReader.takeUnterminated}.
   */
  async next(): Promise<FileLine | undefined> {
    for (;;) {
      const newline = this.#pending.indexOf(0x0a, this.#searched)
      if (newline >= 0) {
        const start = this.#pendingAt
        const text = this.#pending.toString('utf8', 0, newline)
        this.#pending = this.#pending.subarray(newline + 1)
        this.#pendingAt = start + newline + 1
        this.#searched = 0
        return { text, start, end: this.#pendingAt }
      }
      this.#searched = this.#pending.length
      if (this.#eof) return undefined
      await this.#read()
    }
  }

  /** The bytes after the last newline as a line, once the end is reached: a file whose last line has no newline. */
  takeUnterminated(): FileLine | undefined {
    if (!this.#eof || this.#pending.length === 0) return undefined
    this.#searched = 0
    const start = this.#pendingAt
    const text = this.#pending.toString('utf8')
    this.#pendingAt += this.#pending.length
    this.#pending = Buffer.alloc(0)
    return { text, start, end: this.#pendingAt }
  }

  /**
   * Reads on until a read holds a newline (or the end of the file), then joins what was read to the
   * pending bytes once: a line of many reads is copied once, not once per read (which was quadratic:
   * minutes for a line of 100 MB).
   */
  async #read(): Promise<void> {
    const parts: Buffer[] = [this.#pending]
    for (;;) {
      const { bytesRead } = await this.#file.read(this.#buffer, 0, this.#buffer.length, this.#position)
      if (bytesRead === 0) {
        this.#eof = true
        break
      }
      this.#position += bytesRead
      // Copied: the read buffer is reused, and a line may span several reads.
      const read = Buffer.from(this.#buffer.subarray(0, bytesRead))
      parts.push(read)
      if (read.includes(0x0a)) break
    }
    if (parts.length > 1) this.#pending = Buffer.concat(parts)
  }
}
