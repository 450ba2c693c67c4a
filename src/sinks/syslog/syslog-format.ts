/**
 * Records as syslog messages: RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`) or
 * the older BSD form of RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`), each cut to the
 * sender's `maxMessageBytes` at a UTF-8 character boundary, and their framing on a stream (RFC 6587:
 * octet counting or a trailing LF).
 */
import type { LogRecord } from '../../input/record.js'
import type { RecordFields } from '../shared/record-fields.js'
import { fieldPath, fieldValue, type FieldPath } from '../shared/field-path.js'

/** The two message formats. */
export type SyslogFormat = 'rfc5424' | 'rfc3164'

/** How messages are delimited on a TCP or TLS stream (RFC 6587). */
export type SyslogFraming = 'octet-counting' | 'lf'

/** What happens to a message longer than `maxMessageBytes`. */
export type OversizePolicy = 'truncate' | 'reject'

/**
 * Facility names and their codes (RFC 5424 §6.2.1; 13-15 named as rsyslog and syslog-ng name them).
 * A `facility` option takes one of these names or a number 0-23.
 */
export const FACILITIES = Object.freeze({
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const)

export type FacilityName = keyof typeof FACILITIES

/** The facility's code. */
export function facilityCode(facility: FacilityName | number): number {
  return typeof facility === 'number' ? facility : FACILITIES[facility]
}

/**
 * A pino level number as a syslog severity: fatal (60) → 2 critical, error (50) → 3, warn (40) → 4
 * warning, info (30) → 6 informational, debug (20) and trace (10) → 7. A custom level goes to the
 * nearest of pino's six by number, a tie to the more severe one (45 → 3 error, 25 → 6 info); above
 * 60 it stays 2, below 10 it stays 7.
 */
export function severityOf(level: number): number {
  if (level >= 55) return 2
  if (level >= 45) return 3
  if (level >= 35) return 4
  if (level >= 25) return 6
  return 7
}

/** A structured-data field: the PARAM-NAME it gets and the record field it reads. */
export interface SdKey extends FieldPath {
  readonly name: string
}

/** Structured data as the encoder takes it: one SD-ELEMENT with the record's fields as params. */
export interface StructuredDataSpec {
  readonly id: string
  readonly keys: readonly SdKey[]
}

/** The keys of a `structuredData.keys` option: a list of paths (each its own name) or `{ name: path }`. */
export function sdKeys(keys: readonly string[] | Readonly<Record<string, string>>): SdKey[] {
  const entries: [string, string][] = Array.isArray(keys) ? keys.map((k: string) => [k, k]) : Object.entries(keys)
  return entries.map(([name, path]) => ({ name, ...fieldPath(path) }))
}

/** What the encoder needs, checked and resolved by the sender. */
export interface EncoderOptions {
  readonly format: SyslogFormat
  readonly facility: number
  /** Printable US-ASCII, at most 255 (5424); already checked or sanitized. */
  readonly hostname: string
  /** APP-NAME (5424) or TAG (3164). */
  readonly appName: string
  readonly procId: string
  /** MSGID, or '-' (5424 only). */
  readonly msgId: string
  readonly messageOnly: boolean
  readonly structuredData: StructuredDataSpec | undefined
  /** Start MSG with the UTF-8 BOM (5424 only). */
  readonly bom: boolean
  readonly maxMessageBytes: number
  /** LF framing: an LF inside a message would end it early, so it is written as the two characters `\n`. */
  readonly escapeLf: boolean
}

/** One record as a syslog message. */
export interface EncodedMessage {
  /** The syslog message (no framing). */
  readonly bytes: Buffer
  /** Its size before it was cut, when it was longer than `maxMessageBytes` (it was cut to fit). */
  readonly originalBytes: number | undefined
}

const BOM = '\uFEFF'
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Turns records into syslog messages, with the sender's header fields and the logger's keys. One per sender. */
export class SyslogEncoder {
  readonly #options: EncoderOptions
  readonly #fields: RecordFields
  /** `<PRI>` (and `1 ` for 5424) by severity. */
  readonly #pri: string[]
  /** What follows the timestamp: ` HOST APP PROCID MSGID ` (5424) or ` HOST TAG[PID]: ` (3164). */
  readonly #tail: string
  #lastMs = Number.NaN
  #lastStamp = ''

  constructor(options: EncoderOptions, fields: RecordFields) {
    this.#options = options
    this.#fields = fields
    const version = options.format === 'rfc5424' ? '1 ' : ''
    this.#pri = Array.from({ length: 8 }, (_, severity) => `<${options.facility * 8 + severity}>${version}`)
    this.#tail =
      options.format === 'rfc5424'
        ? ` ${options.hostname} ${options.appName} ${options.procId} ${options.msgId} `
        : ` ${options.hostname} ${options.appName}[${options.procId}]: `
  }

  /** The message of `record`, cut to `maxMessageBytes` when longer. */
  encode(record: LogRecord): EncodedMessage {
    const options = this.#options
    const needsValue = options.messageOnly || options.structuredData !== undefined || record.malformed
    const value = needsValue ? record.value() : undefined
    const head = this.#pri[severityOf(record.level)] + this.#stamp(this.#fields.recordTimeMs(record, value)) + this.#tail
    let msg = this.#message(record, value)
    if (options.escapeLf && msg.includes('\n')) msg = msg.replaceAll('\n', '\\n')
    if (options.format === 'rfc3164') return fit(head, msg, options.maxMessageBytes, undefined)
    let sd = options.structuredData && value ? structuredData(options.structuredData, value) : '-'
    if (options.escapeLf && sd.includes('\n')) sd = sd.replaceAll('\n', '\\n')
    // RFC 5424: `SD [SP MSG]`, the BOM leading MSG.
    const body = msg === '' ? '' : ` ${options.bom ? BOM : ''}${msg}`
    return fit(head + sd, body, options.maxMessageBytes, head + '-')
  }

  /** MSG: the whole JSON line, or (messageOnly) the record's message when it has one. */
  #message(record: LogRecord, value: Record<string, unknown> | undefined): string {
    // A malformed line travels wrapped as JSON (its raw text under the message key): the text goes.
    if (record.malformed || this.#options.messageOnly) return (value && this.#fields.message(value)) ?? record.line
    return record.line
  }

  #stamp(ms: number): string {
    if (ms === this.#lastMs) return this.#lastStamp
    this.#lastMs = ms
    return (this.#lastStamp = this.#options.format === 'rfc5424' ? rfc3339(ms) : bsdTime(ms))
  }
}

/** RFC 3339 in UTC with milliseconds (`2024-05-01T12:00:00.123Z`), as RFC 5424's TIMESTAMP takes it. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms)).toISOString()
}

/** RFC 3164's TIMESTAMP: `Mmm dd hh:mm:ss` in the process's local time zone, the day padded with a space. */
export function bsdTime(ms: number): string {
  const d = new Date(Math.floor(ms))
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${MONTHS[d.getMonth()] as string} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}

/**
 * `prefix + body` as UTF-8 when it fits in `max` bytes; else cut: the body to what is left after the
 * prefix, at a character boundary. When the prefix alone (with structured data) leaves no room,
 * `fallback` (the header without structured data) stands for it.
 */
function fit(prefix: string, body: string, max: number, fallback: string | undefined): EncodedMessage {
  const whole = prefix + body
  // Fast path: a UTF-16 length within a third of the limit cannot exceed it in UTF-8.
  if (whole.length * 3 <= max) return { bytes: Buffer.from(whole, 'utf8'), originalBytes: undefined }
  const bytes = Buffer.from(whole, 'utf8')
  if (bytes.length <= max) return { bytes, originalBytes: undefined }
  let prefixBytes = Buffer.byteLength(prefix)
  let head = prefix
  if (prefixBytes >= max && fallback !== undefined) {
    head = fallback
    prefixBytes = Buffer.byteLength(fallback)
  }
  const bodyBytes = Buffer.from(body, 'utf8')
  const room = Math.max(0, max - prefixBytes)
  const cut = utf8Boundary(bodyBytes, room)
  const out = Buffer.allocUnsafe(prefixBytes + cut)
  out.write(head, 0, 'utf8')
  bodyBytes.copy(out, prefixBytes, 0, cut)
  return { bytes: out, originalBytes: bytes.length }
}

/** The largest n <= `limit` at which `bytes` can be cut without splitting a UTF-8 character. */
export function utf8Boundary(bytes: Buffer, limit: number): number {
  if (limit >= bytes.length) return bytes.length
  let cut = limit
  // Back off over continuation bytes (10xxxxxx) to the start of the character `limit` falls in.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--
  return cut
}

/** `[ID name="value" …]` with the record's fields that are set, or '-' when none is. */
function structuredData(spec: StructuredDataSpec, value: Record<string, unknown>): string {
  let params = ''
  for (const key of spec.keys) {
    const text = paramText(fieldValue(value, key))
    if (text !== undefined) params += ` ${key.name}="${escapeParam(text)}"`
  }
  return params === '' ? '-' : `[${spec.id}${params}]`
}

/** Strings as they are, numbers and booleans as text, objects and arrays as JSON; null and absent: none. */
function paramText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** RFC 5424 §6.3.3: `"`, `\` and `]` in a PARAM-VALUE are escaped with a backslash. */
export function escapeParam(text: string): string {
  return text.replace(/["\\\]]/g, '\\$&')
}

/** A message as it goes on a TCP or TLS stream: `LEN SP MSG` (octet counting) or `MSG LF`. */
export function framed(message: Buffer, framing: SyslogFraming): Buffer[] {
  return framing === 'octet-counting' ? [Buffer.from(`${message.length} `, 'latin1'), message] : [message, LF]
}

const LF = Buffer.from('\n')

/**
 * Header text as RFC 5424 takes it: printable US-ASCII (33-126) only, at most `max` characters;
 * anything else dropped. For defaults taken from the machine (the host name), not for options, which
 * are checked instead.
 */
export function printableAscii(text: string, max: number): string {
  return text.replace(/[^\x21-\x7e]/g, '').slice(0, max)
}
