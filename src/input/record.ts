/**
 * A record and how a line becomes one: the record itself (log-record.ts), the parser
 * (record-parser.ts) and the exact JSON check it runs on every line (json-check.ts).
 */
export { FALLBACK_LEVEL, LogRecord, nextSeq } from './log-record.js'
export { createRecord, RecordParser, type RecordParserOptions } from './record-parser.js'
export { isJsonObjectText, jsonObjectBytes } from './json-check.js'
