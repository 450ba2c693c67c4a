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

/**
 * Each record's line without its newline, one Buffer per record in batch order, for a sink that sends
 * every record as a message of its own (a Kafka message, a NATS publish, a Redis entry).
 *
 * `copy: false` gives slices of the engine's record log, valid until the attempt settles (a client
 * that copies them into its write buffer at once: ioredis); `copy: true` copies them once, into one
 * Buffer for the batch, for a client that may still hold them after an attempt gave up (a kafkajs send
 * or a NATS publish left in a socket's buffer) while the log reuses its memory.
 *
 * A record made in-process from JSON with a raw newline between its tokens (`createRecord('{"a":\n1}')`)
 * would be cut in two at that newline, and every later message would stand for the wrong record (the
 * wrong reply, id or outcome). A piece that does not run from `{` to `}` is such a fragment (no JSON
 * object has `}` right before a newline and `{` right after it): then the records' own lines are used.
 */
export function recordLines(batch: Batch, { copy }: { copy: boolean }): Buffer[] {
  const own = (): Buffer[] => batch.records.map((record) => Buffer.from(record.line))
  if (typeof batch.ndjson !== 'function') return own()
  const pieces = batch.ndjson()
  const sources = copy ? [pieces.length === 1 ? Buffer.from(pieces[0] as Buffer) : Buffer.concat(pieces)] : pieces
  const lines: Buffer[] = []
  for (const piece of sources) {
    for (let at = 0; at < piece.length; ) {
      let end = piece.indexOf(0x0a, at)
      if (end === -1) end = piece.length
      const line = piece.subarray(at, end)
      if (line[0] !== 0x7b /* { */ || line[line.length - 1] !== 0x7d /* } */) return own()
      lines.push(line)
      at = end + 1
    }
  }
  return lines
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
