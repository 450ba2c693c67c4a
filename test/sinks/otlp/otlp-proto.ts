/**
 * Reads what the OTLP sink sends with the official OpenTelemetry .proto files (vendored in
 * vendor/opentelemetry-proto) and protobufjs, never with the sink's own code: a field number,
 * wire type or JSON name the encoder gets wrong fails here as it would at a collector.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const PROTO_ROOT = fileURLToPath(new URL('../../../vendor/opentelemetry-proto/', import.meta.url))

function load(): protobuf.Root {
  const root = new protobuf.Root()
  // The protos import each other by paths relative to the repository's root.
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_ROOT, target))
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto')
  root.resolveAll()
  return root
}

const root = load()
export const RequestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest')
export const ResponseType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse')

/**
 * google.rpc.Status (googleapis google/rpc/status.proto: `int32 code = 1; string message = 2;
 * repeated google.protobuf.Any details = 3;`), the body of every error answer of the collector's
 * OTLP/HTTP receiver. Defined here field by field (its .proto is not vendored); `details` as raw
 * bytes, enough to put one on the wire.
 */
export const StatusType = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
  .add(new protobuf.Field('details', 3, 'bytes', 'repeated'))
new protobuf.Root().define('google.rpc').add(StatusType)

/** gRPC codes the receiver uses (its errorMsgToStatus: 400 -> InvalidArgument, else Unknown; Unavailable and ResourceExhausted from the pipeline). */
export function grpcCodeOf(httpStatus: number): number {
  return httpStatus === 400 ? 3 : httpStatus === 429 ? 8 : httpStatus === 503 ? 14 : 2
}

/** A google.rpc.Status, protobuf, as the collector writes one. */
export function encodeStatus(code: number, message: string, details: Buffer[] = []): Buffer {
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message, details })).finish())
}

/** An attribute value as a test compares it: ints as bigint (so 5n and 5.0 differ), kvlists as objects, an empty AnyValue as null. */
export type Plain = string | bigint | number | boolean | null | Plain[] | { [key: string]: Plain }

/** A decoded LogRecord, in the terms tests check. */
export interface DecodedRecord {
  time: string
  observedTime: string
  severityNumber: number
  severityText: string
  body: Plain | undefined
  attributes: Record<string, Plain>
  /** Attribute keys in order (to check that none is repeated). */
  attributeKeys: string[]
  traceId: string | undefined
  spanId: string | undefined
  flags: number | undefined
}

export interface DecodedRequest {
  resourceLogs: number
  scopeLogs: number
  resource: Record<string, Plain>
  scope: { name: string; version: string | undefined }
  records: DecodedRecord[]
}

type Obj = Record<string, unknown>

/** Decodes a protobuf ExportLogsServiceRequest. */
export function decodeRequest(body: Uint8Array): DecodedRequest {
  const message = RequestType.decode(body)
  const object = RequestType.toObject(message, { longs: String, enums: Number, bytes: Buffer, oneofs: false }) as Obj
  return view(object)
}

/**
 * Reads an OTLP/JSON ExportLogsServiceRequest as a collector does: every key must be a field's JSON
 * name, enums numbers, 64-bit integers decimal strings, trace/span ids hex; then protobufjs builds
 * the message from it (ids turned to bytes) and the result is viewed as a protobuf one is.
 */
export function decodeJsonRequest(text: string): DecodedRequest {
  const json = JSON.parse(text) as Obj
  checkJsonShape(json, RequestType, 'request')
  const message = RequestType.fromObject(hexIdsToBytes(json) as Obj)
  // A round trip through the wire format, so that nothing fromObject tolerates slips through.
  const decoded = RequestType.decode(RequestType.encode(message).finish())
  return view(RequestType.toObject(decoded, { longs: String, enums: Number, bytes: Buffer, oneofs: false }) as Obj)
}

/** An ExportLogsServiceResponse, protobuf. */
export function encodeResponse(partial?: { rejected: number | string; message?: string }): Buffer {
  const object = partial ? { partialSuccess: { rejectedLogRecords: partial.rejected, errorMessage: partial.message ?? '' } } : {}
  return Buffer.from(ResponseType.encode(ResponseType.fromObject(object)).finish())
}

function checkJsonShape(value: unknown, type: protobuf.Type, path: string): void {
  // Plain checks, not expect(): a collector decodes thousands of records per request.
  const fail = (message: string): never => {
    throw new Error(`OTLP/JSON: ${message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path} is not an object`)
  for (const [name, inner] of Object.entries(value as Obj)) {
    const field = type.fields[name]
    if (!field) return fail(`${path}.${name} is not a field of ${type.name} (JSON names are lowerCamelCase)`)
    if (field.repeated && !Array.isArray(inner)) fail(`${path}.${name} is repeated but not an array`)
    const items = field.repeated ? (inner as unknown[]) : [inner]
    for (const [i, item] of items.entries()) {
      const at = field.repeated ? `${path}.${name}[${i}]` : `${path}.${name}`
      if (field.resolvedType instanceof protobuf.Type) checkJsonShape(item, field.resolvedType, at)
      else if (field.resolvedType instanceof protobuf.Enum) {
        if (typeof item !== 'number') fail(`${at}: OTLP/JSON enums are numbers`)
      } else if (INT64_TYPES.has(field.type)) {
        if (typeof item !== 'string' || !/^-?\d+$/.test(item)) fail(`${at}: 64-bit integers are decimal strings`)
      } else if (name === 'traceId' || name === 'spanId') {
        if (typeof item !== 'string' || !(name === 'traceId' ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{16}$/).test(item)) fail(`${at}: OTLP/JSON ids are hex`)
      }
    }
  }
}

const INT64_TYPES = new Set(['int64', 'fixed64', 'uint64', 'sint64', 'sfixed64'])

/** traceId/spanId from OTLP's hex to the base64 protobufjs's JSON mapping expects. */
function hexIdsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIdsToBytes)
  if (typeof value !== 'object' || value === null) return value
  const out: Obj = {}
  for (const [name, inner] of Object.entries(value as Obj)) {
    out[name] = (name === 'traceId' || name === 'spanId') && typeof inner === 'string' ? Buffer.from(inner, 'hex').toString('base64') : hexIdsToBytes(inner)
  }
  return out
}

function view(request: Obj): DecodedRequest {
  const resourceLogs = (request.resourceLogs ?? []) as Obj[]
  const first = resourceLogs[0] ?? {}
  const scopeLogs = (first.scopeLogs ?? []) as Obj[]
  const scope = (scopeLogs[0]?.scope ?? {}) as Obj
  const records: DecodedRecord[] = []
  for (const r of resourceLogs) for (const s of (r.scopeLogs ?? []) as Obj[]) for (const l of (s.logRecords ?? []) as Obj[]) records.push(viewRecord(l))
  return {
    resourceLogs: resourceLogs.length,
    scopeLogs: scopeLogs.length,
    resource: attributesOf(((first.resource ?? {}) as Obj).attributes),
    scope: { name: scope.name as string, version: scope.version as string | undefined },
    records,
  }
}

function viewRecord(record: Obj): DecodedRecord {
  const attributes = (record.attributes ?? []) as Obj[]
  return {
    time: (record.timeUnixNano as string | undefined) ?? '0',
    observedTime: (record.observedTimeUnixNano as string | undefined) ?? '0',
    severityNumber: (record.severityNumber as number | undefined) ?? 0,
    severityText: (record.severityText as string | undefined) ?? '',
    body: record.body === undefined ? undefined : plain(record.body as Obj),
    attributes: attributesOf(attributes),
    attributeKeys: attributes.map((a) => (a.key as string | undefined) ?? ''),
    traceId: hex(record.traceId),
    spanId: hex(record.spanId),
    flags: record.flags as number | undefined,
  }
}

function hex(bytes: unknown): string | undefined {
  return bytes instanceof Uint8Array && bytes.length > 0 ? Buffer.from(bytes).toString('hex') : undefined
}

function attributesOf(list: unknown): Record<string, Plain> {
  const out: Record<string, Plain> = {}
  // An empty key is proto3's default: absent from the decoded object. Defined as own fields, as
  // JSON.parse does: a key `__proto__` stays a key.
  for (const kv of (list ?? []) as Obj[]) {
    Object.defineProperty(out, (kv.key as string | undefined) ?? '', { value: plain((kv.value ?? {}) as Obj), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** An AnyValue as a {@link Plain}. */
export function plain(value: Obj): Plain {
  if (value.stringValue !== undefined) return value.stringValue as string
  if (value.boolValue !== undefined) return value.boolValue as boolean
  if (value.intValue !== undefined) return BigInt(value.intValue as string)
  if (value.doubleValue !== undefined) return value.doubleValue as number
  if (value.arrayValue !== undefined) return (((value.arrayValue as Obj).values ?? []) as Obj[]).map(plain)
  if (value.kvlistValue !== undefined) return attributesOf((value.kvlistValue as Obj).values)
  return null
}
