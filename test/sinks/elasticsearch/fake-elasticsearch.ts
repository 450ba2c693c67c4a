/**
 * A protocol-faithful fake of Elasticsearch's (or OpenSearch's) `_bulk` API on a real HTTP server
 * (127.0.0.1, port 0), for tests where no real server can be installed. It enforces what the servers
 * document and do, with their error bodies:
 * - the content type (406 otherwise), gzip request bodies, `http.max_content_length` (413, empty body);
 * - the body: required (400 parse_exception), ending with a newline (400 "The bulk request must be
 *   terminated by a newline [\n]"), action/metadata lines of a known op with known parameters, a
 *   document line after each (400 otherwise, for the whole request);
 * - per item: index name rules (400 invalid_index_name_exception), `create` on an existing `_id`
 *   (409 version_conflict_engine_exception), documents that are not one JSON object or repeat a field
 *   (400 document_parsing_exception; OpenSearch: mapper_parsing_exception), dynamic mapping conflicts
 *   (a string into a field first seen as a number), data streams (only `create`, `@timestamp`
 *   required, backing index `.ds-<name>-<date>-000001`), and scripted item failures (a 429
 *   es_rejected_execution_exception, a mapping error);
 * - the answer `{errors, took, items:[{<op>:{_index,_id,_version,result,_shards,_seq_no,_primary_term,status}}]}`
 *   (Elasticsearch 8 writes `errors` first, OpenSearch `took` first), cut down by `filter_path`, with
 *   `X-elastic-product: Elasticsearch` from Elasticsearch only;
 * - credentials, when the fake is given some (401 security_exception otherwise).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { serve, Waiters } from '../../helpers/test-server.js'

export type Flavor = 'elasticsearch' | 'opensearch'

/** A failure the fake gives one item, as the server would. */
export interface ItemFailure {
  status: number
  type: string
  reason: string
  caused_by?: { type: string; reason: string }
}

/** What an item hook sees: one action of a bulk request. */
export interface ItemContext {
  op: string
  index: string
  id: string | undefined
  doc: Record<string, unknown>
  /** How many times an action with this `_id` has been received, this one included. */
  seen: number
}

/** A whole-request answer scripted by a test (instead of processing the bulk). */
export interface ScriptedReply {
  status?: number
  body?: string
  headers?: Record<string, string>
  hang?: boolean
  destroy?: boolean
  /** Processes the bulk (the documents are stored) and then resets the connection: the answer is lost. */
  lose?: boolean
}

export interface FakeOptions {
  flavor?: Flavor
  /** A fixed port (to come back up where clients were refused). */
  port?: number
  /** Path prefix a proxy would add (`/es`): stripped before routing. */
  prefix?: string
  /** `http.max_content_length` in bytes. @default 100 MB, as the servers' default */
  maxContentLength?: number
  /** Field types fixed before any write (an index template's mappings), by index. */
  mappings?: Record<string, Record<string, 'long' | 'text' | 'object'>>
  /** Data stream names: writes to them follow the data stream rules. */
  dataStreams?: readonly string[]
  /** Credentials the fake requires (any of them). */
  auth?: { basic?: { user: string; pass: string }; apiKey?: string }
  /** Misbehaving server: echoes the request's authorization in its 401 and item errors. */
  echoCredentials?: boolean
  /** Scripted item failures; undefined lets the item through. */
  item?: (context: ItemContext) => ItemFailure | undefined
  /** Scripted whole-request answers; undefined processes the request. */
  request?: (request: BulkRequest, index: number) => ScriptedReply | undefined
}

/** A request as received. */
export interface BulkRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  /** The body, gunzipped. */
  readonly body: string
  readonly raw: Buffer
}

/** A document as stored. */
export interface StoredDoc {
  readonly index: string
  readonly id: string
  readonly source: Record<string, unknown>
  readonly version: number
  readonly pipeline: string | undefined
}

export interface FakeElasticsearch {
  /** Base URL, `http://127.0.0.1:<port>` (with the prefix, if any). */
  readonly url: string
  readonly port: number
  readonly requests: BulkRequest[]
  /** Every document stored, by `<index>/<id>`. */
  readonly docs: Map<string, StoredDoc>
  /** Successful writes (creates and overwrites), in order: a record written twice shows twice. */
  readonly writes: StoredDoc[]
  /** Items answered, by status. */
  readonly statuses: Map<number, number>
  respond(request: FakeOptions['request']): void
  onItem(item: FakeOptions['item']): void
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const ACTIONS = new Set(['create', 'index', 'update', 'delete'])
const ACTION_PARAMETERS = new Set([
  '_index', '_id', 'routing', 'pipeline', 'require_alias', 'require_data_stream', 'dynamic_templates', 'if_seq_no',
  'if_primary_term', 'version', 'version_type', 'op_type', 'retry_on_conflict', '_source', 'list_executed_pipelines',
])
const ACCEPTED_TYPES = /^application\/(?:x-ndjson|json|vnd\.elasticsearch\+(?:x-ndjson|json))\s*(?:;.*)?$/i

/** An error answer as both servers write them: `{"error":{"root_cause":[…],"type","reason"},"status"}`. */
export function errorBody(status: number, type: string, reason: string, extra: Record<string, unknown> = {}): string {
  const error = { type, reason, ...extra }
  return JSON.stringify({ error: { root_cause: [error], ...error }, status })
}

export async function startFakeElasticsearch(options: FakeOptions = {}): Promise<FakeElasticsearch> {
  const flavor = options.flavor ?? 'elasticsearch'
  const prefix = options.prefix ?? ''
  const maxContentLength = options.maxContentLength ?? 100 * 1024 * 1024
  const dataStreams = new Set(options.dataStreams ?? [])
  let itemHook = options.item
  let requestHook = options.request
  const requests: BulkRequest[] = []
  const docs = new Map<string, StoredDoc>()
  const writes: StoredDoc[] = []
  const statuses = new Map<number, number>()
  const seen = new Map<string, number>()
  const mappings = new Map<string, Map<string, 'long' | 'text' | 'object'>>(
    Object.entries(options.mappings ?? {}).map(([index, fields]) => [index, new Map(Object.entries(fields))]),
  )
  const waiters = new Waiters(() => `${requests.length} requests so far`)
  let seqNo = 0

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    const product: Record<string, string> = flavor === 'elasticsearch' ? { 'x-elastic-product': 'Elasticsearch' } : {}
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...product, ...headers })
    res.end(body)
  }

  const authorized = (headers: IncomingHttpHeaders): boolean => {
    if (!options.auth) return true
    const given = headers.authorization ?? ''
    const { basic, apiKey } = options.auth
    if (basic && given === `Basic ${Buffer.from(`${basic.user}:${basic.pass}`).toString('base64')}`) return true
    return apiKey !== undefined && given === `ApiKey ${apiKey}`
  }

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://fake')
    let path = url.pathname
    if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length)
    let body: string
    try {
      body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
    } catch {
      send(res, 400, errorBody(400, 'parse_exception', 'failed to decompress the request body'))
      return
    }
    const request: BulkRequest = { method: req.method ?? '', path, query: url.searchParams, headers: req.headers, body, raw }
    const index = requests.length
    requests.push(request)
    try {
      const scripted = requestHook?.(request, index)
      if (scripted?.lose) {
        bulk(body, undefined, request)
        req.socket.destroy()
        return
      }
      if (scripted) {
        if (scripted.destroy) req.socket.destroy()
        else if (scripted.hang) served.hanging.add(res)
        else send(res, scripted.status ?? 200, scripted.body ?? '', scripted.headers)
        return
      }
      if (!authorized(req.headers)) {
        const reason = options.echoCredentials
          ? `unable to authenticate with provided credentials [${req.headers.authorization ?? ''}]`
          : `missing authentication credentials for REST request [${path}]`
        send(res, 401, errorBody(401, 'security_exception', reason), { 'www-authenticate': 'Basic realm="security", ApiKey' })
        return
      }
      const route = /^(?:\/([^/]+))?\/_bulk$/.exec(path)
      if (req.method !== 'POST' && req.method !== 'PUT') {
        send(res, 405, errorBody(405, 'illegal_argument_exception', `Incorrect HTTP method for uri [${path}] and method [${req.method}]`))
        return
      }
      if (!route) {
        send(res, 400, errorBody(400, 'illegal_argument_exception', `no handler found for uri [${path}] and method [${req.method}]`))
        return
      }
      const type = req.headers['content-type'] ?? ''
      if (!ACCEPTED_TYPES.test(type)) {
        send(res, 406, JSON.stringify({ error: `Content-Type header [${type}] is not supported`, status: 406 }))
        return
      }
      if (Buffer.byteLength(body) > maxContentLength) {
        send(res, 413, '')
        return
      }
      const answer = bulk(body, route[1] ? decodeURIComponent(route[1]) : undefined, request)
      send(res, answer.status, answer.status === 200 ? filtered(answer.body, url.searchParams.get('filter_path')) : JSON.stringify(answer.body))
    } finally {
      waiters.notify()
    }
  }

  const bulk = (body: string, defaultIndex: string | undefined, request: BulkRequest): { status: number; body: unknown } => {
    if (body === '') return { status: 400, body: JSON.parse(errorBody(400, 'parse_exception', 'request body is required')) }
    if (!body.endsWith('\n')) {
      return { status: 400, body: JSON.parse(errorBody(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]')) }
    }
    const lines = body.slice(0, -1).split('\n')
    // Whole-request checks first, as the server parses every action before running any.
    const actions: { op: string; meta: Record<string, unknown>; source: string | undefined }[] = []
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1
      let action: unknown
      try {
        action = JSON.parse(lines[i] as string)
      } catch {
        return whole400('x_content_parse_exception', `[${lineNo}:1] Malformed action/metadata line [${lineNo}]`)
      }
      const keys = typeof action === 'object' && action !== null ? Object.keys(action) : []
      const op = keys[0]
      if (keys.length !== 1 || op === undefined || !ACTIONS.has(op)) {
        return whole400('illegal_argument_exception', `Malformed action/metadata line [${lineNo}], expected a simple value for field [${op ?? ''}] but found [START_OBJECT]`)
      }
      const meta = (action as Record<string, Record<string, unknown>>)[op] ?? {}
      for (const key of Object.keys(meta)) {
        if (!ACTION_PARAMETERS.has(key)) return whole400('illegal_argument_exception', `Action/metadata line [${lineNo}] contains an unknown parameter [${key}]`)
      }
      if (op === 'delete') {
        actions.push({ op, meta, source: undefined })
        continue
      }
      if (i + 1 >= lines.length) return whole400('illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]')
      actions.push({ op, meta, source: lines[++i] })
    }
    for (const [k, action] of actions.entries()) {
      if (action.meta._index === undefined && defaultIndex === undefined) {
        return whole400('action_request_validation_exception', `Validation Failed: ${k + 1}: index is missing;`)
      }
    }
    const started = Date.now()
    const items = actions.map((action) => ({ [action.op]: item(action, defaultIndex as string, request) }))
    const errors = items.some((entry) => ((Object.values(entry)[0] as { status: number }).status >= 300))
    const took = Date.now() - started
    return { status: 200, body: flavor === 'elasticsearch' ? { errors, took, items } : { took, errors, items } }
  }

  const item = (
    action: { op: string; meta: Record<string, unknown>; source: string | undefined },
    defaultIndex: string,
    request: BulkRequest,
  ): Record<string, unknown> => {
    const { op, meta } = action
    const index = String(meta._index ?? defaultIndex)
    const id = meta._id === undefined ? undefined : String(meta._id)
    const fail = (failure: ItemFailure, shown = index): Record<string, unknown> => {
      statuses.set(failure.status, (statuses.get(failure.status) ?? 0) + 1)
      const { status, ...error } = failure
      const echoed = options.echoCredentials ? ` [${request.headers.authorization ?? ''}]` : ''
      return { _index: shown, _id: id ?? null, status, error: { ...error, reason: error.reason + echoed, index_uuid: '_na_', index: shown } }
    }
    const invalid = indexNameProblem(index)
    if (invalid) return fail({ status: 400, type: 'invalid_index_name_exception', reason: `Invalid index name [${index}], ${invalid}` })
    const dataStream = dataStreams.has(index)
    if (dataStream && op !== 'create') {
      return fail({ status: 400, type: 'illegal_argument_exception', reason: 'only write ops with an op_type of create are allowed in data streams' })
    }
    const parsingType = flavor === 'elasticsearch' ? 'document_parsing_exception' : 'mapper_parsing_exception'
    const source = action.source ?? ''
    const keys = topLevelKeys(source)
    if (keys === undefined) return fail({ status: 400, type: parsingType, reason: `[1:1] failed to parse: not a JSON object` })
    const duplicate = keys.find((key, k) => keys.indexOf(key) !== k)
    if (duplicate !== undefined) {
      return fail({
        status: 400,
        type: parsingType,
        reason: `[1:${source.indexOf(`"${duplicate}"`, source.indexOf(`"${duplicate}"`) + 1) + 1}] failed to parse: Duplicate field '${duplicate}'`,
      })
    }
    const doc = JSON.parse(source) as Record<string, unknown>
    const key = id ?? `auto-${seqNo}`
    const times = (seen.get(`${index}/${key}`) ?? 0) + 1
    seen.set(`${index}/${key}`, times)
    const scripted = itemHook?.({ op, index, id, doc, seen: times })
    if (scripted) return fail(scripted)
    if (dataStream && doc['@timestamp'] === undefined) {
      return fail({
        status: 400,
        type: parsingType,
        reason: `[1:${source.length}] failed to parse: data stream timestamp field [@timestamp] is missing`,
        caused_by: { type: 'illegal_argument_exception', reason: 'data stream timestamp field [@timestamp] is missing' },
      })
    }
    const conflict = mappingConflict(index, doc, key)
    if (conflict) return fail({ status: 400, type: parsingType, ...conflict })
    const shown = dataStream ? `.ds-${index}-${new Date(String(doc['@timestamp'])).toISOString().slice(0, 10).replaceAll('-', '.')}-000001` : index
    const existing = docs.get(`${index}/${key}`)
    if (existing && op === 'create') {
      return fail(
        {
          status: 409,
          type: 'version_conflict_engine_exception',
          reason: `[${key}]: version conflict, document already exists (current version [${existing.version}])`,
        },
        shown,
      )
    }
    const stored: StoredDoc = { index, id: key, source: doc, version: (existing?.version ?? 0) + 1, pipeline: meta.pipeline as string | undefined }
    docs.set(`${index}/${key}`, stored)
    writes.push(stored)
    const status = existing ? 200 : 201
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    return {
      _index: shown,
      _id: key,
      _version: stored.version,
      result: existing ? 'updated' : 'created',
      _shards: { total: 2, successful: 1, failed: 0 },
      _seq_no: seqNo++,
      _primary_term: 1,
      status,
    }
  }

  /** Dynamic mapping of top-level fields: the first value seen fixes the field's type. */
  const mappingConflict = (index: string, doc: Record<string, unknown>, id: string): Omit<ItemFailure, 'status' | 'type'> | undefined => {
    let mapping = mappings.get(index)
    if (!mapping) mappings.set(index, (mapping = new Map()))
    const fresh = new Map<string, 'long' | 'text' | 'object'>()
    for (const [field, value] of Object.entries(doc)) {
      if (value === null) continue
      const kind = typeof value === 'number' ? 'long' : typeof value === 'object' ? 'object' : 'text'
      const mapped = mapping.get(field) ?? fresh.get(field)
      if (mapped === undefined) {
        fresh.set(field, kind)
        continue
      }
      if (mapped === 'object' && kind !== 'object') {
        return { reason: `object mapping for [${field}] tried to parse field [${field}] as object, but found a concrete value` }
      }
      const numeric = typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
      if ((mapped === 'long' && !numeric) || (mapped === 'text' && kind === 'object')) {
        const preview = typeof value === 'string' ? value : JSON.stringify(value)
        return {
          reason: `[1:2] failed to parse field [${field}] of type [${mapped}] in document with id '${id}'. Preview of field's value: '${preview}'`,
          caused_by: { type: 'illegal_argument_exception', reason: `For input string: "${preview}"` },
        }
      }
    }
    for (const [field, kind] of fresh) mapping.set(field, kind)
    return undefined
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', () => undefined)
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  const served = await serve(server, options.port)
  const { port } = served

  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    port,
    requests,
    docs,
    writes,
    statuses,
    respond(next) {
      requestHook = next
    },
    onItem(next) {
      itemHook = next
    },
    waitFor: (predicate, timeoutMs) => waiters.waitFor(predicate, timeoutMs),
    close: () => served.close(),
  }
}

function whole400(type: string, reason: string): { status: number; body: unknown } {
  return { status: 400, body: JSON.parse(errorBody(400, type, reason)) }
}

/** Elasticsearch's index name rules (MetadataCreateIndexService), as its messages word them. */
export function indexNameProblem(name: string): string | undefined {
  if (/[\\/*?"<>| ,]/.test(name)) return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
  if (name.includes('#')) return "must not contain '#'"
  if (name.includes(':')) return "must not contain ':'"
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'"
  if (Buffer.byteLength(name) > 255) return `index name is too long, (${Buffer.byteLength(name)} > 255)`
  if (name === '.' || name === '..') return "must not be '.' or '..'"
  if (name !== name.toLowerCase()) return 'must be lowercase'
  return undefined
}

/**
 * The keys of a JSON object text's top level, in order, repeats kept (JSON.parse keeps only the last
 * of a repeated key; Elasticsearch refuses the document); undefined when the text is not one object.
 */
export function topLevelKeys(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  } catch {
    return undefined
  }
  const keys: string[] = []
  let depth = 0
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, end + 1)) as string)
      expectKey = false
      i = end
    } else if (char === '{') {
      depth++
      expectKey = depth === 1
    } else if (char === '[') depth++
    else if (char === '}' || char === ']') depth--
    else if (char === ',' && depth === 1) expectKey = true
  }
  return keys
}

/** Applies `filter_path` (comma-separated paths, `*` for any key; arrays are looked through). */
export function filtered(answer: unknown, filterPath: string | null): string {
  if (!filterPath) return JSON.stringify(answer)
  const paths = filterPath.split(',').map((p) => p.split('.'))
  return JSON.stringify(pick(answer, paths) ?? {})
}

function pick(value: unknown, paths: string[][]): unknown {
  if (paths.some((p) => p.length === 0)) return value
  if (Array.isArray(value)) return value.map((entry) => pick(entry, paths)).filter((entry) => entry !== undefined)
  if (typeof value !== 'object' || value === null) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    const rest = paths.filter((p) => p[0] === '*' || p[0] === key).map((p) => p.slice(1))
    if (rest.length === 0) continue
    const kept = pick(inner, rest)
    if (kept !== undefined) out[key] = kept
  }
  return Object.keys(out).length > 0 ? out : undefined
}
