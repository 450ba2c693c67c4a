import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { decodeFrame, encodeFrame, FRAME_MAGIC, readFrameInfo, type FrameContent } from './spool-frame.js'
import { ADOPTED_PREFIX, adoptOrphans, createInstanceDir, releaseInstanceDir } from './spool-owner.js'
import type { ResolvedSpoolOptions } from './spool-options.js'

/** Where a frame is in its life: waiting to be sent, being sent, or settled (delivered or failed). */
export type FrameState = 'unread' | 'inflight' | 'done'

/** One batch in the spool. */
export interface SpoolFrame {
  readonly id: string
  readonly count: number
  /** Sum of the records' `bytes` (lines plus newlines). */
  readonly bytes: number
  /**
   * Arrival seq of the frame's first record in this process; 0 for frames a previous run left, which
   * are older than anything this process received.
   */
  readonly firstSeq: number
  state: FrameState
  /** @internal */
  readonly segment: Segment
  /** @internal */
  readonly offset: number
  /** @internal Frame bytes, header included. */
  readonly size: number
}

interface Segment {
  readonly no: number
  readonly path: string
  /** The adopted directory it came from (removed once its last segment is), or undefined when ours. */
  readonly adoptedFrom: string | undefined
  size: number
  readonly frames: SpoolFrame[]
  /** Frames not yet done. */
  pending: number
  /** No frame before this index is unread. */
  cursor: number
  deleted: boolean
  /** Append/read descriptor (our own write segment), or a read-only one opened on demand. */
  fd: number | undefined
  ackFd: number | undefined
}

/** Counters of a spool. */
export interface SpoolStats {
  /** Files of spooled frames on disk. */
  readonly segments: number
  /** Bytes of those files. */
  readonly bytes: number
  /** Records waiting in the spool to be sent. */
  readonly unreadRecords: number
  /** Records found at start-up, left by earlier runs. */
  readonly recoveredRecords: number
  /** Bytes of torn or corrupt frames skipped (at start-up or on a read). */
  readonly corruptBytes: number
  /** Stretches of torn or corrupt bytes skipped. */
  readonly corruptRegions: number
  /** The last error writing to the spool, if any. */
  readonly lastError?: string
}

/** Numbers of our own segments: appended ones count up from here, ones put in front count down. */
const BASE_SEGMENT_NO = 100_000_000_000
const SEGMENT_SUFFIX = '.seg'
const ACK_SUFFIX = '.ack'

/** The size a segment file is closed at: a small share of the spool, so evicting one frees little. */
export function segmentBytesFor(maxBytes: number): number {
  return Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 8)))
}

/** Makes a sender name safe as a directory name (any name maps to one directory, no two to the same). */
export function spoolDirName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return safe === '' ? '%' : safe
}

/**
 * An append-only, crash-safe spool of batches for one sender, in `<dir>/<sender>/<instance>/`.
 *
 * Frames are appended to segment files and read back in order; a frame is done once the sender
 * settles its batch (an `.ack` file beside the segment lists the done ones, so a restart does not send
 * them again) and a segment is deleted once all its frames are done. On start-up the directories of
 * dead owners are adopted and their frames go first; torn or corrupt frames are skipped and counted.
 * All I/O is synchronous: a spool is written only on the slow path (a full queue, a failing sink,
 * close), and synchronous writes keep the on-disk order the order of events, also in a crash.
 */
export class DiskSpool {
  readonly #options: ResolvedSpoolOptions
  readonly #dir: string
  readonly #segmentBytes: number
  readonly #onEvict: (frame: SpoolFrame) => void
  /** Segments in replay order: adopted ones, then ours (put-in-front ones, then appended ones). */
  #segments: Segment[] = []
  #write: Segment | undefined
  #nextAppendNo = BASE_SEGMENT_NO
  #nextFrontNo = BASE_SEGMENT_NO - 1
  #bytes = 0
  #unreadRecords = 0
  #unreadBytes = 0
  #recovered = 0
  #corruptBytes = 0
  #corruptRegions = 0
  #lastError: string | undefined
  #dirty = false
  #syncTimer: NodeJS.Timeout | undefined
  #closed = false

  /**
   * Opens the spool of sender `name`, adopting what dead owners left. Throws when the directory cannot
   * be created or written (a start-up error: the caller reports it against `spool.dir`).
   * `onEvict` is told of every unread frame dropped to stay under `maxBytes`.
   */
  constructor(options: ResolvedSpoolOptions, name: string, onEvict: (frame: SpoolFrame) => void) {
    this.#options = options
    this.#segmentBytes = segmentBytesFor(options.maxBytes)
    this.#onEvict = onEvict
    const root = join(resolve(options.dir), spoolDirName(name))
    mkdirSync(root, { recursive: true, mode: 0o700 })
    const { dir, owner } = createInstanceDir(root)
    this.#dir = dir
    for (const adopted of adoptOrphans(root, dir, owner.instance)) {
      this.#recoverDir(adopted, adopted)
      // Nothing left to send in it (or only torn bytes, counted): the directory goes now.
      if (!this.#segments.some((s) => s.adoptedFrom === adopted)) rmSync(adopted, { recursive: true, force: true })
    }
    if (options.fsync === 'interval') {
      this.#syncTimer = setInterval(() => this.#syncNow(), options.fsyncIntervalMs)
      this.#syncTimer.unref()
    }
  }

  /** This instance's directory. */
  get dir(): string {
    return this.#dir
  }

  /** Records waiting to be sent. */
  get unreadRecords(): number {
    return this.#unreadRecords
  }

  /** Bytes (as the queue counts them) of records waiting to be sent. */
  get unreadBytes(): number {
    return this.#unreadBytes
  }

  stats(): SpoolStats {
    return {
      segments: this.#segments.length,
      bytes: this.#bytes,
      unreadRecords: this.#unreadRecords,
      recoveredRecords: this.#recovered,
      corruptBytes: this.#corruptBytes,
      corruptRegions: this.#corruptRegions,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    }
  }

  /** Remembers a write error for stats (the caller decides what to do about it). */
  noteError(message: string): void {
    this.#lastError = message
  }

  /** The oldest unread frame, or undefined. */
  peek(): SpoolFrame | undefined {
    for (const segment of this.#segments) {
      const { frames } = segment
      while (segment.cursor < frames.length && (frames[segment.cursor] as SpoolFrame).state !== 'unread') segment.cursor++
      if (segment.cursor < frames.length) return frames[segment.cursor]
    }
    return undefined
  }

  /**
   * Writes a batch to the spool, at the end (`'tail'`, state unread: it is sent after everything
   * spooled before) or in front of everything of ours (`'front'`, state inflight: a batch already being
   * sent, stored so that a crash does not lose it). Returns `{ error }` when it cannot be stored: larger
   * than the whole spool, or a write error (nothing is thrown).
   */
  append(content: FrameContent, firstSeq: number, where: 'tail' | 'front'): SpoolFrame | { error: unknown } {
    if (this.#closed) return { error: new Error('spool closed') }
    let frame: Buffer
    try {
      frame = encodeFrame(content)
    } catch (error) {
      return { error }
    }
    if (!this.#makeRoom(frame.length)) {
      return { error: new Error(`batch of ${frame.length} bytes does not fit in spool.maxBytes (${this.#options.maxBytes})`) }
    }
    let segment: Segment
    try {
      segment = where === 'tail' ? this.#writeSegment() : this.#newSegment(this.#nextFrontNo--, 'front')
    } catch (error) {
      return { error }
    }
    const offset = segment.size
    try {
      writeAll(segment.fd as number, frame)
      if (this.#options.fsync === 'always') fdatasyncSync(segment.fd as number)
      else this.#dirty = true
    } catch (error) {
      // A short write (disk full) leaves a torn frame: the segment takes no more frames, and a
      // restart skips the torn bytes by their checksum.
      this.#abandonWriteSegment(segment)
      return { error }
    }
    segment.size += frame.length
    this.#bytes += frame.length
    let bytes = 0
    for (const line of content.lines) bytes += Buffer.byteLength(line) + 1
    const entry: SpoolFrame = {
      id: content.id,
      count: content.lines.length,
      bytes,
      firstSeq,
      state: where === 'tail' ? 'unread' : 'inflight',
      segment,
      offset,
      size: frame.length,
    }
    segment.frames.push(entry)
    segment.pending++
    if (entry.state === 'unread') {
      this.#unreadRecords += entry.count
      this.#unreadBytes += entry.bytes
    }
    return entry
  }

  /** Reads an unread frame back and marks it in flight. Throws when it cannot be read or is corrupt. */
  take(frame: SpoolFrame): FrameContent {
    if (frame.state !== 'unread') throw new Error('spool frame is not unread')
    frame.state = 'inflight'
    this.#unreadRecords -= frame.count
    this.#unreadBytes -= frame.bytes
    const segment = frame.segment
    const buffer = Buffer.allocUnsafe(frame.size)
    try {
      segment.fd ??= openSync(segment.path, 'r')
      let read = 0
      while (read < frame.size) {
        const n = readSync(segment.fd, buffer, read, frame.size - read, frame.offset + read)
        if (n === 0) throw new Error(`spool segment ${segment.path} ends inside a frame`)
        read += n
      }
      return decodeFrame(buffer)
    } catch (error) {
      this.#corruptBytes += frame.size
      this.#corruptRegions++
      this.done(frame)
      throw error
    }
  }

  /** Marks a frame done (its batch was delivered, failed or dropped): it is not sent again. */
  done(frame: SpoolFrame): void {
    if (frame.state === 'done') return
    if (frame.state === 'unread') {
      this.#unreadRecords -= frame.count
      this.#unreadBytes -= frame.bytes
    }
    frame.state = 'done'
    const segment = frame.segment
    if (segment.deleted) return
    segment.pending--
    if (segment.pending === 0 && segment !== this.#write) {
      this.#deleteSegment(segment)
      return
    }
    try {
      if (segment.ackFd === undefined) segment.ackFd = openSync(ackPath(segment), 'a', 0o600)
      const entry = Buffer.allocUnsafe(4)
      entry.writeUInt32LE(frame.offset, 0)
      writeSync(segment.ackFd, entry)
    } catch {
      // A lost ack only means the frame is sent again after a restart (with its id): a duplicate.
    }
  }

  /** Syncs, closes the files and releases the directory (kept, with its frames, for the next start). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#syncTimer)
    if (this.#options.fsync !== 'never') this.#syncNow()
    const write = this.#write
    this.#write = undefined
    if (write && write.pending === 0) this.#deleteSegment(write)
    for (const segment of this.#segments) closeFds(segment)
    releaseInstanceDir(this.#dir, this.#segments.length === 0)
  }

  // ---- writing ---------------------------------------------------------------------------------

  #writeSegment(): Segment {
    const current = this.#write
    if (current && current.size < this.#segmentBytes) return current
    if (current) this.#sealWriteSegment(current)
    const segment = this.#newSegment(this.#nextAppendNo++, 'tail')
    this.#write = segment
    return segment
  }

  /** The write segment is full (or broken): it takes no more frames, and goes once all are done. */
  #sealWriteSegment(segment: Segment): void {
    if (this.#write === segment) this.#write = undefined
    if (segment.pending === 0) this.#deleteSegment(segment)
  }

  #abandonWriteSegment(segment: Segment): void {
    try {
      segment.size = fstatSync(segment.fd as number).size
    } catch {
      // The size stays as counted; the bytes on disk are at most one torn frame more.
    }
    if (segment === this.#write) this.#sealWriteSegment(segment)
    else if (segment.pending === 0) this.#deleteSegment(segment)
  }

  #newSegment(no: number, where: 'tail' | 'front'): Segment {
    const path = join(this.#dir, `${String(no).padStart(12, '0')}${SEGMENT_SUFFIX}`)
    const fd = openSync(path, 'wx+', 0o600)
    const segment: Segment = {
      no,
      path,
      adoptedFrom: undefined,
      size: 0,
      frames: [],
      pending: 0,
      cursor: 0,
      deleted: false,
      fd,
      ackFd: undefined,
    }
    if (this.#options.fsync === 'always') syncDir(this.#dir)
    if (where === 'tail') this.#segments.push(segment)
    else {
      // In front of our own segments, behind adopted ones (which are older still).
      const at = this.#segments.findIndex((s) => s.adoptedFrom === undefined)
      this.#segments.splice(at < 0 ? this.#segments.length : at, 0, segment)
    }
    return segment
  }

  /** Evicts the oldest segments until `bytes` more fit under maxBytes. False when they never can. */
  #makeRoom(bytes: number): boolean {
    const max = this.#options.maxBytes
    if (bytes > max) return false
    while (this.#bytes + bytes > max) {
      const victim = this.#segments.find((s) => s !== this.#write)
      if (victim) {
        this.#evict(victim)
        continue
      }
      // Only the write segment is left: seal it so that it can go too.
      if (!this.#write) return false
      this.#sealWriteSegment(this.#write)
    }
    return true
  }

  #evict(segment: Segment): void {
    for (const frame of segment.frames) {
      if (frame.state !== 'unread') continue
      frame.state = 'done'
      this.#unreadRecords -= frame.count
      this.#unreadBytes -= frame.bytes
      this.#onEvict(frame)
    }
    this.#deleteSegment(segment)
  }

  #deleteSegment(segment: Segment): void {
    if (segment.deleted) return
    segment.deleted = true
    closeFds(segment)
    rmSync(segment.path, { force: true })
    rmSync(ackPath(segment), { force: true })
    this.#bytes -= segment.size
    this.#segments = this.#segments.filter((s) => s !== segment)
    if (this.#write === segment) this.#write = undefined
    const from = segment.adoptedFrom
    if (from !== undefined && !this.#segments.some((s) => s.adoptedFrom === from)) {
      rmSync(from, { recursive: true, force: true })
    }
  }

  #syncNow(): void {
    if (!this.#dirty || this.#write?.fd === undefined) return
    this.#dirty = false
    try {
      fdatasyncSync(this.#write.fd)
    } catch {
      // A failing sync shows up as a failing write soon after; nothing to add here.
    }
  }

  // ---- recovery --------------------------------------------------------------------------------

  /** Indexes the frames an adopted directory holds: nested adoptions first (older), then its segments. */
  #recoverDir(dir: string, adoptedFrom: string): void {
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      return
    }
    for (const name of names) if (name.startsWith(ADOPTED_PREFIX)) this.#recoverDir(join(dir, name), adoptedFrom)
    for (const name of names) {
      if (!name.endsWith(SEGMENT_SUFFIX)) continue
      const no = Number(name.slice(0, -SEGMENT_SUFFIX.length))
      if (!Number.isSafeInteger(no)) continue
      this.#recoverSegment(join(dir, name), no, adoptedFrom)
    }
  }

  #recoverSegment(path: string, no: number, adoptedFrom: string): void {
    let data: Buffer
    try {
      data = readFileSync(path)
    } catch {
      return
    }
    const acked = readAcks(`${path.slice(0, -SEGMENT_SUFFIX.length)}${ACK_SUFFIX}`)
    const segment: Segment = {
      no,
      path,
      adoptedFrom,
      size: data.length,
      frames: [],
      pending: 0,
      cursor: 0,
      deleted: false,
      fd: undefined,
      ackFd: undefined,
    }
    let offset = 0
    while (offset < data.length) {
      const info = readFrameInfo(data, offset)
      if (info) {
        if (!acked.has(offset)) {
          segment.frames.push({ ...info, firstSeq: 0, state: 'unread', segment })
          segment.pending++
          this.#recovered += info.count
          this.#unreadRecords += info.count
          this.#unreadBytes += info.bytes
        }
        offset += info.size
        continue
      }
      // A torn or corrupt stretch: skip to the next frame whose checksum holds, and count the bytes.
      const next = nextFrame(data, offset + 1)
      this.#corruptBytes += next - offset
      this.#corruptRegions++
      offset = next
    }
    if (segment.pending === 0) {
      rmSync(path, { force: true })
      rmSync(ackPath(segment), { force: true })
      return
    }
    this.#segments.push(segment)
    this.#bytes += segment.size
  }
}

/** Offset of the next valid frame at or after `from`, or the buffer's length. */
function nextFrame(data: Buffer, from: number): number {
  for (let at = data.indexOf(FRAME_MAGIC, from); at >= 0; at = data.indexOf(FRAME_MAGIC, at + 1)) {
    if (readFrameInfo(data, at)) return at
  }
  return data.length
}

function readAcks(path: string): Set<number> {
  const acked = new Set<number>()
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch {
    return acked
  }
  // A torn last entry (fewer than 4 bytes) is ignored: its frame is sent again, with its id.
  for (let o = 0; o + 4 <= data.length; o += 4) acked.add(data.readUInt32LE(o))
  return acked
}

function ackPath(segment: Segment): string {
  return `${segment.path.slice(0, -SEGMENT_SUFFIX.length)}${ACK_SUFFIX}`
}

function writeAll(fd: number, data: Buffer): void {
  let written = 0
  while (written < data.length) written += writeSync(fd, data, written, data.length - written)
}

function closeFds(segment: Segment): void {
  for (const fd of [segment.fd, segment.ackFd]) {
    if (fd === undefined) continue
    try {
      closeSync(fd)
    } catch {
      // Already closed: nothing to release.
    }
  }
  segment.fd = undefined
  segment.ackFd = undefined
}

function syncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Not every platform can sync a directory; the file's own sync still holds its data.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
