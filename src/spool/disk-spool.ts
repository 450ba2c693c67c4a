import { fstatSync, lstatSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { recoverOrphans } from './recovery.js'
import { appendAck, closeFds, errorText, readInto, type Segment, type SpoolFrame } from './segment.js'
import { SegmentStore } from './segment-store.js'
import { decodeFrame, encodeFrame, type FrameContent } from './spool-frame.js'
import { checkSharedDir, createInstanceDir, ensureOwnDir, releaseInstanceDir } from './spool-owner.js'
import type { ResolvedSpoolOptions } from './spool-options.js'

export { segmentBytesFor, type FrameState, type SpoolFrame } from './segment.js'

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
 *
 * The pieces: the frames and their states, eviction and the counters are here; the segment files
 * (creating, sealing, syncing, deleting) are a {@link SegmentStore} (segment-store.ts); what one
 * segment and its ack file are, segment.ts; start-up recovery of what dead owners left, recovery.ts.
 */
export class DiskSpool {
  readonly #options: ResolvedSpoolOptions
  readonly #dir: string
  readonly #onLost: (frame: SpoolFrame, reason: SpoolLoss) => void
  readonly #store: SegmentStore
  #unreadRecords = 0
  #unreadBytes = 0
  #recovered = 0
  #corruptBytes = 0
  #corruptRegions = 0
  #lastError: string | undefined
  /** Adopted segments that could not be read at start-up stay on disk for a later start. */
  #keepDir = false
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
    const recovered = recoverOrphans(root, dir, owner.instance, options.adoptOtherHosts)
    this.#recovered = recovered.records
    this.#unreadRecords = recovered.records
    this.#unreadBytes = recovered.unreadBytes
    this.#corruptBytes = recovered.corruptBytes
    this.#corruptRegions = recovered.corruptRegions
    this.#lastError = recovered.lastError
    this.#keepDir = recovered.keepDir
    this.#store = new SegmentStore(dir, owner, options, recovered.segments, {
      onError: (message) => {
        this.#lastError = message
      },
      onRemoved: (segment) => this.#dropUnread(segment, 'spoolError'),
    })
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
      segments: this.#store.segments.length,
      bytes: this.#store.bytes,
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
    for (const segment of this.#store.segments) {
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
    let read: number
    try {
      read = readInto(segment, buffer, frame.offset)
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
    if (segment.pending === 0 && segment !== this.#store.write) {
      this.#store.delete(segment)
      return
    }
    try {
      appendAck(segment, frame.offset)
    } catch (error) {
      // A lost ack only means the frame is sent again after a restart (with its id): a duplicate.
      this.#lastError = errorText(error)
    }
  }

  /** Syncs, closes the files and releases the directory (kept, with its frames, for the next start). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#store.close()
    releaseInstanceDir(this.#dir, this.#store.segments.length === 0 && !this.#keepDir)
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
    const segment = this.#store.segmentFor(where)
    const offset = segment.size
    this.#store.append(segment, frame)
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

  // ---- eviction --------------------------------------------------------------------------------

  /**
   * Evicts the oldest segments until `bytes` more fit under maxBytes. A segment holding a frame in
   * flight is never evicted: its batch counts on it being on disk. False when there is no room.
   */
  #makeRoom(bytes: number): boolean {
    const max = this.#options.maxBytes
    if (bytes > max) return false
    const store = this.#store
    while (store.bytes + bytes > max) {
      const victim = store.segments.find((s) => s !== store.write && !s.frames.some((f) => f.state === 'inflight'))
      if (victim) {
        this.#evict(victim)
        continue
      }
      // Only the write segment is left: seal it so that it can go too (unless a batch in flight needs it).
      const write = store.write
      if (!write || write.frames.some((f) => f.state === 'inflight')) return false
      store.seal(write)
      if (store.segments.includes(write)) this.#evict(write)
    }
    return true
  }

  #evict(segment: Segment): void {
    this.#dropUnread(segment, 'spoolFull')
    this.#store.delete(segment)
  }

  /**
   * The segment's unread frames are lost (evicted, or gone with its file): done, and counted through
   * `onLost`. Its frames in flight go on.
   */
  #dropUnread(segment: Segment, reason: SpoolLoss): void {
    for (const frame of segment.frames) {
      if (frame.state !== 'unread') continue
      this.#markRead(frame)
      frame.state = 'done'
      this.#onLost(frame, reason)
    }
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
