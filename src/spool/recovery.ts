import { readdirSync, type Dirent } from 'node:fs'
import { join } from 'node:path'
import { ACK_SUFFIX, ackPath, errorText, readAcks, removeQuietly, SEGMENT_SUFFIX, type Segment } from './segment.js'
import { FRAME_MAGIC, readFrameInfo } from './spool-frame.js'
import { ADOPTED_PREFIX, adoptOrphans, readFileNoFollow } from './spool-owner.js'

/** What start-up found in the directories of dead owners. */
export interface Recovered {
  /** Segments with frames left to send, in replay order (nested adoptions first, as they are older). */
  readonly segments: Segment[]
  /** Records in those frames, all unread. */
  readonly records: number
  /** Bytes (as the queue counts them) of those records. */
  readonly unreadBytes: number
  /** Bytes of torn or corrupt frames skipped. */
  readonly corruptBytes: number
  /** Stretches of torn or corrupt bytes skipped. */
  readonly corruptRegions: number
  /** The last error reading what was adopted, if any. */
  readonly lastError: string | undefined
  /** A segment could not be read: it stays on disk for a later start, so the instance directory must stay. */
  readonly keepDir: boolean
}

/**
 * Adopts the directories dead owners left under `root` into `dir` (see `adoptOrphans` in
 * spool-owner.ts) and indexes the frames in them that are not done. Torn or corrupt frames are skipped
 * and counted; an adopted directory with nothing left to send is removed now.
 */
export function recoverOrphans(root: string, dir: string, instance: string, adoptOtherHosts: boolean): Recovered {
  const recovery = new Recovery()
  for (const adopted of adoptOrphans(root, dir, instance, adoptOtherHosts)) {
    const unreadable = recovery.recoverDir(adopted, adopted)
    if (unreadable) recovery.keepDir = true
    // Nothing left to send in it (or only torn bytes, counted): the directory goes now.
    else if (!recovery.segments.some((s) => s.adoptedFrom === adopted)) removeQuietly(adopted)
  }
  return recovery
}

class Recovery implements Recovered {
  readonly segments: Segment[] = []
  records = 0
  unreadBytes = 0
  corruptBytes = 0
  corruptRegions = 0
  lastError: string | undefined
  keepDir = false

  /**
   * Indexes the frames an adopted directory holds: nested adoptions first (older), then its segments.
   * Returns true when a segment could not be read (it stays on disk for a later start).
   */
  recoverDir(dir: string, adoptedFrom: string): boolean {
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    } catch (error) {
      this.lastError = `cannot read ${dir}: ${errorText(error)}`
      return true
    }
    let unreadable = false
    // Links are skipped (and go with the directory): a spool makes none, and what one points at is
    // not a spool's to send.
    for (const entry of entries) {
      const name = entry.name
      if (!entry.isDirectory() || !name.startsWith(ADOPTED_PREFIX)) continue
      if (this.recoverDir(join(dir, name), adoptedFrom)) unreadable = true
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
      this.lastError = `cannot read ${path}: ${errorText(error)}`
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
          this.records += info.count
          this.unreadBytes += info.bytes
        }
        offset += info.size
        continue
      }
      // A torn or corrupt stretch: skip to the next frame whose checksum holds, and count the bytes.
      const next = nextFrame(data, offset + 1)
      this.corruptBytes += next - offset
      this.corruptRegions++
      offset = next
    }
    if (segment.pending === 0) {
      removeQuietly(path)
      removeQuietly(ackPath(segment))
      return true
    }
    this.segments.push(segment)
    return true
  }
}

/** Offset of the next valid frame at or after `from`, or the buffer's length. */
function nextFrame(data: Buffer, from: number): number {
  for (let at = data.indexOf(FRAME_MAGIC, from); at >= 0; at = data.indexOf(FRAME_MAGIC, at + 1)) {
    if (readFrameInfo(data, at)) return at
  }
  return data.length
}
