import type { Batch } from './sender.js'

/** The batch as NDJSON: every line followed by a newline. Lines are forwarded as received. */
export function toNdjson(batch: Batch): string {
  let body = ''
  for (const record of batch.records) body += record.line + '\n'
  return body
}

/** The batch as a JSON array of the records, built from the raw lines without re-serializing. */
export function toJsonArray(batch: Batch): string {
  let body = '['
  const { records } = batch
  for (let i = 0; i < records.length; i++) body += (i === 0 ? '' : ',') + (records[i] as { line: string }).line
  return body + ']'
}
