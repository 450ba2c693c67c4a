import type { Batch } from '../senders/sender.js'

/** Bytes of a batch's lines as UTF-8, a newline after each (what `LogRecord.bytes` counts). */
function ndjsonSize(batch: Batch): number {
  let size = 0
  for (const record of batch.records) size += record.bytes
  return size
}

/**
 * The batch as NDJSON, in pieces: a batch the engine made gives slices of its record log (no line is
 * copied; valid until the delivery settles, see Batch.ndjson), any other batch one Buffer.
 */
export function ndjsonPieces(batch: Batch): readonly Buffer[] {
  return typeof batch.ndjson === 'function' ? batch.ndjson() : [buildNdjson(batch)]
}

/**
 * The batch as NDJSON: every line followed by a newline, forwarded as received, in a Buffer of its
 * own (the caller may keep it). A batch the engine made is already NDJSON in its record log: its
 * slices are joined; any other is built straight into one Buffer of the exact size (a string body
 * would be concatenated first and then copied again by the HTTP client or the file write).
 */
export function toNdjson(batch: Batch): Buffer {
  return typeof batch.ndjson === 'function' ? Buffer.concat(batch.ndjson()) : buildNdjson(batch)
}

function buildNdjson(batch: Batch): Buffer {
  const body = Buffer.allocUnsafe(ndjsonSize(batch))
  let offset = 0
  for (const record of batch.records) {
    offset += body.write(record.line, offset, 'utf8')
    body[offset++] = 0x0a
  }
  // Exact for LogRecords (bytes is measured from the line); the cut keeps a hand-made record with a
  // wrong `bytes` from ever sending uninitialised memory.
  return body.subarray(0, offset)
}

/** The batch as a JSON array of the records, built from the raw lines without re-serializing. */
export function toJsonArray(batch: Batch): Buffer {
  if (typeof batch.ndjson === 'function') {
    // NDJSON with its newlines made commas: a newline byte stands only between lines in valid JSON.
    const ndjson = batch.ndjson()
    let size = 0
    for (const piece of ndjson) size += piece.length
    const body = Buffer.allocUnsafe(size + 1)
    body[0] = 0x5b // [
    let offset = 1
    for (const piece of ndjson) offset += piece.copy(body, offset)
    for (let i = 1; i < offset; i++) if (body[i] === 0x0a) body[i] = 0x2c
    if (offset === 1) return Buffer.from('[]')
    body[offset - 1] = 0x5d // ]
    return body.subarray(0, offset)
  }
  // Each record's newline becomes a comma (or the closing bracket), and the opening bracket is one more.
  const body = Buffer.allocUnsafe(Math.max(ndjsonSize(batch), 1) + 1)
  let offset = 0
  body[offset++] = 0x5b // [
  const { records } = batch
  for (let i = 0; i < records.length; i++) {
    if (i > 0) body[offset++] = 0x2c // ,
    offset += body.write((records[i] as { line: string }).line, offset, 'utf8')
  }
  body[offset++] = 0x5d // ]
  return body.subarray(0, offset)
}
