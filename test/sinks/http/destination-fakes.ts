/**
 * Local stand-ins for the log services people send to over the http sender, each checking a request
 * the way the service documents it and answering as it does:
 * - Datadog: POST /api/v2/logs, `DD-API-KEY`, a JSON array of at most 1,000 entries and 5 MB
 *   uncompressed (413 over it), 202 `{}` (docs.datadoghq.com/api/latest/logs/send-logs).
 * - Splunk HEC: POST /services/collector/event, `Authorization: Splunk <token>`, `{"time","event"}`
 *   objects one after the other, `{"text":"Success","code":0}`, and its coded errors: 401 code 2, 403
 *   code 4, 400 code 6 with `invalid-event-number` (the events before it indexed), 400 code 7, 503
 *   code 9 (help.splunk.com, "Format events for HTTP Event Collector" and "Troubleshoot HTTP Event
 *   Collector").
 * - Axiom: POST /v1/datasets/{dataset}/ingest, `Authorization: Bearer`, NDJSON or a JSON array,
 *   `_time`, 200 `{"ingested","failed","failures"}` (axiom.co/docs/restapi/ingest).
 * - Better Stack: POST / on the source's ingesting host, `Authorization: Bearer <source token>`,
 *   JSON or NDJSON, `dt`, 202, 403 `Unauthorized`, 406, 413 over 10 MiB
 *   (betterstack.com/docs/logs/http-rest-api).
 * Every fake can be told to answer a few requests with an outage status first (`outage`), and its
 * error bodies echo the key it got, as careless servers do: a sender must not pass that on.
 */
import type { Cleanups } from '../../helpers/cleanups.js'
import type { HttpSink, ReceivedRequest, Reply } from '../../helpers/http-sink.js'

/** A fake service: the HTTP server, what it accepted and how it can misbehave. */
export interface FakeService {
  readonly server: HttpSink
  /** Base URL of the server (scheme, host and port). */
  readonly origin: string
  /** The records (pino's objects) the service kept, in arrival order. */
  readonly accepted: Record<string, unknown>[]
  /** Requests the service found malformed, with why: a test expects none. */
  readonly violations: string[]
  /** The next requests get these statuses, one each, in order (with `Retry-After: retryAfter` when given). */
  outage(statuses: readonly number[], retryAfter?: string): void
}

/** Wraps a service's answer logic with the outage switch and a catch-all for malformed requests. */
async function fake(
  cleanups: Cleanups,
  answer: (request: ReceivedRequest, accepted: Record<string, unknown>[], violations: string[]) => Reply,
  outageBody: (status: number, request: ReceivedRequest) => string,
): Promise<FakeService> {
  const accepted: Record<string, unknown>[] = []
  const violations: string[] = []
  const outages: number[] = []
  let retryAfter: string | undefined
  const server = await cleanups.sink((request) => {
    const status = outages.shift()
    if (status !== undefined) {
      return { status, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter }, body: outageBody(status, request) }
    }
    return answer(request, accepted, violations)
  })
  return {
    server,
    origin: server.url.replace(/\/logs$/, ''),
    accepted,
    violations,
    outage(statuses, after) {
      outages.push(...statuses)
      retryAfter = after
    },
  }
}

/** The key a request carried in `header`, echoed into error bodies. */
const echo = (request: ReceivedRequest, header: string): string => String(request.headers[header] ?? '')

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Datadog's HTTP log intake (v2). */
export const DATADOG_MAX_ENTRIES = 1000
export const DATADOG_MAX_BYTES = 5_000_000

export function datadog(cleanups: Cleanups, apiKey: string): Promise<FakeService> {
  return fake(
    cleanups,
    (request, accepted, violations) => {
      if (request.method !== 'POST' || request.url.split('?')[0] !== '/api/v2/logs') return { status: 404, body: '{"errors":["Not found"]}' }
      if (request.headers['dd-api-key'] === undefined) return { status: 401, body: '{"errors":["Unauthorized"]}' }
      if (request.headers['dd-api-key'] !== apiKey) return { status: 403, body: `{"errors":["Forbidden: invalid API key ${echo(request, 'dd-api-key')}"]}` }
      if (!String(request.headers['content-type']).startsWith('application/json')) violations.push(`content-type ${request.headers['content-type']}`)
      // The limit is on the uncompressed payload.
      if (Buffer.byteLength(request.body) > DATADOG_MAX_BYTES) return { status: 413, body: '{"errors":["Payload too large"]}' }
      const entries = parseJson(request.body)
      if (!Array.isArray(entries)) return { status: 400, body: '{"errors":["Bad request: not a JSON array"]}' }
      if (entries.length > DATADOG_MAX_ENTRIES) return { status: 400, body: `{"errors":["Bad request: ${entries.length} entries, at most ${DATADOG_MAX_ENTRIES}"]}` }
      for (const entry of entries) {
        if (!isObject(entry)) return { status: 400, body: '{"errors":["Bad request: an entry is not an object"]}' }
        if (typeof entry.timestamp !== 'string' || Number.isNaN(Date.parse(entry.timestamp))) violations.push('an entry without an ISO 8601 timestamp')
        if (typeof entry.status !== 'string') violations.push('an entry without a status name')
      }
      accepted.push(...(entries as Record<string, unknown>[]))
      return { status: 202, headers: { 'content-type': 'application/json' }, body: '{}' }
    },
    (status, request) => `{"errors":["${status === 429 ? 'Too Many Requests' : 'Service Unavailable'} for key ${echo(request, 'dd-api-key')}"]}`,
  )
}

/** Splunk's HTTP Event Collector, JSON event endpoint, indexer acknowledgement off. */
export function splunkHec(cleanups: Cleanups, token: string, options: { allowedIndexes?: readonly string[] } = {}): Promise<FakeService> {
  const hec = (status: number, text: string, code: number, extra: Record<string, number> = {}): Reply => ({
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text, code, ...extra }),
  })
  return fake(
    cleanups,
    (request, accepted, violations) => {
      if (request.method !== 'POST' || request.url.split('?')[0] !== '/services/collector/event') return { status: 404, body: 'Not Found' }
      const authorization = String(request.headers.authorization ?? '')
      if (authorization === '') return hec(401, 'Token is required', 2)
      if (!authorization.startsWith('Splunk ')) return hec(401, 'Invalid authorization', 3)
      if (authorization !== `Splunk ${token}`) return { ...hec(403, 'Invalid token', 4), body: `{"text":"Invalid token ${authorization}","code":4}` }
      const objects = request.body.split('\n').filter((text) => text.trim() !== '')
      if (objects.length === 0) return hec(400, 'No data', 5)
      // HEC reads the events in order and stops at the first bad one: those before it are indexed.
      const batch: Record<string, unknown>[] = []
      for (const [n, text] of objects.entries()) {
        const event = parseJson(text)
        const stop = (answer: Reply): Reply => {
          accepted.push(...batch)
          return answer
        }
        if (!isObject(event)) return stop(hec(400, 'Invalid data format', 6, { 'invalid-event-number': n }))
        if (!('event' in event)) return stop(hec(400, 'Event field is required', 12, { 'invalid-event-number': n }))
        if (event.event === '' || event.event === null) return stop(hec(400, 'Event field cannot be blank', 13, { 'invalid-event-number': n }))
        if (typeof event.index === 'string' && options.allowedIndexes && !options.allowedIndexes.includes(event.index)) {
          return stop(hec(400, 'Incorrect index', 7, { 'invalid-event-number': n }))
        }
        // A stand-in for whatever HEC finds malformed in an event: the tests mark such records.
        if (isObject(event.event) && event.event.poison === true) return stop(hec(400, 'Invalid data format', 6, { 'invalid-event-number': n }))
        if (typeof event.time !== 'number' || event.time > 1e11) violations.push(`event ${n}: time is not epoch seconds: ${JSON.stringify(event.time)}`)
        if (!isObject(event.event)) violations.push(`event ${n}: the record is not the event object`)
        else batch.push({ ...event.event, _hecTime: event.time, _hecMeta: { source: event.source, sourcetype: event.sourcetype, index: event.index, host: event.host } })
      }
      accepted.push(...batch)
      return hec(200, 'Success', 0)
    },
    (status, request) => JSON.stringify({ text: status === 503 ? 'Server is busy' : 'Too many requests', code: 9, for: echo(request, 'authorization') }),
  )
}

/** Axiom's ingest endpoint: events with a field `refuse: true` stand for those Axiom refuses (a field limit). */
export function axiom(cleanups: Cleanups, dataset: string, token: string): Promise<FakeService> {
  return fake(
    cleanups,
    (request, accepted, violations) => {
      if (request.method !== 'POST' || request.url.split('?')[0] !== `/v1/datasets/${dataset}/ingest`) return { status: 404, body: '{"message":"dataset not found","code":404}' }
      if (request.headers.authorization !== `Bearer ${token}`) return { status: 403, body: `{"message":"forbidden: ${echo(request, 'authorization')}","code":403}` }
      const type = String(request.headers['content-type'])
      let events: unknown[]
      if (type.startsWith('application/x-ndjson')) events = request.body.split('\n').filter((l) => l !== '').map(parseJson)
      else if (type.startsWith('application/json')) events = (parseJson(request.body) as unknown[] | undefined) ?? [undefined]
      else return { status: 415, body: '{"message":"unsupported content type","code":415}' }
      if (events.length > 10_000) return { status: 400, body: '{"message":"too many events in a batch","code":400}' }
      const failures: { timestamp: string; error: string }[] = []
      let ingested = 0
      for (const event of events) {
        if (!isObject(event)) return { status: 400, body: '{"message":"invalid JSON","code":400}' }
        if (event.refuse === true) {
          failures.push({ timestamp: new Date().toISOString(), error: 'adding field would exceed the dataset field limit' })
          continue
        }
        if (typeof event._time !== 'string' || Number.isNaN(Date.parse(event._time))) violations.push('an event without an RFC 3339 _time')
        accepted.push(event)
        ingested++
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ingested, failed: failures.length, failures, processedBytes: request.raw.length, blocksCreated: 0, walLength: 0 }),
      }
    },
    (status, request) => JSON.stringify({ message: `${status === 429 ? 'rate limit exceeded' : 'service unavailable'} for ${echo(request, 'authorization')}`, code: status }),
  )
}

/** Better Stack's HTTP log ingestion, on a source's ingesting host. */
export const BETTER_STACK_MAX_BYTES = 10 * 1024 * 1024

export function betterStack(cleanups: Cleanups, sourceToken: string): Promise<FakeService> {
  return fake(
    cleanups,
    (request, accepted, violations) => {
      if (request.method !== 'POST' || request.url !== '/') return { status: 404, body: 'Not Found' }
      if (request.headers.authorization !== `Bearer ${sourceToken}`) return { status: 403, body: `Unauthorized (${echo(request, 'authorization')})` }
      if (request.raw.length > BETTER_STACK_MAX_BYTES) return { status: 413, body: 'payload reached size limit' }
      const type = String(request.headers['content-type'])
      let events: unknown[]
      if (type.startsWith('application/x-ndjson')) events = request.body.split('\n').filter((l) => l !== '').map(parseJson)
      else if (type.startsWith('application/json')) {
        const body = parseJson(request.body)
        events = Array.isArray(body) ? body : [body]
      } else return { status: 406, body: "Couldn't parse JSON content." }
      if (events.some((event) => !isObject(event))) return { status: 406, body: "Couldn't parse JSON content." }
      for (const event of events as Record<string, unknown>[]) {
        const dt = event.dt
        const ok = typeof dt === 'number' || (typeof dt === 'string' && !Number.isNaN(Date.parse(dt)))
        if (!ok) violations.push(`an event whose dt is not a time: ${JSON.stringify(dt)}`)
        accepted.push(event)
      }
      return { status: 202, body: '' }
    },
    (status, request) => `${status === 429 ? 'Too Many Requests' : 'Service Unavailable'} (${echo(request, 'authorization')})`,
  )
}
