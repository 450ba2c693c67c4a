import * as zlib from 'node:zlib'

/**
 * The spool's on-disk unit: one batch, framed so that a torn write (a crash mid-append) or a flipped
 * bit is detected rather than replayed as garbage.
 *
 * ```
 * magic    4 bytes  "PCS1"
 * length   u32 LE   payload bytes
 * crc32    u32 LE   of the payload
 * payload:
 *   idLength u8, id (ASCII)      the batch id, kept across retries, spool replays and restarts
 *   count    u32 LE              records
 *   [positions count x u32 LE]   only when idLength has its high bit set (0x80 | length): the part
 *                                of a batch a sink asked to retry; each record's position in the
 *                                batch it was first sent in, which its identity hangs on
 *   levels   count x f64 LE      pino level of each record
 *   lengths  count x u32 LE      UTF-8 bytes of each line
 *   lines    the lines, back to back, without separators
 * ```
 * A frame with positions is read by versions that know them; an older version finds its lengths do
 * not add up and counts it as corrupt (it never writes one).
 */
export const FRAME_MAGIC = Buffer.from('PCS1', 'latin1')
/** Bytes before the payload: magic, length, crc32. */
export const FRAME_HEADER_BYTES = 12
/** Largest payload a reader accepts: a corrupt length field must not make it allocate gigabytes. */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024

/** What a frame holds. */
export interface FrameContent {
  readonly id: string
  readonly levels: readonly number[]
  readonly lines: readonly string[]
  /** Each record's position in the batch it was first sent in, when this is part of that batch. */
  readonly positions?: readonly number[] | undefined
}

/** Flag in the id length byte: a positions table follows the count. */
const POSITIONS_FLAG = 0x80

/** Encodes one frame, header included. */
export function encodeFrame(content: FrameContent): Buffer {
  const { id, levels, lines, positions } = content
  const count = lines.length
  const idBytes = Buffer.byteLength(id, 'latin1')
  if (idBytes >= POSITIONS_FLAG) throw new RangeError('frame id longer than 127 bytes')
  let lineBytes = 0
  const lengths = new Array<number>(count)
  for (let i = 0; i < count; i++) {
    const n = Buffer.byteLength(lines[i] as string)
    lengths[i] = n
    lineBytes += n
  }
  const positionBytes = positions ? count * 4 : 0
  const payloadBytes = 1 + idBytes + 4 + positionBytes + count * 12 + lineBytes
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes)
  FRAME_MAGIC.copy(frame, 0)
  frame.writeUInt32LE(payloadBytes, 4)
  let o = FRAME_HEADER_BYTES
  frame.writeUInt8(positions ? idBytes | POSITIONS_FLAG : idBytes, o++)
  o += frame.write(id, o, 'latin1')
  frame.writeUInt32LE(count, o)
  o += 4
  if (positions) for (let i = 0; i < count; i++) o = frame.writeUInt32LE(positions[i] as number, o)
  for (let i = 0; i < count; i++) o = frame.writeDoubleLE(levels[i] as number, o)
  for (let i = 0; i < count; i++) o = frame.writeUInt32LE(lengths[i] as number, o)
  for (let i = 0; i < count; i++) o += frame.write(lines[i] as string, o)
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8)
  return frame
}

/** A frame found in a file: where it is and what it holds, without the lines (see decodeFrame). */
export interface FrameInfo {
  readonly offset: number
  /** Whole frame, header included. */
  readonly size: number
  readonly id: string
  readonly count: number
  /** Sum of the records' `bytes` (lines plus newlines), as the queue counts them. */
  readonly bytes: number
}

/**
 * Reads the frame at `offset` of `buffer` if it is whole and its checksum matches; undefined
 * otherwise (torn, corrupt, or not a frame at all).
 */
export function readFrameInfo(buffer: Buffer, offset: number): FrameInfo | undefined {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return undefined
  if (buffer.compare(FRAME_MAGIC, 0, 4, offset, offset + 4) !== 0) return undefined
  const length = buffer.readUInt32LE(offset + 4)
  if (length > MAX_FRAME_PAYLOAD || length < 6) return undefined
  const end = offset + FRAME_HEADER_BYTES + length
  if (end > buffer.length) return undefined
  const payload = buffer.subarray(offset + FRAME_HEADER_BYTES, end)
  if (crc32(payload) !== buffer.readUInt32LE(offset + 8)) return undefined
  const parsed = parsePayloadHead(payload)
  if (!parsed) return undefined
  return { offset, size: FRAME_HEADER_BYTES + length, id: parsed.id, count: parsed.count, bytes: parsed.lineBytes + parsed.count }
}

/** Decodes a whole frame (header included), checking its checksum. Throws on a bad frame. */
export function decodeFrame(frame: Buffer): FrameContent {
  const info = readFrameInfo(frame, 0)
  if (!info || info.size !== frame.length) throw new Error('corrupt spool frame')
  const payload = frame.subarray(FRAME_HEADER_BYTES)
  const { id, count, linesAt, positionsAt } = parsePayloadHead(payload) as PayloadHead
  let positions: number[] | undefined
  if (positionsAt !== undefined) {
    positions = new Array<number>(count)
    for (let i = 0; i < count; i++) positions[i] = payload.readUInt32LE(positionsAt + 4 * i)
  }
  const levels = new Array<number>(count)
  const lines = new Array<string>(count)
  let o = linesAt - count * 12
  for (let i = 0; i < count; i++, o += 8) levels[i] = payload.readDoubleLE(o)
  let at = linesAt
  for (let i = 0; i < count; i++, o += 4) {
    const n = payload.readUInt32LE(o)
    lines[i] = payload.toString('utf8', at, at + n)
    at += n
  }
  return positions ? { id, levels, lines, positions } : { id, levels, lines }
}

interface PayloadHead {
  id: string
  count: number
  /** Offset of the first line in the payload. */
  linesAt: number
  lineBytes: number
  /** Offset of the positions table, when the frame has one. */
  positionsAt: number | undefined
}

function parsePayloadHead(payload: Buffer): PayloadHead | undefined {
  const head = payload.readUInt8(0)
  const idBytes = head & ~POSITIONS_FLAG
  if (payload.length < 1 + idBytes + 4) return undefined
  const id = payload.toString('latin1', 1, 1 + idBytes)
  const count = payload.readUInt32LE(1 + idBytes)
  const positionsAt = head & POSITIONS_FLAG ? 1 + idBytes + 4 : undefined
  const linesAt = 1 + idBytes + 4 + (positionsAt === undefined ? 0 : count * 4) + count * 12
  if (linesAt > payload.length) return undefined
  const lineBytes = payload.length - linesAt
  // The lengths must add up to the payload: a frame whose crc matches but whose parts do not (a bug,
  // or a file of another version) must not be read as records.
  let sum = 0
  for (let o = linesAt - count * 4; o < linesAt; o += 4) sum += payload.readUInt32LE(o)
  if (sum !== lineBytes) return undefined
  return { id, count, linesAt, lineBytes, positionsAt }
}

// ---- crc32 -----------------------------------------------------------------------------------

let table: Int32Array | undefined

/** CRC-32 (the zlib/PNG polynomial): zlib's native one where Node has it (>= 20.15), else a table. */
export const crc32: (data: Buffer) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data) => (zlib as unknown as { crc32(d: Buffer): number }).crc32(data)
    : crc32Table

/** The table-driven CRC-32, exported for the test that checks it against zlib's. */
export function crc32Table(data: Buffer): number {
  table ??= makeTable()
  let crc = -1
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ (table[(crc ^ (data[i] as number)) & 0xff] as number)
  return (crc ^ -1) >>> 0
}

function makeTable(): Int32Array {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
}
