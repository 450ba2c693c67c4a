import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
  type Dirent,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { decodeFrame, encodeFrame, FRAME_MAGIC, readFrameInfo, type FrameContent } from './spool-frame.js'
import {
  ADOPTED_PREFIX,
  adoptOrphans,
  checkSharedDir,
  createInstanceDir,
  ensureOwnDir,
  OPEN_NOFOLLOW,
  readFileNoFollow,
  releaseInstanceDir,
  restoreInstanceDir,
  type SpoolOwner,
} from './spool-owner.js'
import type { ResolvedSpoolOptions } from './spool-options.js'
import { setRepeat } from '../timers.js'

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
  /** Written since its last sync (fsync: 'interval'). */
  dirty: boolean
  /** Append/read descriptor (our own write segment), or a read-only one opened on demand. */
  fd: number | undefined
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
 *
 * The spool trusts only directories nobody else can write (see `trustProblem` in spool-owner.ts):
 * `dir` must be writable only by this user or root, or sticky like /tmp; `<dir>/<sender>` must be a
 * real directory (not a link) owned by this user or root and writable by nobody else. Files below
 * are opened with O_NOFOLLOW and created with O_EXCL, so a link planted there is never followed.
 */
export class DiskSpool {
  readonly #options: ResolvedSpoolOptions
  readonly #dir: string
  readonly #owner: SpoolOwner
  readonly #segmentBytes: number
  readonly #onLost: (frame: SpoolFrame, reason: SpoolLoss) => void
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
  /** Adopted segments that could not be read at start-up stay on disk for a later start. */
  #keepDir = false
  #syncTimer: NodeJS.Timeout | undefined
  #closed = false

  /**
   * Opens the spool of sender `name`, adopting what dead owners left. Throws when the directory cannot
   * be created or written, or cannot be trusted (others can write it, or `<dir>/<name>` is a link): a
   * start-up error, whose message names the directory and the fix; the caller reports it against
   * `spool.dir`.
   * `onLost` is told of every unread frame dropped: evicted to stay under `maxBytes` (`spoolFull`), or
   * gone with its file (`spoolError`).
   */
  constructor(options: ResolvedSpoolOptions, name: string, onLost: (frame: SpoolFrame, reason: SpoolLoss) => void) {
    this.#options = options
    this.#segmentBytes = segmentBytesFor(options.maxBytes)
    this.#onLost = onLost
    const spoolDir = resolve(options.dir)
    // Before making anything: a directory made through someone else's link would be made where they chose.
    checkSharedDir(spoolDir)
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 })
    checkSharedDir(spoolDir)
    const root = join(spoolDir, spoolDirName(name))
    ensureOwnDir(root)
    const { dir, owner } = createInstanceDir(root)
    this.#dir = dir
    this.#owner = owner
    for (const adopted of adoptOrphans(root, dir, owner.instance, options.adoptOtherHosts)) {
      const unreadable = this.#recoverDir(adopted, adopted)
      if (unreadable) this.#keepDir = true
      // Nothing left to send in it (or only torn bytes, counted): the directory goes now.
      else if (!this.#segments.some((s) => s.adoptedFrom === adopted)) removeQuietly(adopted)
    }
    if (options.fsync === 'interval') {
      this.#syncTimer = setRepeat(() => this.#syncNow(), options.fsyncIntervalMs)
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

  /** Remembers an error for stats (the caller decides what to do about it). */
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
   * sent, stored so that a crash does not lose it). Returns `{ error, full }` when it cannot be stored:
   * `full` when there is no room (larger than what eviction can free), otherwise a write error. Never
   * throws.
   */
  append(content: FrameContent, firstSeq: number, where: 'tail' | 'front'): SpoolFrame | { error: unknown; full: boolean } {
    if (this.#closed) return { error: new Error('spool closed'), full: false }
    try {
      return this.#append(content, firstSeq, where)
    } catch (error) {
      this.#lastError = errorText(error)
      return { error, full: false }
    }
  }

  /**
   * Reads an unread frame back and marks it in flight. Throws a {@link SpoolReadError}: `transient` when
   * the file could not be opened or read (the frame stays unread, to be tried again), otherwise the
   * frame is damaged (it is done for good, its bytes counted as corrupt).
   */
  take(frame: SpoolFrame): FrameContent {
    if (frame.state !== 'unread') throw new SpoolReadError('spool frame is not unread', false)
    const segment = frame.segment
    const buffer = Buffer.allocUnsafe(frame.size)
    let read = 0
    try {
      segment.fd ??= openSync(segment.path, OPEN_NOFOLLOW.read)
      while (read < frame.size) {
        const n = readSync(segment.fd, buffer, read, frame.size - read, frame.offset + read)
        if (n === 0) break
        read += n
      }
    } catch (error) {
      this.#lastError = errorText(error)
      closeFds(segment)
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
        // The segment was replaced by a link: its frames are gone, and trying again cannot bring
        // them back (nor should the link be read, whatever it points at).
        this.done(frame)
        throw new SpoolReadError(`spool file ${segment.path} was replaced by a symbolic link; not read`, false, error)
      }
      throw new SpoolReadError(`cannot read ${segment.path}: ${errorText(error)}`, true, error)
    }
    this.#markRead(frame)
    try {
      if (read < frame.size) throw new Error(`spool segment ${segment.path} ends inside a frame`)
      return decodeFrame(buffer)
    } catch (error) {
      this.#corruptBytes += frame.size
      this.#corruptRegions++
      this.done(frame)
      throw new SpoolReadError(errorText(error), false, error)
    }
  }

  /** Whether the frame's file is still there (someone may have cleaned the spool directory). */
  isOnDisk(frame: SpoolFrame): boolean {
    const segment = frame.segment
    if (segment.deleted || frame.state === 'done') return false
    try {
      // lstat: a link put in the file's place is not the file.
      return segment.fd === undefined ? lstatSync(segment.path).isFile() : fstatSync(segment.fd).nlink > 0
    } catch {
      return false
    }
  }

  /** Marks a frame done (its batch was delivered, failed or dropped): it is not sent again. Never throws. */
  done(frame: SpoolFrame): void {
    if (frame.state === 'done') return
    if (frame.state === 'unread') this.#markRead(frame)
    frame.state = 'done'
    const segment = frame.segment
    if (segment.deleted) return
    segment.pending--
    if (segment.pending === 0 && segment !== this.#write) {
      this.#deleteSegment(segment)
      return
    }
    try {
      const entry = Buffer.allocUnsafe(4)
      entry.writeUInt32LE(frame.offset, 0)
      // Opened per ack (acks are one per batch, on the slow path): no descriptor per segment stays open.
      const fd = openSync(ackPath(segment), OPEN_NOFOLLOW.append, 0o600)
      try {
        writeAll(fd, entry)
      } finally {
        closeSync(fd)
      }
    } catch (error) {
      // A lost ack only means the frame is sent again after a restart (with its id): a duplicate.
      this.#lastError = errorText(error)
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
    releaseInstanceDir(this.#dir, this.#segments.length === 0 && !this.#keepDir)
  }

  // ---- writing ---------------------------------------------------------------------------------

  #append(content: FrameContent, firstSeq: number, where: 'tail' | 'front'): SpoolFrame | { error: unknown; full: boolean } {
    const frame = encodeFrame(content)
    if (!this.#makeRoom(frame.length)) {
      return {
        error: new Error(`no room for a batch of ${frame.length} bytes in spool.maxBytes (${this.#options.maxBytes})`),
        full: true,
      }
    }
    const segment = where === 'tail' ? this.#writeSegment() : this.#newSegment(this.#nextFrontNo--, 'front')
    const offset = segment.size
    try {
      writeAll(segment.fd as number, frame)
      if (this.#options.fsync === 'always') fdatasyncSync(segment.fd as number)
      else segment.dirty = true
    } catch (error) {
      // A short write (disk full) leaves a torn frame: the segment takes no more frames, and a
      // restart skips the torn bytes by their checksum.
      this.#abandonSegment(segment)
      throw error
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

  #markRead(frame: SpoolFrame): void {
    if (frame.state !== 'unread') return
    frame.state = 'inflight'
    this.#unreadRecords -= frame.count
    this.#unreadBytes -= frame.bytes
  }

  #writeSegment(): Segment {
    const current = this.#write
    if (current && current.size < this.#segmentBytes && !this.#unlinked(current)) return current
    if (current) this.#sealWriteSegment(current)
    const segment = this.#newSegment(this.#nextAppendNo++, 'tail')
    this.#write = segment
    return segment
  }

  /**
   * Whether the segment's file was removed under us (someone cleaned the spool directory): its frames
   * are gone, and writing on would put new ones nowhere.
   */
  #unlinked(segment: Segment): boolean {
    try {
      if (segment.fd === undefined || fstatSync(segment.fd).nlink > 0) return false
    } catch {
      return false
    }
    this.#lastError = `spool file ${segment.path} was removed while in use`
    this.#lose(segment)
    return true
  }

  /** The write segment is full (or broken): it takes no more frames, and goes once all are done. */
  #sealWriteSegment(segment: Segment): void {
    if (this.#write === segment) this.#write = undefined
    if (segment.pending === 0) {
      this.#deleteSegment(segment)
      return
    }
    this.#syncSegment(segment)
    // Reads reopen it read-only when they need it: a sealed segment holds no descriptor meanwhile.
    closeFds(segment)
  }

  #abandonSegment(segment: Segment): void {
    try {
      const size = fstatSync(segment.fd as number).size
      this.#bytes += size - segment.size
      segment.size = size
    } catch {
      // The size stays as counted; the bytes on disk are at most one torn frame more.
    }
    if (segment === this.#write) this.#sealWriteSegment(segment)
    else if (segment.pending === 0) this.#deleteSegment(segment)
  }

  #newSegment(no: number, where: 'tail' | 'front'): Segment {
    const path = join(this.#dir, `${String(no).padStart(12, '0')}${SEGMENT_SUFFIX}`)
    let fd: number
    try {
      // O_EXCL: anything already at the path (a link planted there included) fails the open.
      fd = openSync(path, OPEN_NOFOLLOW.create, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      // The instance directory was removed while in use: make it again, owner file and all.
      restoreInstanceDir(this.#dir, this.#owner)
      this.#lastError = `spool directory ${this.#dir} was removed while in use; created again`
      fd = openSync(path, OPEN_NOFOLLOW.create, 0o600)
    }
    const segment: Segment = {
      no,
      path,
      adoptedFrom: undefined,
      size: 0,
      frames: [],
      pending: 0,
      cursor: 0,
      deleted: false,
      dirty: false,
      fd,
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

  /**
   * Evicts the oldest segments until `bytes` more fit under maxBytes. A segment holding a frame in
   * flight is never evicted: its batch counts on it being on disk. False when there is no room.
   */
  #makeRoom(bytes: number): boolean {
    const max = this.#options.maxBytes
    if (bytes > max) return false
    while (this.#bytes + bytes > max) {
      const victim = this.#segments.find((s) => s !== this.#write && !s.frames.some((f) => f.state === 'inflight'))
      if (victim) {
        this.#evict(victim)
        continue
      }
      // Only the write segment is left: seal it so that it can go too (unless a batch in flight needs it).
      const write = this.#write
      if (!write || write.frames.some((f) => f.state === 'inflight')) return false
      this.#sealWriteSegment(write)
      if (this.#segments.includes(write)) this.#evict(write)
    }
    return true
  }

  #evict(segment: Segment): void {
    for (const frame of segment.frames) {
      if (frame.state !== 'unread') continue
      this.#markRead(frame)
      frame.state = 'done'
      this.#onLost(frame, 'spoolFull')
    }
    this.#deleteSegment(segment)
  }

  /** A segment whose file is gone: its unread frames are lost (counted), its frames in flight go on. */
  #lose(segment: Segment): void {
    for (const frame of segment.frames) {
      if (frame.state !== 'unread') continue
      this.#markRead(frame)
      frame.state = 'done'
      this.#onLost(frame, 'spoolError')
    }
    this.#deleteSegment(segment)
  }

  /** Forgets a segment and removes its files. Bookkeeping first: a failing unlink changes nothing here. */
  #deleteSegment(segment: Segment): void {
    if (segment.deleted) return
    segment.deleted = true
    closeFds(segment)
    this.#bytes -= segment.size
    this.#segments = this.#segments.filter((s) => s !== segment)
    if (this.#write === segment) this.#write = undefined
    for (const path of [segment.path, ackPath(segment)]) {
      try {
        rmSync(path, { force: true })
      } catch (error) {
        // Left on disk (read-only file system, say): a restart finds it and sends it again, with its ids.
        this.#lastError = `cannot remove ${path}: ${errorText(error)}`
      }
    }
    const from = segment.adoptedFrom
    if (from !== undefined && !this.#segments.some((s) => s.adoptedFrom === from)) removeQuietly(from)
  }

  #syncNow(): void {
    for (const segment of this.#segments) this.#syncSegment(segment)
  }

  #syncSegment(segment: Segment): void {
    if (!segment.dirty || segment.fd === undefined || this.#options.fsync === 'never') return
    segment.dirty = false
    try {
      fdatasyncSync(segment.fd)
    } catch (error) {
      // A failing sync shows up as a failing write soon after; the stats say why meanwhile.
      this.#lastError = errorText(error)
    }
  }

  // ---- recovery --------------------------------------------------------------------------------

  /**
   * Indexes the frames an adopted directory holds: nested adoptions first (older), then its segments.
   * Returns true when a segment could not be read (it stays on disk for a later start).
   */
  #recoverDir(dir: string, adoptedFrom: string): boolean {
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    } catch (error) {
      this.#lastError = `cannot read ${dir}: ${errorText(error)}`
      return true
    }
    let unreadable = false
    // Links are skipped (and go with the directory): a spool makes none, and what one points at is
    // not a spool's to send.
    for (const entry of entries) {
      const name = entry.name
      if (!entry.isDirectory() || !name.startsWith(ADOPTED_PREFIX)) continue
      if (this.#recoverDir(join(dir, name), adoptedFrom)) unreadable = true
    }
    for (const entry of entries) {
      const name = entry.name
      if (!entry.isFile() || !name.endsWith(SEGMENT_SUFFIX)) continue
      const no = Number(name.slice(0, -SEGMENT_SUFFIX.length))
      if (!Number.isSafeInteger(no)) continue
      if (!this.#recoverSegment(join(dir, name), no, adoptedFrom)) unreadable = true
    }
    return unreadable
  }

  /** False when the segment could not be read. */
  #recoverSegment(path: string, no: number, adoptedFrom: string): boolean {
    let data: Buffer
    try {
      data = readFileNoFollow(path)
    } catch (error) {
      this.#lastError = `cannot read ${path}: ${errorText(error)}`
      return false
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
      dirty: false,
      fd: undefined,
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
      removeQuietly(path)
      removeQuietly(ackPath(segment))
      return true
    }
    this.#segments.push(segment)
    this.#bytes += segment.size
    return true
  }
}

/** Why a spooled frame was lost: evicted for room, or its file went away. */
export type SpoolLoss = 'spoolFull' | 'spoolError'

/** A frame could not be read back; `transient` when trying again later may work (an I/O error). */
export class SpoolReadError extends Error {
  override readonly name = 'SpoolReadError'
  readonly transient: boolean
  constructor(message: string, transient: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.transient = transient
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
    data = readFileNoFollow(path)
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
  if (segment.fd === undefined) return
  try {
    closeSync(segment.fd)
  } catch {
    // Already closed: nothing to release.
  }
  segment.fd = undefined
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true })
  } catch {
    // Left behind: a later start takes it over (or finds nothing to send in it).
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
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
