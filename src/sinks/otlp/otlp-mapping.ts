/**
 * How a pino record becomes an OpenTelemetry log record (the log data model), shared by the protobuf
 * and the JSON encodings: which fields become the body, the severity, the times, the trace context
 * and the exception, and which stay attributes. Close to what pino-opentelemetry-transport does, so
 * that its users find their fields where they were, with what it leaves out (trace ids on their own,
 * `err` as `exception.*`, pid and hostname) made explicit.
 */
import type { LogRecord } from '../../input/record.js'
import { leadingTimeMs, timeOf, type RecordError, type RecordFields } from '../shared/record-fields.js'

/** pino's level numbers and the OpenTelemetry severity each maps to (the first of its range). */
export const PINO_SEVERITIES: readonly (readonly [level: number, severity: number])[] = [
  [10, 1], // trace -> TRACE
  [20, 5], // debug -> DEBUG
  [30, 9], // info -> INFO
  [40, 13], // warn -> WARN
  [50, 17], // error -> ERROR
  [60, 21], // fatal -> FATAL
]

/**
 * The severity number of a pino level: pino's own six as the data model maps them; a custom level
 * as the nearest of pino's (a tie goes to the more severe one, so that a `notice: 35` is not
 * filtered out with the infos).
 */
export function severityOf(level: number): number {
  let best = PINO_SEVERITIES[0] as readonly [number, number]
  for (const entry of PINO_SEVERITIES) {
    if (Math.abs(entry[0] - level) <= Math.abs(best[0] - level)) best = entry
  }
  return best[1]
}

/** Record fields read as the trace context (the names @opentelemetry/instrumentation-pino writes). */
export const TRACE_ID_KEY = 'trace_id'
export const SPAN_ID_KEY = 'span_id'
export const TRACE_FLAGS_KEY = 'trace_flags'

/** The resource attributes pino's `pid` and `hostname` correspond to. */
export const PID_ATTRIBUTE = 'process.pid'
export const HOST_ATTRIBUTE = 'host.name'

const HEX = /^[0-9a-f]+$/i
const ZEROS = /^0+$/

/** A trace id (32 hex digits) or span id (16), lower-cased; undefined for anything else, all-zero ids included (W3C: invalid). */
export function validId(value: unknown, digits: number): string | undefined {
  if (typeof value !== 'string' || value.length !== digits || !HEX.test(value) || ZEROS.test(value)) return undefined
  return value.toLowerCase()
}

/** Trace flags as a number 0-255, or as the hex text instrumentation-pino writes (`"01"`); undefined otherwise. */
export function validFlags(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined
  if (typeof value === 'string' && value.length >= 1 && value.length <= 2 && HEX.test(value)) return parseInt(value, 16)
  return undefined
}

/**
 * One record's mapped fields. The encoders reuse one of these for every record (no allocation per
 * record), then walk the record's own fields for the attributes, skipping those mapped here.
 */
export interface MappedRecord {
  value: Record<string, unknown>
  /**
   * When it was logged, ms since the epoch (fractions kept): RecordFields.recordTimeMs's reading. A
   * double holds today's times to about 0.25 µs, so the last digits of pino's `isoTimeNano` are
   * rounded off; left so, since exact nanoseconds would take a second field per record for a
   * precision no reader of logs uses.
   */
  timeMs: number
  /**
   * Whether the parsed record's `time` goes into the attributes: when it is not what `timeMs` was
   * read from (not a time at all, or a second `time` the app logged after pino's, which JSON.parse
   * keeps), so that it does not vanish.
   */
  timeIsAttribute: boolean
  /** When it reached the transport, ms since the epoch. */
  observedMs: number
  severityNumber: number
  severityText: string
  /** The message (for a malformed line: its raw text). */
  body: string | undefined
  traceId: string | undefined
  spanId: string | undefined
  flags: number | undefined
  /** The serialized error read as `exception.*`, when it has a type, message or stack. */
  exception: RecordError | undefined
  /** The error's other fields (`code`, `errno`, ...), kept as an attribute under the error key. */
  errorRest: Record<string, unknown> | undefined
  /** Whether `pid` / `hostname` are the resource's (then dropped from the attributes). */
  pidInResource: boolean
  hostInResource: boolean
}

/** Reads records into {@link MappedRecord}s, with the logger's keys and the sender's resource. */
export class RecordMapper {
  readonly fields: RecordFields
  readonly #pid: unknown
  readonly #host: unknown
  readonly #severities = new Map<number, number>()

  /** `resource`: the resource attributes, to tell which records' `pid`/`hostname` they already say. */
  constructor(fields: RecordFields, resource: Readonly<Record<string, unknown>>) {
    this.fields = fields
    this.#pid = resource[PID_ATTRIBUTE]
    this.#host = resource[HOST_ATTRIBUTE]
  }

  /** Fills `into` with `record`'s mapped fields and returns it. */
  map(record: LogRecord, into: MappedRecord): MappedRecord {
    const fields = this.fields
    // Parsed here rather than through record.value(), which caches the object on the record: a batch
    // keeps its records until it settles, and thousands of cached objects per batch in flight outlive
    // the young generation (measured: ~10% of the worker's time in GC). Unkept, they die young.
    const value = JSON.parse(record.line) as Record<string, unknown>
    into.value = value
    readTime(record, value, into)
    into.observedMs = record.time
    let severity = this.#severities.get(record.level)
    if (severity === undefined) this.#severities.set(record.level, (severity = severityOf(record.level)))
    into.severityNumber = severity
    into.severityText = fields.levelLabel(record.level)
    // A malformed line is wrapped with its raw text as the message: the body carries it either way.
    into.body = fields.message(value)
    into.traceId = validId(value[TRACE_ID_KEY], 32)
    into.spanId = validId(value[SPAN_ID_KEY], 16)
    into.flags = validFlags(value[TRACE_FLAGS_KEY])
    const error = value[fields.errorKey]
    into.exception = undefined
    into.errorRest = undefined
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      const exception = fields.error(value)
      if (exception && (exception.type !== undefined || exception.message !== undefined || exception.stack !== undefined)) {
        into.exception = exception
        into.errorRest = restOfError(error as Record<string, unknown>, exception)
      }
    }
    into.pidInResource = this.#pid !== undefined && value.pid === this.#pid
    into.hostInResource = this.#host !== undefined && value.hostname === this.#host
    return into
  }

  /** True when the record's field `name` goes into the attributes (it is not mapped elsewhere). */
  isAttribute(name: string, mapped: MappedRecord): boolean {
    const fields = this.fields
    if (name === fields.levelKey) return false
    if (name === 'time') return mapped.timeIsAttribute
    if (name === fields.messageKey) return mapped.body === undefined
    if (name === fields.errorKey) return mapped.exception === undefined
    if (name === TRACE_ID_KEY) return mapped.traceId === undefined
    if (name === SPAN_ID_KEY) return mapped.spanId === undefined
    if (name === TRACE_FLAGS_KEY) return mapped.flags === undefined
    if (name === 'pid') return !mapped.pidInResource
    if (name === 'hostname') return !mapped.hostInResource
    return true
  }
}

/** A blank {@link MappedRecord} to reuse. */
export function mappedRecord(): MappedRecord {
  return {
    value: {},
    timeMs: 0,
    timeIsAttribute: false,
    observedMs: 0,
    severityNumber: 0,
    severityText: '',
    body: undefined,
    traceId: undefined,
    spanId: undefined,
    flags: undefined,
    exception: undefined,
    errorRest: undefined,
    pidInResource: false,
    hostInResource: false,
  }
}

/**
 * Sets `timeMs` as RecordFields.recordTimeMs reads it (pino's own time at the head of the line,
 * else the parsed `time`, else the arrival), and `timeIsAttribute`. recordTimeMs itself cannot say
 * whether it fell back to the arrival time, so its two shared pieces are called here with NaN as
 * the fallback; the tests check that both readings agree.
 */
function readTime(record: LogRecord, value: Record<string, unknown>, into: MappedRecord): void {
  const time = value.time
  const head = leadingTimeMs(record.line, Number.NaN)
  if (head === undefined) {
    const ms = timeOf(time, Number.NaN)
    const read = !Number.isNaN(ms)
    into.timeMs = read ? ms : record.time
    into.timeIsAttribute = time !== undefined && !read
    return
  }
  if (Number.isNaN(head)) {
    // pino's own time is not a time (a custom timestamp function): the arrival stands for it, and
    // the value (pino's, or the app's written after it) is kept.
    into.timeMs = record.time
    into.timeIsAttribute = true
    return
  }
  into.timeMs = head
  // JSON.parse keeps the last `time`: the parsed one is pino's unless the app logged its own after
  // it. A number is compared at once; a string (isoTime) only when the line has a second "time" key
  // (found with indexOf, cheaper than reading a date again for every record).
  into.timeIsAttribute =
    typeof time === 'number' ? timeOf(time, Number.NaN) !== head : hasSecondTimeKey(record.line) && timeOf(time, Number.NaN) !== head
}

const TIME_KEY = '"time":'

function hasSecondTimeKey(line: string): boolean {
  const first = line.indexOf(TIME_KEY)
  return first >= 0 && line.indexOf(TIME_KEY, first + TIME_KEY.length) >= 0
}

/**
 * The error's fields other than those `exception.*` carries; undefined when there are none. A
 * prototype-less object: an error with a `__proto__` field (JSON.parse makes it an own field) must
 * stay a field, not become the object's prototype, whose fields the encoders' for-in would then send.
 */
function restOfError(error: Record<string, unknown>, exception: RecordError): Record<string, unknown> | undefined {
  let rest: Record<string, unknown> | undefined
  for (const name in error) {
    if (name === 'type' && exception.type !== undefined) continue
    if (name === 'message' && exception.message !== undefined) continue
    if (name === 'stack' && exception.stack !== undefined) continue
    ;(rest ??= Object.create(null) as Record<string, unknown>)[name] = error[name]
  }
  return rest
}

/** The `exception.*` attributes (semantic conventions) of a mapped error, in order. */
export function exceptionAttributes(exception: RecordError): [name: string, value: string][] {
  const out: [string, string][] = []
  if (exception.type !== undefined) out.push(['exception.type', exception.type])
  if (exception.message !== undefined) out.push(['exception.message', exception.message])
  if (exception.stack !== undefined) out.push(['exception.stacktrace', exception.stack])
  return out
}

/**
 * Deepest nesting of attribute values written as such; deeper values go as their JSON text. Decoders
 * stop at 100 nested messages (protoc's and Java's default recursion limit, protobufjs's), and each
 * level of a JSON object takes three (AnyValue, KeyValueList, KeyValue) under the six above the
 * record's attributes: 20 levels stay well inside.
 */
export const MAX_VALUE_DEPTH = 20

/** A value nested past {@link MAX_VALUE_DEPTH}, as text (never throws). */
export function tooDeep(value: unknown): string {
  try {
    return JSON.stringify(value) ?? ''
  } catch {
    return '[too deep]'
  }
}
