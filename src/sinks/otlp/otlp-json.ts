/**
 * The OTLP/HTTP JSON body: the protobuf JSON mapping of `ExportLogsServiceRequest` with OTLP's own
 * rules: lowerCamelCase field names, trace and span ids as hex strings (not base64), enums as
 * numbers, 64-bit integers (times, `intValue`) as decimal strings.
 */
import type { LogRecord } from '../../input/record.js'
import { nanosText } from '../shared/record-fields.js'
import { exceptionAttributes, mappedRecord, MAX_VALUE_DEPTH, tooDeep, type MappedRecord, type RecordMapper } from './otlp-mapping.js'
import type { AttributeValue, OtlpScope } from './otlp-protobuf.js'
import { fitsInt64 } from './proto-writer.js'

/** An AnyValue in the JSON mapping. */
type JsonAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: JsonAnyValue[] } }
  | { kvlistValue: { values: JsonKeyValue[] } }
  | Record<string, never>

interface JsonKeyValue {
  key: string
  value: JsonAnyValue
}

/** Writes the JSON form of `ExportLogsServiceRequest`s for one sender. */
export class OtlpJsonEncoder {
  readonly #mapper: RecordMapper
  readonly #resource: { attributes: JsonKeyValue[] }
  readonly #scope: { name: string; version?: string }
  readonly #mapped: MappedRecord = mappedRecord()

  constructor(mapper: RecordMapper, resource: Readonly<Record<string, AttributeValue>>, scope: OtlpScope) {
    this.#mapper = mapper
    this.#resource = { attributes: Object.keys(resource).map((name) => keyValue(name, resource[name] as AttributeValue, 0)) }
    this.#scope = scope.version ? { name: scope.name, version: scope.version } : { name: scope.name }
  }

  /** The request body for `records` (those at `indexes`, or all), as UTF-8 JSON. */
  encode(records: readonly LogRecord[], indexes?: readonly number[]): Buffer {
    const logRecords: object[] = []
    if (indexes) for (const index of indexes) logRecords.push(this.#record(records[index] as LogRecord))
    else for (const record of records) logRecords.push(this.#record(record))
    const request = {
      resourceLogs: [{ resource: this.#resource, scopeLogs: [{ scope: this.#scope, logRecords }] }],
    }
    return Buffer.from(JSON.stringify(request), 'utf8')
  }

  #record(record: LogRecord): object {
    const mapper = this.#mapper
    const m = mapper.map(record, this.#mapped)
    const attributes: JsonKeyValue[] = []
    const value = m.value
    for (const name in value) {
      if (mapper.isAttribute(name, m)) attributes.push(keyValue(name, value[name] as AttributeValue, 0))
    }
    if (m.exception) {
      for (const [name, text] of exceptionAttributes(m.exception)) attributes.push({ key: name, value: { stringValue: wellFormed(text) } })
      if (m.errorRest) attributes.push(keyValue(mapper.fields.errorKey, m.errorRest as AttributeValue, 0))
    }
    return {
      timeUnixNano: nanosText(m.timeMs),
      observedTimeUnixNano: nanosText(m.observedMs),
      severityNumber: m.severityNumber,
      severityText: wellFormed(m.severityText),
      ...(m.body !== undefined ? { body: { stringValue: wellFormed(m.body) } } : {}),
      attributes,
      ...(m.flags !== undefined ? { flags: m.flags } : {}),
      ...(m.traceId !== undefined ? { traceId: m.traceId } : {}),
      ...(m.spanId !== undefined ? { spanId: m.spanId } : {}),
    }
  }
}

function keyValue(name: string, value: AttributeValue, depth: number): JsonKeyValue {
  return { key: wellFormed(name), value: anyValue(value, depth) }
}

/**
 * The text with any lone surrogate as U+FFFD, as the protobuf encoding has it (UTF-8 cannot carry
 * one): JSON.stringify would write it as a `\ud800` escape, which strict protobuf JSON parsers refuse.
 */
function wellFormed(text: string): string {
  const t = text as string & { isWellFormed(): boolean; toWellFormed(): string }
  return t.isWellFormed() ? text : t.toWellFormed()
}

/** An AnyValue by the same rules as the protobuf encoder's. */
function anyValue(value: AttributeValue, depth: number): JsonAnyValue {
  switch (typeof value) {
    case 'string':
      return { stringValue: wellFormed(value) }
    case 'number':
      // int64 as a decimal string (the protobuf JSON mapping). BigInt gives the double's exact value;
      // String() past 2^53 gives the shortest digits that read back (2^60 as "1152921504606847000").
      return fitsInt64(value) ? { intValue: BigInt(value).toString() } : { doubleValue: value }
    case 'boolean':
      return { boolValue: value }
    default:
      if (value === null) return {}
      if (depth >= MAX_VALUE_DEPTH) return { stringValue: tooDeep(value) }
      if (Array.isArray(value)) {
        return { arrayValue: { values: (value as readonly AttributeValue[]).map((item) => anyValue(item, depth + 1)) } }
      }
      {
        const object = value as { readonly [key: string]: AttributeValue }
        const values: JsonKeyValue[] = []
        for (const name in object) values.push(keyValue(name, object[name] as AttributeValue, depth + 1))
        return { kvlistValue: { values } }
      }
  }
}
