/**
 * The OTLP/HTTP protobuf body: an `ExportLogsServiceRequest` (opentelemetry/proto/collector/logs/v1)
 * written field by field into one Buffer by {@link ProtoWriter}, with no protobuf library and no
 * message objects. Field numbers are those of the official .proto files (the tests decode what this
 * writes with them).
 */
import type { LogRecord } from '../../input/record.js'
import { exceptionAttributes, mappedRecord, MAX_VALUE_DEPTH, tooDeep, type MappedRecord, type RecordMapper } from './otlp-mapping.js'
import { FIXED32, FIXED64, fitsInt64, key, LEN, ProtoWriter, VARINT } from './proto-writer.js'

// ExportLogsServiceRequest.resource_logs
const REQUEST_RESOURCE_LOGS = key(1, LEN)
// ResourceLogs.resource, .scope_logs
const RESOURCE_LOGS_RESOURCE = key(1, LEN)
const RESOURCE_LOGS_SCOPE_LOGS = key(2, LEN)
// Resource.attributes
const RESOURCE_ATTRIBUTES = key(1, LEN)
// ScopeLogs.scope, .log_records; InstrumentationScope.name, .version
const SCOPE_LOGS_SCOPE = key(1, LEN)
const SCOPE_LOGS_LOG_RECORDS = key(2, LEN)
const SCOPE_NAME = key(1, LEN)
const SCOPE_VERSION = key(2, LEN)
// LogRecord
const RECORD_TIME = key(1, FIXED64)
const RECORD_SEVERITY_NUMBER = key(2, VARINT)
const RECORD_SEVERITY_TEXT = key(3, LEN)
const RECORD_BODY = key(5, LEN)
const RECORD_ATTRIBUTES = key(6, LEN)
const RECORD_FLAGS = key(8, FIXED32)
const RECORD_TRACE_ID = key(9, LEN)
const RECORD_SPAN_ID = key(10, LEN)
const RECORD_OBSERVED_TIME = key(11, FIXED64)
// KeyValue.key, .value
const KV_KEY = key(1, LEN)
const KV_VALUE = key(2, LEN)
// AnyValue
const ANY_STRING = key(1, LEN)
const ANY_BOOL = key(2, VARINT)
const ANY_INT = key(3, VARINT)
const ANY_DOUBLE = key(4, FIXED64)
const ANY_ARRAY = key(5, LEN)
const ANY_KVLIST = key(6, LEN)
// ArrayValue.values, KeyValueList.values
const LIST_VALUES = key(1, LEN)

/** Attribute values: what the options' `resource` and the records hold. */
export type AttributeValue = string | number | boolean | null | readonly AttributeValue[] | { readonly [key: string]: AttributeValue }

/** The instrumentation scope every request names. */
export interface OtlpScope {
  readonly name: string
  readonly version?: string | undefined
}

/**
 * Writes `ExportLogsServiceRequest`s for one sender: the resource and scope are encoded once, the
 * records per request. One ResourceLogs with one ScopeLogs per request.
 */
export class OtlpProtobufEncoder {
  readonly #mapper: RecordMapper
  /** ResourceLogs.resource and ScopeLogs.scope, fields and all, encoded once. */
  readonly #resource: Buffer
  readonly #scope: Buffer
  readonly #mapped: MappedRecord = mappedRecord()

  constructor(mapper: RecordMapper, resource: Readonly<Record<string, AttributeValue>>, scope: OtlpScope) {
    this.#mapper = mapper
    const w = new ProtoWriter(256)
    const at = w.begin(RESOURCE_LOGS_RESOURCE, 2)
    for (const name of Object.keys(resource)) writeKeyValue(w, RESOURCE_ATTRIBUTES, name, resource[name] as AttributeValue, 0)
    w.end(at, 2)
    this.#resource = Buffer.from(w.finish())
    const s = new ProtoWriter(64)
    const scopeAt = s.begin(SCOPE_LOGS_SCOPE, 1)
    s.string(SCOPE_NAME, scope.name)
    if (scope.version) s.string(SCOPE_VERSION, scope.version)
    s.end(scopeAt, 1)
    this.#scope = Buffer.from(s.finish())
  }

  /**
   * The request body for `records` (those at `indexes`, or all). `sizeHint`: the records' NDJSON
   * bytes, which the body rarely exceeds by much (the buffer grows if it does).
   */
  encode(records: readonly LogRecord[], indexes?: readonly number[], sizeHint = 0): Buffer {
    const w = new ProtoWriter(sizeHint + (sizeHint >> 2) + this.#resource.length + 256)
    // Reserve 4 bytes for the two outer lengths (up to 256 MiB): one memmove of the body at most.
    const resourceLogs = w.begin(REQUEST_RESOURCE_LOGS, 4)
    w.raw(this.#resource)
    const scopeLogs = w.begin(RESOURCE_LOGS_SCOPE_LOGS, 4)
    w.raw(this.#scope)
    if (indexes) for (const index of indexes) this.#record(w, records[index] as LogRecord)
    else for (const record of records) this.#record(w, record)
    w.end(scopeLogs, 4)
    w.end(resourceLogs, 4)
    return w.finish()
  }

  #record(w: ProtoWriter, record: LogRecord): void {
    const mapper = this.#mapper
    const m = mapper.map(record, this.#mapped)
    const at = w.begin(SCOPE_LOGS_LOG_RECORDS, 2)
    w.ensure(1)
    w.byte(RECORD_TIME)
    w.fixed64Nanos(m.timeMs)
    w.ensure(1)
    w.byte(RECORD_OBSERVED_TIME)
    w.fixed64Nanos(m.observedMs)
    w.ensure(1)
    w.byte(RECORD_SEVERITY_NUMBER)
    w.varint(m.severityNumber)
    w.string(RECORD_SEVERITY_TEXT, m.severityText)
    if (m.body !== undefined) {
      const body = w.begin(RECORD_BODY, m.body.length < 42 ? 1 : 2)
      w.string(ANY_STRING, m.body)
      w.end(body, m.body.length < 42 ? 1 : 2)
    }
    const value = m.value
    for (const name in value) {
      if (mapper.isAttribute(name, m)) writeKeyValue(w, RECORD_ATTRIBUTES, name, value[name] as AttributeValue, 0)
    }
    if (m.exception) {
      for (const [name, text] of exceptionAttributes(m.exception)) writeKeyValue(w, RECORD_ATTRIBUTES, name, text, 0)
      if (m.errorRest) writeKeyValue(w, RECORD_ATTRIBUTES, mapper.fields.errorKey, m.errorRest as AttributeValue, 0)
    }
    if (m.flags !== undefined) {
      w.ensure(1)
      w.byte(RECORD_FLAGS)
      w.fixed32(m.flags)
    }
    if (m.traceId !== undefined) w.hexBytes(RECORD_TRACE_ID, m.traceId)
    if (m.spanId !== undefined) w.hexBytes(RECORD_SPAN_ID, m.spanId)
    w.end(at, 2)
  }
}

/** A `KeyValue` field (`fieldKey`: whose repeated field it is). */
function writeKeyValue(w: ProtoWriter, fieldKey: number, name: string, value: AttributeValue, depth: number): void {
  const reserve = typeof value === 'object' && value !== null ? 2 : 1
  const at = w.begin(fieldKey, reserve)
  w.string(KV_KEY, name)
  const valueAt = w.begin(KV_VALUE, reserve)
  writeAnyValue(w, value, depth)
  w.end(valueAt, reserve)
  w.end(at, reserve)
}

/**
 * The content of an `AnyValue`: strings, integers as `int_value` (those an int64 holds), other
 * numbers as `double_value`, booleans, arrays as `array_value`, objects as `kvlist_value`; `null` as
 * an empty AnyValue (no value set), as the data model has it.
 */
function writeAnyValue(w: ProtoWriter, value: AttributeValue, depth: number): void {
  switch (typeof value) {
    case 'string':
      w.string(ANY_STRING, value)
      return
    case 'number':
      w.ensure(1)
      if (fitsInt64(value)) {
        w.byte(ANY_INT)
        w.int64(value)
      } else {
        w.byte(ANY_DOUBLE)
        w.double(value)
      }
      return
    case 'boolean':
      w.ensure(2)
      w.byte(ANY_BOOL)
      w.byte(value ? 1 : 0)
      return
    default:
      if (value === null) return
      if (depth >= MAX_VALUE_DEPTH) {
        w.string(ANY_STRING, tooDeep(value))
        return
      }
      if (Array.isArray(value)) {
        const list = w.begin(ANY_ARRAY, 2)
        for (const item of value as readonly AttributeValue[]) {
          const reserve = typeof item === 'object' && item !== null ? 2 : 1
          const at = w.begin(LIST_VALUES, reserve)
          writeAnyValue(w, item, depth + 1)
          w.end(at, reserve)
        }
        w.end(list, 2)
        return
      }
      {
        const object = value as { readonly [key: string]: AttributeValue }
        const list = w.begin(ANY_KVLIST, 2)
        for (const name in object) writeKeyValue(w, LIST_VALUES, name, object[name] as AttributeValue, depth + 1)
        w.end(list, 2)
      }
  }
}
