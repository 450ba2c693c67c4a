import { fdatasyncSync, fstatSync, openSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  ackPath,
  closeFds,
  errorText,
  removeQuietly,
  SEGMENT_SUFFIX,
  segmentBytesFor,
  syncDir,
  writeAll,
  type Segment,
} from './segment.js'
import { OPEN_NOFOLLOW, restoreInstanceDir, type SpoolOwner } from './spool-owner.js'
import type { ResolvedSpoolOptions } from './spool-options.js'
import { setRepeat } from '../timers.js'

/** Numbers of our own segments: appended ones count up from here, ones put in front count down. */
const BASE_SEGMENT_NO = 100_000_000_000

/** What a {@link SegmentStore} tells its spool. */
export interface SegmentStoreEvents {
  /** An error the store got past (the spool keeps the last one for its stats). */
  readonly onError: (message: string) => void
  /**
   * A segment's file was removed under us (someone cleaned the spool directory): its unread frames
   * are lost. Called before the segment is deleted.
   */
  readonly onRemoved: (segment: Segment) => void
}

/**
 * The segment files of one spool instance directory, in replay order, and the one being appended to:
 * creates, seals, syncs and deletes them, and counts their bytes. What the frames in them are (unread,
 * in flight, done) is the spool's business.
 * @internal
 */
export class SegmentStore {
  readonly #dir: string
  readonly #owner: SpoolOwner
  readonly #options: ResolvedSpoolOptions
  readonly #segmentBytes: number
  readonly #events: SegmentStoreEvents
  /** Segments in replay order: adopted ones, then ours (put-in-front ones, then appended ones). */
  #segments: Segment[]
  #write: Segment | undefined
  #nextAppendNo = BASE_SEGMENT_NO
  #nextFrontNo = BASE_SEGMENT_NO - 1
  #bytes = 0
  #syncTimer: NodeJS.Timeout | undefined

  /** Takes over the `recovered` segments (in replay order) and starts the sync timer of fsync: 'interval'. */
  constructor(dir: string, owner: SpoolOwner, options: ResolvedSpoolOptions, recovered: Segment[], events: SegmentStoreEvents) {
    this.#dir = dir
    this.#owner = owner
    this.#options = options
    this.#segmentBytes = segmentBytesFor(options.maxBytes)
    this.#events = events
    this.#segments = recovered
    for (const segment of recovered) this.#bytes += segment.size
    if (options.fsync === 'interval') {
      this.#syncTimer = setRepeat(() => this.#syncNow(), options.fsyncIntervalMs)
      this.#syncTimer.unref()
    }
  }

  /** Segments in replay order. */
  get segments(): readonly Segment[] {
    return this.#segments
  }

  /** The segment frames are appended to, if one is open. */
  get write(): Segment | undefined {
    return this.#write
  }

  /** Bytes of all segment files. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * The segment a frame goes to: the write segment for `'tail'` (a new one when it is full or gone), a
   * new segment in front of all of ours for `'front'`. Throws when a new segment cannot be created.
   */
  segmentFor(where: 'tail' | 'front'): Segment {
    return where === 'tail' ? this.#writeSegment() : this.#newSegment(this.#nextFrontNo--, 'front')
  }

  /** Appends a frame's bytes to the segment. Throws on a write error, after abandoning the segment. */
  append(segment: Segment, frame: Buffer): void {
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
  }

  /** The write segment is full (or broken): it takes no more frames, and goes once all are done. */
  seal(segment: Segment): void {
    if (this.#write === segment) this.#write = undefined
    if (segment.pending === 0) {
      this.delete(segment)
      return
    }
    this.#syncSegment(segment)
    // Reads reopen it read-only when they need it: a sealed segment holds no descriptor meanwhile.
    closeFds(segment)
  }

  /** Forgets a segment and removes its files. Bookkeeping first: a failing unlink changes nothing here. */
  delete(segment: Segment): void {
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
        this.#events.onError(`cannot remove ${path}: ${errorText(error)}`)
      }
    }
    const from = segment.adoptedFrom
    if (from !== undefined && !this.#segments.some((s) => s.adoptedFrom === from)) removeQuietly(from)
  }

  /**
   * Stops the sync timer, syncs, deletes the write segment when it holds nothing to send, and closes
   * every descriptor. The files stay, for the next start.
   */
  close(): void {
    clearInterval(this.#syncTimer)
    if (this.#options.fsync !== 'never') this.#syncNow()
    const write = this.#write
    this.#write = undefined
    if (write && write.pending === 0) this.delete(write)
    for (const segment of this.#segments) closeFds(segment)
  }

  #writeSegment(): Segment {
    const current = this.#write
    if (current && current.size < this.#segmentBytes && !this.#unlinked(current)) return current
    if (current) this.seal(current)
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
    this.#events.onError(`spool file ${segment.path} was removed while in use`)
    this.#events.onRemoved(segment)
    this.delete(segment)
    return true
  }

  #abandonSegment(segment: Segment): void {
    try {
      const size = fstatSync(segment.fd as number).size
      this.#bytes += size - segment.size
      segment.size = size
    } catch {
      // The size stays as counted; the bytes on disk are at most one torn frame more.
    }
    if (segment === this.#write) this.seal(segment)
    else if (segment.pending === 0) this.delete(segment)
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
      this.#events.onError(`spool directory ${this.#dir} was removed while in use; created again`)
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
      this.#events.onError(errorText(error))
    }
  }
}
