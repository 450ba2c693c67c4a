/**
 * A protocol-faithful fake of Grafana Loki's push API (`POST /loki/api/v1/push`, JSON), on a real
 * HTTP server on 127.0.0.1. It enforces what Loki does and answers with Loki's own strings
 * (pkg/distributor, pkg/ingester, pkg/validation, dskit's tenant package), as Loki 2.x, 3.5 or 3.7
 * (the default) writes them:
 *
 * - the tenant header: a tenant ID Loki refuses (characters, length, '.' or '..') is a 400 with
 *   dskit's bare message, and nothing is stored;
 * - the body: `{"streams":[{"stream":{labels},"values":[["<ns>","<line>",{metadata}?],…]}]}`, gzip
 *   accepted; anything else is a 400 whose body is the decoder's bare error (jsoniter's "…, error
 *   found in #N byte of …": Loki logs "couldn't parse push request" but does not answer it), and
 *   nothing is stored;
 * - label names `[a-zA-Z_][a-zA-Z0-9_]*` (3.x: the whole request refused, "couldn't parse labels";
 *   2.x: that stream, "Error parsing labels"), at least one label;
 * - Loki 3's `service_name`: added to every stream that lacks it (from `service`, `app`, … else
 *   `unknown_service`) before validation, so the stream names in its messages and its store carry it;
 * - the distributor's stream checks: `max_label_names_per_series` (15; `service_name` not counted in
 *   3.x), label values up to 2048 characters, enforced labels (`enforcedLabels`); its entry checks:
 *   `max_line_size` ("max entry size … exceeded", capitalised before 3.6), structured metadata allowed
 *   or not; its errors grouped by message ("N errors like: …") in a 400;
 * - timestamps: nanoseconds as a decimal string;
 * - the ingester's order per stream: `strict` (unordered_writes=false: older than the newest is
 *   "entry out of order") or `window` (the default since 2.4: older than the newest minus
 *   max_chunk_age/2, 1 h, is "entry too far behind"); an entry equal to the stream's last one (same
 *   time, same line) is dropped as a duplicate; a 400 "… total ignored: N out of M for stream: …";
 * - stream names as Prometheus writes them: sorted, values quoted as Go's strconv.Quote does;
 * - a required tenant and credentials when asked to, and a body limit (413).
 *
 * It stores what it accepted per stream, in arrival order; scripted replies (`before`) stand for an
 * outage or a rate limit and store nothing.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { serve, Waiters } from '../../helpers/test-server.js'

export const PUSH_PATH = '/loki/api/v1/push'

/** Loki's 429 for the per-tenant ingestion rate (validation.RateLimitedErrorMsg). */
export function rateLimitedBody(lines: number, bytes: number): string {
  return `Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) while attempting to ingest '${lines}' lines totaling '${bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased`
}

export interface FakeLokiReply {
  status: number
  body?: string
  headers?: Record<string, string>
  /** Answer after this long. */
  delayMs?: number
}

export interface FakeLokiOptions {
  /** Listen on this port (to bring Loki up where a client has been refused so far). @default a free one */
  port?: number
  /** Per-stream order rule. @default 'window' */
  order?: 'strict' | 'window'
  /** The `window` rule's width: max_chunk_age / 2. @default 3600000 (1 h) */
  windowMs?: number
  /** `max_line_size` in bytes (0: none). @default 262144 */
  maxLineBytes?: number
  /** Largest body accepted, else 413. @default none */
  maxBodyBytes?: number
  /** Refuse structured metadata (`allow_structured_metadata: false`). @default false */
  disallowStructuredMetadata?: boolean
  /** Require this `X-Scope-OrgID` (else 401 "no org id"). @default none */
  tenant?: string
  /** Require this `authorization` header (else 401). @default none */
  authorization?: string
  /**
   * Which Loki: '2' (capitalised messages, the ingester's "total ignored: N out of M", no
   * service_name, label names checked per stream), '3.5' (3.x's ingester message, service_name added,
   * label names checked for the whole request, "missing required labels a for user u for stream {…}"),
   * '3.7' (3.6's lower-case messages, the enforced-labels message quoted with its policy).
   * @default '3.7'
   */
  version?: '2' | '3.5' | '3.7'
  /** Labels every stream must have (`enforced_labels`, Loki 3.5+). @default none */
  enforcedLabels?: readonly string[]
  /** `max_label_names_per_series`. @default 15 */
  maxLabelNames?: number
  /** A reply to give instead of processing the request (an outage, a rate limit). */
  before?: (request: PushRequest, index: number) => FakeLokiReply | undefined
  /** Delay before a request is processed (stored and answered), to let requests overtake each other. */
  delayMs?: (index: number) => number
  /** Holds a request's answer until the promise it returns settles. */
  gate?: (request: PushRequest, index: number) => Promise<void> | undefined
}

/** One push as received. */
export interface PushRequest {
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly raw: Buffer
  /** The body text (gunzipped). */
  readonly text: string
  /** Status answered. */
  status?: number
  answer?: string
}

export interface StoredEntry {
  readonly ns: string
  readonly line: string
  readonly metadata: Record<string, string> | undefined
}

export interface FakeLoki {
  /** Base URL (`http://127.0.0.1:PORT`): the sender adds the push path. */
  readonly url: string
  readonly port: number
  readonly requests: PushRequest[]
  /** `in N` when request N arrived, `out N` when its answer went: the order things happened in. */
  readonly events: string[]
  /**
   * Accepted entries by stream (Loki's stream name, `{app="api", level="info", service_name="api"}`:
   * 3.x adds service_name), in arrival order.
   */
  readonly streams: Map<string, StoredEntry[]>
  /** Every accepted entry's line parsed as JSON (lines that are not JSON are skipped). */
  records(): Record<string, unknown>[]
  /** Resolves when `predicate()` holds, re-checked on every request. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

interface Stream {
  labels: Record<string, string>
  values: [string, string, Record<string, string> | undefined][]
}

class ParseError extends Error {}

/** Starts a fake Loki. */
export async function startFakeLoki(options: FakeLokiOptions = {}): Promise<FakeLoki> {
  const requests: PushRequest[] = []
  const events: string[] = []
  const streams = new Map<string, StoredEntry[]>()
  const state = new Map<string, { highest: bigint; last: { ns: bigint; line: string } | undefined }>()
  const waiters = new Waiters(() => `${requests.length} requests so far`)
  const maxLine = options.maxLineBytes ?? 262_144
  const windowNs = BigInt(options.windowMs ?? 3_600_000) * 1_000_000n
  const version = options.version ?? '3.7'
  const v3 = version !== '2'
  // Loki 3.6 wrote these two lower-case.
  const lower = version === '3.7'
  const maxLabelNames = options.maxLabelNames ?? 15

  const answer = (res: ServerResponse, reply: FakeLokiReply, request: PushRequest, index: number, gate?: Promise<void>): void => {
    request.status = reply.status
    request.answer = reply.body
    waiters.notify()
    const send = (): void => {
      events.push(`out ${index}`)
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8', ...reply.headers })
      res.end(reply.body ?? '')
    }
    const later = (): void => void (reply.delayMs ? setTimeout(send, reply.delayMs) : send())
    if (gate) void gate.then(later)
    else later()
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => undefined)
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      let text: string
      try {
        text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
      } catch {
        text = ''
      }
      const request: PushRequest = { url: req.url ?? '', headers: req.headers, raw, text }
      const index = requests.length
      requests.push(request)
      events.push(`in ${index}`)
      const gate = options.gate?.(request, index)
      const scripted = options.before?.(request, index)
      if (scripted) return answer(res, scripted, request, index, gate)
      const delayMs = options.delayMs?.(index) ?? 0
      if (req.method !== 'POST' || req.url !== PUSH_PATH) return answer(res, { status: 404, body: '404 page not found\n', delayMs }, request, index, gate)
      if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
        return answer(res, { status: 401, body: 'Unauthorized\n', delayMs }, request, index, gate)
      }
      if (options.tenant !== undefined && req.headers['x-scope-orgid'] !== options.tenant) {
        return answer(res, { status: 401, body: 'no org id\n', delayMs }, request, index, gate)
      }
      const tenant = req.headers['x-scope-orgid']
      const tenantError = typeof tenant === 'string' ? tenantProblem(tenant) : undefined
      if (tenantError !== undefined) return answer(res, { status: 400, body: `${tenantError}\n`, delayMs }, request, index, gate)
      if (options.maxBodyBytes !== undefined && raw.length > options.maxBodyBytes) {
        return answer(res, { status: 413, body: `request body too large: ${raw.length} bytes, limit: ${options.maxBodyBytes} bytes\n`, delayMs }, request, index, gate)
      }
      let pushed: Stream[]
      try {
        // Any other content type is read as snappy-compressed protobuf.
        if (!String(req.headers['content-type']).startsWith('application/json')) throw new Error('snappy: corrupt input')
        pushed = parsePush(text)
        if (v3) {
          // Loki 3 parses every stream's labels while reading the request: one bad name fails it all.
          for (const stream of pushed) {
            const bad = Object.keys(stream.labels).find((n) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n))
            if (bad !== undefined) throw new Error(`couldn't parse labels: 1:2: parse error: unexpected character inside braces: '${bad[0]}'`)
          }
        }
      } catch (error) {
        // Loki answers the bare error (it logs it as "couldn't parse push request: …").
        const reason = error instanceof ParseError ? jsoniterError(error.message, text) : error instanceof Error ? error.message : String(error)
        return answer(res, { status: 400, body: `${reason}\n`, delayMs }, request, index, gate)
      }
      // The delay comes before the entries are stored, as when Loki is slow to take a request: a
      // request sent later can then be stored first (what the sender's sequencer must prevent).
      const process = (): void => answer(res, push(pushed), request, index, gate)
      if (delayMs > 0) setTimeout(process, delayMs)
      else process()
    })
  })

  /** The distributor's checks, then the ingester's per-stream order; stores what passes. */
  const push = (pushed: Stream[]): FakeLokiReply => {
    const validation: string[] = []
    const accepted: { name: string; values: Stream['values'] }[] = []
    for (const stream of pushed) {
      if (stream.values.length === 0) continue
      const names = Object.keys(stream.labels)
      // Loki 3 adds service_name first: a stream without labels gets {service_name="unknown_service"}.
      const labels = v3 ? withServiceName(stream.labels) : stream.labels
      if (Object.keys(labels).length === 0) {
        validation.push('error at least one label pair is required per stream')
        continue
      }
      const name = streamName(labels)
      const bad = names.find((n) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n))
      if (bad !== undefined) {
        validation.push(`${lower ? 'error' : 'Error'} parsing labels '${name}' with error: 1:2: parse error: unexpected character inside braces: '${bad[0]}'`)
        continue
      }
      const counted = Object.keys(labels).length - (v3 && 'service_name' in labels ? 1 : 0)
      if (counted > maxLabelNames) {
        validation.push(`entry for stream '${name}' has ${counted} label names; limit ${maxLabelNames}`)
        continue
      }
      const long = Object.values(labels).find((v) => v.length > 2048)
      if (long !== undefined) {
        validation.push(`stream '${name}' has label value too long: '${long}'`)
        continue
      }
      const missing = (options.enforcedLabels ?? []).filter((l) => !(l in labels))
      if (v3 && missing.length > 0) {
        validation.push(
          version === '3.7'
            ? `missing required labels '${missing.join(',')}' for user 'fake' for stream '${name}' (policy: '')`
            : `missing required labels ${missing.join(',')} for user fake for stream ${name}`,
        )
        continue
      }
      const valid: Stream['values'] = []
      for (const value of stream.values) {
        const length = Buffer.byteLength(value[1])
        if (maxLine > 0 && length > maxLine) {
          validation.push(`${lower ? 'max' : 'Max'} entry size '${maxLine}' bytes exceeded for stream '${name}' while adding an entry with length '${length}' bytes`)
        } else if (value[2] !== undefined && options.disallowStructuredMetadata) {
          validation.push(
            `stream '${name}' includes structured metadata, but this feature is disallowed. Please see \`limits_config.allow_structured_metadata\` or contact your Loki administrator to enable it${lower ? '' : '.'}`,
          )
        } else valid.push(value)
      }
      if (valid.length > 0) accepted.push({ name, values: valid })
    }
    let ingesterError: string | undefined
    for (const { name, values } of accepted) {
      const failed = ingest(name, values)
      if (failed.length > 0) ingesterError = ignoredMessage(name, failed, values.length)
    }
    if (ingesterError !== undefined) return { status: 400, body: ingesterError }
    if (validation.length > 0) return { status: 400, body: grouped(validation) }
    return { status: 204 }
  }

  /** The ingester: per-stream order and duplicate rule; returns the refused entries with their reasons. */
  const ingest = (name: string, values: Stream['values']): { ns: bigint; reason: string }[] => {
    const failed: { ns: bigint; reason: string }[] = []
    const s = state.get(name) ?? { highest: 0n, last: undefined }
    state.set(name, s)
    let stored = streams.get(name)
    if (stored === undefined) streams.set(name, (stored = []))
    for (const [nsText, line, metadata] of values) {
      const ns = BigInt(nsText)
      if (s.last && s.last.ns === ns && s.last.line === line) continue
      if (options.order === 'strict') {
        if (s.last && ns < s.highest) {
          failed.push({ ns, reason: 'entry out of order' })
          continue
        }
      } else if (s.highest > 0n && ns < s.highest - windowNs) {
        failed.push({
          ns,
          reason: `entry too far behind, entry timestamp is: ${rfc3339(ns)}, oldest acceptable timestamp is: ${rfc3339(s.highest - windowNs)}`,
        })
        continue
      }
      if (ns > s.highest) s.highest = ns
      s.last = { ns, line }
      stored.push({ ns: nsText, line, metadata })
    }
    return failed
  }

  const ignoredMessage = (name: string, failed: { ns: bigint; reason: string }[], total: number): string => {
    let out = ''
    for (const f of failed.slice(0, 10)) {
      out += v3
        ? `entry with timestamp ${goTime(f.ns)} ignored, reason: '${f.reason}',\n`
        : `entry with timestamp ${goTime(f.ns)} ignored, reason: '${f.reason}' for stream: ${name},\n`
    }
    return out + (v3 ? `user 'fake', total ignored: ${failed.length} out of ${total} for stream: ${name}` : `total ignored: ${failed.length} out of ${total}`)
  }

  const served = await serve(server, options.port)
  const { port } = served

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    events,
    streams,
    records() {
      const out: Record<string, unknown>[] = []
      for (const entries of streams.values()) {
        for (const entry of entries) {
          try {
            out.push(JSON.parse(entry.line) as Record<string, unknown>)
          } catch {
            // A line that is not JSON (a malformed record's raw text).
          }
        }
      }
      return out
    },
    waitFor: (predicate, timeoutMs) => waiters.waitFor(predicate, timeoutMs),
    close: () => served.close(),
  }
}

/** Checks the push body's shape as Loki's JSON decoder does (strings where strings are due). */
function parsePush(text: string): Stream[] {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new ParseError(`invalid JSON: ${(error as Error).message}`)
  }
  const streams = (body as { streams?: unknown }).streams
  if (!Array.isArray(streams)) throw new ParseError('streams: expected an array')
  return streams.map((s: unknown, i) => {
    const { stream, values } = s as { stream?: unknown; values?: unknown }
    if (typeof stream !== 'object' || stream === null || Array.isArray(stream)) throw new ParseError(`streams[${i}].stream: expected an object`)
    for (const [k, v] of Object.entries(stream)) if (typeof v !== 'string') throw new ParseError(`streams[${i}].stream.${k}: expected a string`)
    if (!Array.isArray(values)) throw new ParseError(`streams[${i}].values: expected an array`)
    return {
      labels: stream as Record<string, string>,
      values: values.map((v: unknown, j) => {
        if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw new ParseError(`streams[${i}].values[${j}]: expected [ts, line, metadata?]`)
        const [ts, line, metadata] = v as unknown[]
        if (typeof ts !== 'string' || !/^\d+$/.test(ts)) throw new ParseError(`streams[${i}].values[${j}][0]: expected a timestamp in ns as a string`)
        if (typeof line !== 'string') throw new ParseError(`streams[${i}].values[${j}][1]: expected a string`)
        if (metadata !== undefined) {
          if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new ParseError(`streams[${i}].values[${j}][2]: expected an object`)
          for (const m of Object.values(metadata)) if (typeof m !== 'string') throw new ParseError(`streams[${i}].values[${j}][2]: expected string values`)
        }
        return [ts, line, metadata as Record<string, string> | undefined]
      }),
    }
  })
}

/** Loki's name of a stream (Prometheus `labels.String()`): `{a="1", b="2"}`, sorted by name, values as Go quotes them. */
export function streamName(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort()
  return `{${names.map((n) => `${n}=${quoteGo(labels[n] as string)}`).join(', ')}}`
}

/**
 * Go's strconv.Quote, written here apart from the sender's own: `\"`, `\\`, `\n` and the like, other
 * ASCII controls `\xHH`, characters Go's unicode.IsPrint refuses (not a letter, mark, number,
 * punctuation, symbol or the ASCII space) `\uHHHH` / `\UHHHHHHHH`. Lone surrogates arrive as U+FFFD.
 */
export function quoteGo(value: string): string {
  const named: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 34: '"', 92: '\\' }
  let out = ''
  for (const char of value) {
    let code = char.codePointAt(0) as number
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd
    if (named[code] !== undefined) out += `\\${named[code]}`
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (/[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(String.fromCodePoint(code))) out += String.fromCodePoint(code)
    else out += code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  }
  return `"${out}"`
}

/** Loki 3's labels: service_name added when missing (discover_service_name's default list). */
function withServiceName(labels: Record<string, string>): Record<string, string> {
  if ('service_name' in labels) return labels
  const from = SERVICE_NAME_FROM.find((l) => labels[l] !== undefined && labels[l] !== '')
  return { ...labels, service_name: from === undefined ? 'unknown_service' : (labels[from] as string) }
}

const SERVICE_NAME_FROM = ['service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name']

/** dskit's tenant.ValidTenantID, with its messages. */
function tenantProblem(tenant: string): string | undefined {
  const bad = /[^a-zA-Z0-9!\-_.*'()]/.exec(tenant)
  if (bad !== null) return `tenant ID '${tenant}' contains unsupported character '${bad[0]}'`
  if (tenant.length > 150) return 'tenant ID is too long: max 150 characters'
  if (tenant === '.' || tenant === '..') return "tenant ID is '.' or '..'"
  return undefined
}

/** A decoding error as jsoniter words it: `<where>: <what>, error found in #N byte of ...|…|..., bigger context ...|…|...`. */
function jsoniterError(reason: string, text: string): string {
  const at = Math.min(10, text.length)
  return `loghttp.PushRequest.Streams: ${reason}, error found in #${at} byte of ...|${text.slice(0, at)}|..., bigger context ...|${text.slice(0, 50)}|...`
}

/** util.GroupedErrors: "N errors like: …" per distinct message, unless there is only one error. */
function grouped(errors: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const e of errors) counts.set(e, (counts.get(e) ?? 0) + 1)
  if (counts.size === 1 && errors.length === 1) return errors[0] as string
  return [...counts].map(([e, n]) => `${n} errors like: ${e}`).join('; ')
}

/** Go's time.Time.String() in UTC ("2023-11-14 22:13:20.000000001 +0000 UTC"). */
function goTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const rest = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  const base = new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
  return `${base}${rest ? `.${rest}` : ''} +0000 UTC`
}

function rfc3339(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}Z`
}
