import { isUtf8 } from 'node:buffer'

/**
 * Splits input chunks (Buffers) into lines on '\n'. A line is handed out as a range of its chunk
 * ({@link LineSplitter.bytes} from {@link LineSplitter.start} to {@link LineSplitter.end}): no string,
 * no per-line Buffer, no copy of the chunk; the courier copies the bytes into its log as they are
 * (Courier.writeBytes), which saves decoding every line and encoding it back. The bytes after
 * the last newline wait for the next chunk (a multi-byte character cut by the chunk boundary stays
 * whole). A trailing '\r' (CRLF input) is cut off. Memory stays bounded: a line growing past
 * `maxLineBytes` without its newline is kept only up to there (it is too big for every sender, which
 * drops and counts it as `oversize`), the rest skipped up to its newline.
 */
export class LineSplitter {
  /** The line {@link next} or {@link end} found: `bytes[start..end)`, without its newline or CR. Valid until the next push. */
  bytes: Buffer = EMPTY
  start = 0
  end = 0
  /**
   * Whether that line is valid UTF-8. Its bytes go to the senders as they are, so one that is not
   * (a stray byte, a cut character) must take the string path, which turns them into U+FFFD as the
   * transport does: forwarded raw, they would make a body no JSON reader has to accept.
   */
  utf8 = true
  readonly #maxLineBytes: number
  /** Bytes of the line being read, waiting for its newline. */
  #pending: Buffer[] = []
  #pendingBytes = 0
  /** The pending line is over maxLineBytes: skip its bytes until its newline. */
  #overlong = false
  /** The line joined from pending bytes, handed out first. */
  #head: Buffer | undefined
  /** The last chunk, its next line's start, and the end of its last complete line (past its newline). */
  #chunk: Buffer = EMPTY
  #pos = 0
  #stop = 0
  /** The complete lines of the chunk (#pos..#stop, cut at newlines: at character boundaries) are all valid UTF-8. */
  #chunkUtf8 = true

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  /** Takes a chunk; then {@link next} hands out its complete lines. */
  push(chunk: Buffer): void {
    this.#head = undefined
    this.#chunk = EMPTY
    this.#pos = 0
    this.#stop = 0
    const first = chunk.indexOf(10)
    if (first < 0) {
      this.#keep(chunk)
      return
    }
    let start = 0
    if (this.#pendingBytes > 0) {
      if (!this.#overlong) this.#pending.push(chunk.subarray(0, first))
      this.#head = this.#takePending()
      start = first + 1
    }
    const last = chunk.lastIndexOf(10)
    this.#chunk = chunk
    this.#pos = start
    this.#stop = last + 1
    // One check of the whole range (SIMD in node): a line is checked on its own only when it fails.
    this.#chunkUtf8 = isUtf8(chunk.subarray(start, last + 1))
    if (last + 1 < chunk.length) this.#keep(chunk.subarray(last + 1))
  }

  /**
   * Finds the next complete line of the last chunk (possibly empty): true, with the line in
   * {@link bytes}/{@link start}/{@link end}; false when there is none left.
   */
  next(): boolean {
    if (this.#head !== undefined) {
      const head = this.#head
      this.#head = undefined
      return this.#found(head, 0, head.length, isUtf8(head))
    }
    if (this.#pos >= this.#stop) return false
    // The chunk has a newline at #stop - 1: indexOf always finds one.
    const start = this.#pos
    const nl = this.#chunk.indexOf(10, start)
    this.#pos = nl + 1
    return this.#found(this.#chunk, start, nl, this.#chunkUtf8 || isUtf8(this.#chunk.subarray(start, nl)))
  }

  /** At the end of input: true with the last line if it had no newline (it is still a line), else false. */
  finish(): boolean {
    if (this.#pendingBytes === 0) return false
    const line = this.#takePending()
    return this.#found(line, 0, line.length, isUtf8(line))
  }

  /** The line found, as a string (for tests and messages; the read loop hands out bytes). */
  text(): string {
    return this.bytes.toString('utf8', this.start, this.end)
  }

  #found(bytes: Buffer, start: number, end: number, utf8: boolean): true {
    this.utf8 = utf8
    this.bytes = bytes
    this.start = start
    // A trailing '\r' (CRLF input) is not part of the line.
    this.end = end > start && bytes[end - 1] === 13 ? end - 1 : end
    return true
  }

  #keep(bytes: Buffer): void {
    if (this.#overlong) return
    // A copy: the chunk may be a buffer read into again (stdin-chunks.ts), and a view would keep all
    // of a larger chunk alive for a few bytes.
    this.#pending.push(Buffer.from(bytes))
    this.#pendingBytes += bytes.length
    // Past the limit the line can only be dropped: what is kept already is enough for that.
    if (this.#pendingBytes > this.#maxLineBytes) this.#overlong = true
  }

  #takePending(): Buffer {
    const pending = this.#pending
    const line = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending)
    this.#pending = []
    this.#pendingBytes = 0
    this.#overlong = false
    return line
  }
}

const EMPTY = Buffer.alloc(0)
