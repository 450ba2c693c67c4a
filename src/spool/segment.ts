import { closeSync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { OPEN_NOFOLLOW, readFileNoFollow } from './spool-owner.js'

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

/**
 * One segment file of the spool, `<no>.seg`, and what is known of its frames. Frames are appended to
 * it one after another; the `<no>.ack` file beside it lists the offsets of the frames that are done
 * (one 4-byte little-endian entry each), so that a restart does not send them again.
 * @internal
 */
export interface Segment {
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

/** Ending of a segment file's name (`<no>.seg`). */
export const SEGMENT_SUFFIX = '.seg'
/** Ending of the name of a segment's ack file (`<no>.ack`), beside it. */
export const ACK_SUFFIX = '.ack'

/** The size a segment file is closed at: a small share of the spool, so evicting one frees little. */
export function segmentBytesFor(maxBytes: number): number {
  return Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 8)))
}

/** Path of the segment's `.ack` file. */
export function ackPath(segment: Segment): string {
  return `${segment.path.slice(0, -SEGMENT_SUFFIX.length)}${ACK_SUFFIX}`
}

/**
 * Reads `buffer.length` bytes of the segment from `position` into `buffer`, opening the file read-only
 * when no descriptor is open. Returns how many bytes were read: fewer when the file ends first.
 * Throws on an I/O error.
 */
export function readInto(segment: Segment, buffer: Buffer, position: number): number {
  let read = 0
  segment.fd ??= openSync(segment.path, OPEN_NOFOLLOW.read)
  while (read < buffer.length) {
    const n = readSync(segment.fd, buffer, read, buffer.length - read, position + read)
    if (n === 0) break
    read += n
  }
  return read
}

/** Records the frame at `offset` as done in the segment's `.ack` file. Throws on an I/O error. */
export function appendAck(segment: Segment, offset: number): void {
  const entry = Buffer.allocUnsafe(4)
  entry.writeUInt32LE(offset, 0)
  // Opened per ack (acks are one per batch, on the slow path): no descriptor per segment stays open.
  const fd = openSync(ackPath(segment), OPEN_NOFOLLOW.append, 0o600)
  try {
    writeAll(fd, entry)
  } finally {
    closeSync(fd)
  }
}

/** The offsets an `.ack` file lists as done; none when it cannot be read. */
export function readAcks(path: string): Set<number> {
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

/** Closes the segment's descriptor, if one is open. Never throws. */
export function closeFds(segment: Segment): void {
  if (segment.fd === undefined) return
  try {
    closeSync(segment.fd)
  } catch {
    // Already closed: nothing to release.
  }
  segment.fd = undefined
}

// ---- file helpers -------------------------------------------------------------------------------

/** Writes all of `data`, however many writes it takes. */
export function writeAll(fd: number, data: Buffer): void {
  let written = 0
  while (written < data.length) written += writeSync(fd, data, written, data.length - written)
}

/** Removes a file or a directory tree; a failure leaves it behind, silently. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true })
  } catch {
    // Left behind: a later start takes it over (or finds nothing to send in it).
  }
}

/** Syncs a directory (its entries), where the platform can. Never throws. */
export function syncDir(dir: string): void {
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

/** An error's message, for stats. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
