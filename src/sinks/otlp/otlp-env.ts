/**
 * The OTLP sender's settings from its options and the standard environment variables, read as the
 * OpenTelemetry Node SDK (@opentelemetry/otlp-exporter-base 0.2xx, @opentelemetry/resources 2.x)
 * reads them, options winning:
 *
 * | setting | option | environment (first set wins) |
 * |---|---|---|
 * | endpoint | `url` (base: `/v1/logs` added to an empty path) | `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `v1/logs`) |
 * | headers | `headers` (merged over the env's, name by name) | `OTEL_EXPORTER_OTLP_LOGS_HEADERS` merged over `OTEL_EXPORTER_OTLP_HEADERS` |
 * | encoding | `protocol` | `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` |
 * | gzip | `gzip` | `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION`, `OTEL_EXPORTER_OTLP_COMPRESSION` |
 * | resource | `resource` (merged over the env's) | `OTEL_SERVICE_NAME` over `OTEL_RESOURCE_ATTRIBUTES` |
 *
 * A variable set to blanks counts as unset (the SDK's getStringFromEnv). Where the SDK only logs a
 * diagnostic and carries on with a default (an endpoint that is not a URL, an unknown compression),
 * this is a ConfigError instead: a transport started with a typo would ship nowhere or not as asked,
 * and nobody reads the SDK's diag logger. `OTEL_RESOURCE_ATTRIBUTES` is the exception the spec
 * makes: a value that cannot be parsed is discarded whole, as the SDK does.
 */
import { hostname } from 'node:os'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { ConfigError } from '../../config/config-error.js'
import { endpointUrl } from '../shared/endpoint.js'
import { httpUrlSchema } from '../http/http-post.js'
import { DEFAULT_OTLP_PROTOCOL, OTLP_LOGS_PATH, type OtlpProtocol, type OtlpSenderOptions, type ResourceAttributeValue } from './otlp-options.js'

/** Environment variables, as `process.env` holds them. */
export type OtlpEnv = Readonly<Record<string, string | undefined>>

/** What the OTLP sink works with, options and environment resolved. */
export interface OtlpSettings {
  /** The full endpoint URL (credentials included: never show it; see redactUrl). */
  readonly url: string
  readonly protocol: OtlpProtocol
  /** Lower-case names; the environment's under the options'. */
  readonly headers: Readonly<Record<string, string>>
  readonly gzip: boolean
  readonly resource: Readonly<Record<string, ResourceAttributeValue>>
}

const LOGS_ENDPOINT = 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT'
const ENDPOINT = 'OTEL_EXPORTER_OTLP_ENDPOINT'
const LOGS_HEADERS = 'OTEL_EXPORTER_OTLP_LOGS_HEADERS'
const HEADERS = 'OTEL_EXPORTER_OTLP_HEADERS'
const LOGS_PROTOCOL = 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'
const PROTOCOL = 'OTEL_EXPORTER_OTLP_PROTOCOL'
const LOGS_COMPRESSION = 'OTEL_EXPORTER_OTLP_LOGS_COMPRESSION'
const COMPRESSION = 'OTEL_EXPORTER_OTLP_COMPRESSION'
const SERVICE_NAME = 'OTEL_SERVICE_NAME'
const RESOURCE_ATTRIBUTES = 'OTEL_RESOURCE_ATTRIBUTES'

/**
 * The settings of an OTLP sender whose options its schema has accepted. `env` is `process.env`
 * unless a test passes its own. Throws a ConfigError naming the option an environment variable
 * stands in for (`url`, `protocol`, `headers`, `gzip`), and the variable.
 */
export function resolveOtlpSettings(
  options: Pick<OtlpSenderOptions, 'url' | 'protocol' | 'headers' | 'gzip' | 'resource'>,
  env: OtlpEnv = process.env,
): OtlpSettings {
  return {
    url: options.url !== undefined ? endpointUrl(options.url, OTLP_LOGS_PATH) : urlFromEnv(env),
    protocol: options.protocol ?? protocolFromEnv(env),
    headers: headersOf(options.headers, env),
    gzip: options.gzip ?? gzipFromEnv(env),
    resource: { ...defaultResource(), ...resourceFromEnv(env), ...options.resource },
  }
}

/** `unknown_service:<process.argv0>`: the Node SDK's default `service.name` (@opentelemetry/resources). */
export function defaultServiceName(): string {
  const argv0 = process.argv0
  return argv0 ? `unknown_service:${argv0}` : 'unknown_service'
}

/** The resource every OTLP sender starts from: a service name, and the host and process pino's records name. */
export function defaultResource(): Record<string, ResourceAttributeValue> {
  return { 'service.name': defaultServiceName(), 'host.name': hostname(), 'process.pid': process.pid }
}

/** A variable's value, or undefined when it is unset or blank. */
function read(env: OtlpEnv, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

function invalid(path: string, message: string): ConfigError {
  return new ConfigError(`pino-courier: invalid options: ${path}: ${message}`, { paths: [path] })
}

function urlFromEnv(env: OtlpEnv): string {
  const logs = read(env, LOGS_ENDPOINT)
  if (logs !== undefined) return checkedUrl(logs.trim(), LOGS_ENDPOINT)
  const base = read(env, ENDPOINT)
  if (base !== undefined) {
    // As the SDK: the signal's path is appended to whatever path the base has.
    const trimmed = base.trim()
    checkedUrl(trimmed, ENDPOINT)
    return checkedUrl(`${trimmed.endsWith('/') ? trimmed : `${trimmed}/`}${OTLP_LOGS_PATH.slice(1)}`, ENDPOINT)
  }
  throw invalid('url', `required: set it, or ${LOGS_ENDPOINT} or ${ENDPOINT} in the environment`)
}

/** An endpoint from the environment, checked as the option is; the message never shows it (it may hold credentials). */
function checkedUrl(value: string, variable: string): string {
  if (!httpUrlSchema.safeParse(value).success) {
    throw invalid('url', `${variable} in the environment is not a valid http(s) URL (or has a malformed escape in its credentials)`)
  }
  return new URL(value).toString()
}

function protocolFromEnv(env: OtlpEnv): OtlpProtocol {
  for (const variable of [LOGS_PROTOCOL, PROTOCOL]) {
    const value = read(env, variable)?.trim()
    if (value === undefined) continue
    if (value === 'http/protobuf' || value === 'http/json') return value
    const why = value === 'grpc' ? 'gRPC is not supported' : 'not a known protocol'
    // The variable is often set for the app's own OpenTelemetry SDK (gRPC to port 4317): say how to
    // keep it and still start. An explicit `protocol` never gets here (options win, silently).
    throw invalid(
      'protocol',
      `${variable}=${value} in the environment: ${why}; only http/protobuf and http/json. Set protocol: 'http/protobuf' (or 'http/json') in this sender's options to override the variable`,
    )
  }
  return DEFAULT_OTLP_PROTOCOL
}

function gzipFromEnv(env: OtlpEnv): boolean {
  for (const variable of [LOGS_COMPRESSION, COMPRESSION]) {
    const value = read(env, variable)?.trim()
    if (value === undefined) continue
    if (value === 'gzip') return true
    if (value === 'none') return false
    throw invalid('gzip', `${variable} in the environment must be gzip or none (set the option to override the variable)`)
  }
  return false
}

/**
 * The request headers: those of `OTEL_EXPORTER_OTLP_HEADERS`, then `..._LOGS_HEADERS` over them,
 * then the option's, name by name (names lower-cased). A header the HTTP client would refuse is a
 * ConfigError now rather than a failed request on every attempt; its value is never shown.
 */
function headersOf(option: Record<string, string> | undefined, env: OtlpEnv): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const variable of [HEADERS, LOGS_HEADERS]) {
    const text = read(env, variable)
    if (text === undefined) continue
    for (const [name, value] of parseKeyValues(text)) {
      checkHeader(name, value, 'headers', `a header in ${variable} in the environment`)
      headers[name.toLowerCase()] = value
    }
  }
  for (const [name, value] of Object.entries(option ?? {})) {
    checkHeader(name, value, `headers.${name}`, 'the header')
    headers[name.toLowerCase()] = value
  }
  return headers
}

function checkHeader(name: string, value: string, path: string, what: string): void {
  try {
    validateHeaderName(name)
  } catch {
    throw invalid(path, `${what} has an invalid name`)
  }
  try {
    validateHeaderValue(name, value)
  } catch {
    throw invalid(path, `${what} has an invalid value (a control character?)`)
  }
}

/**
 * `k=v,k2=v2` as the SDK reads `OTEL_EXPORTER_OTLP_HEADERS` (the W3C baggage format): entries split
 * at commas, key and value split at the first `=`, both trimmed and percent-decoded; an entry with an
 * empty key or value, or a malformed escape, is skipped. Unlike the JS SDK's baggage parser, a `;` is
 * kept as part of the value (the spec has no metadata here, and a token holding one must not be cut).
 */
export function parseKeyValues(text: string): [string, string][] {
  const pairs: [string, string][] = []
  for (const entry of text.split(',')) {
    const at = entry.indexOf('=')
    if (at <= 0) continue
    const rawKey = entry.slice(0, at).trim()
    const rawValue = entry.slice(at + 1).trim()
    if (!rawKey || !rawValue) continue
    try {
      pairs.push([decodeURIComponent(rawKey), decodeURIComponent(rawValue)])
    } catch {
      // A malformed escape: the SDK drops that entry alone.
    }
  }
  return pairs
}

/**
 * The resource attributes of `OTEL_RESOURCE_ATTRIBUTES` (`k=v,...`, percent-decoded, trimmed, all
 * strings) with `OTEL_SERVICE_NAME` over its `service.name`. As the spec and the SDK say, a value
 * with any error (an entry without exactly one `=`, an empty key, a malformed escape) is discarded
 * whole; empty entries are skipped.
 */
export function resourceFromEnv(env: OtlpEnv): Record<string, string> {
  const attributes: Record<string, string> = {}
  const text = read(env, RESOURCE_ATTRIBUTES)
  if (text !== undefined) Object.assign(attributes, parseResourceAttributes(text))
  const service = read(env, SERVICE_NAME)
  if (service !== undefined) attributes['service.name'] = service
  return attributes
}

function parseResourceAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {}
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue
    const parts = entry.split('=')
    if (parts.length !== 2) return {}
    const name = (parts[0] as string).trim()
    if (name === '') return {}
    try {
      attributes[decodeURIComponent(name)] = decodeURIComponent((parts[1] as string).trim())
    } catch {
      return {}
    }
  }
  return attributes
}
