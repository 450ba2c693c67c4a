/**
 * Splits input chunks (Buffers) into lines on '\n'. A chunk is decoded once, up to its last newline,
 * and the lines are slices of that string: no per-line Buffer, no copy of the chunk. The bytes after
 * the last newline wait for the next chunk (a multi-byte character cut by the chunk boundary stays
 * whole). A trailing '\r' (CRLF input) is cut off. Memory stays bounded: a line growing past
 * `maxLineBytes` without its newline is kept only up to there (it is too big for every sender, which
 * drops and counts it as `oversize`), the rest skipped up to its newline.
 */
export class LineSplitter {
  readonly #maxLineBytes: number
  /** Bytes of the line being read, waiting for its newline. */
  #pending: Buffer[] = []
  #pendingBytes = 0
  /** The pending line is over maxLineBytes: skip its bytes until its newline. */
  #overlong = false
  /** The line joined from pending bytes, handed out first. */
  #head: string | undefined
  #text = ''
  #pos = 0

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  /** Takes a chunk; then {@link next} hands out its complete lines. */
  push(chunk: Buffer): void {
    this.#head = undefined
    this.#text = ''
    this.#pos = 0
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
    if (start <= last) this.#text = chunk.toString('utf8', start, last + 1)
    if (last + 1 < chunk.length) this.#keep(chunk.subarray(last + 1))
  }

  /**
   * The next complete line of the last chunk (possibly empty), or undefined when there is none left.
   */
  next(): string | undefined {
    if (this.#head !== undefined) {
      const head = this.#head
      this.#head = undefined
      return withoutCr(head)
    }
    const text = this.#text
    if (this.#pos >= text.length) return undefined
    // The decoded text ends with its newline: indexOf always finds one.
    const nl = text.indexOf('\n', this.#pos)
    const line = text.slice(this.#pos, nl)
    this.#pos = nl + 1
    return withoutCr(line)
  }

  /** At the end of input: the last line if it had no newline (it is still a line), else undefined. */
  end(): string | undefined {
    if (this.#pendingBytes === 0) return undefined
    return withoutCr(this.#takePending())
  }

  #keep(bytes: Buffer): void {
    if (this.#overlong) return
    this.#pending.push(bytes)
    this.#pendingBytes += bytes.length
    // Past the limit the line can only be dropped: what is kept already is enough for that.
    if (this.#pendingBytes > this.#maxLineBytes) this.#overlong = true
  }

  #takePending(): string {
    const pending = this.#pending
    const line = pending.length === 1 ? (pending[0] as Buffer).toString('utf8') : Buffer.concat(pending).toString('utf8')
    this.#pending = []
    this.#pendingBytes = 0
    this.#overlong = false
    return line
  }
}

function withoutCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line
}
