/**
 * A protocol-faithful stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver: a real HTTP
 * server on 127.0.0.1 that decodes every request with the official .proto files (protobuf or JSON,
 * gzipped or not, as the content headers say) and answers as the collector does: 404 "404 page not
 * found" (text, Go's ServeMux) off its logs path; 400 with a google.rpc.Status "http: request body
 * too large" for a body over `maxRequestBodySize` (confighttp's MaxBytesReader: never 413); 400 with
 * a Status for a request it cannot decode; every error as a Status in the request's own encoding.
 * Otherwise as the test scripts: a status, a `Retry-After`, a Status message, a partial success in
 * the request's encoding, a body of its own, a reset, a hang, an answer that breaks off.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { serve, Waiters } from '../../helpers/test-server.js'
import { decodeJsonRequest, decodeRequest, encodeResponse, encodeStatus, grpcCodeOf, type DecodedRecord, type DecodedRequest } from './otlp-proto.js'

export interface CollectorRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** The body as sent (gzipped if it was). */
  readonly raw: Buffer
  readonly json: boolean
  /** The decoded request; undefined when it could not be decoded (see `decodeError`). */
  readonly decoded: DecodedRequest | undefined
  readonly decodeError: string | undefined
  /** The decoded records (none when it could not be decoded). */
  readonly records: readonly DecodedRecord[]
}

export interface CollectorReply {
  /** @default 200 */
  status?: number
  headers?: Record<string, string>
  /** A body of the test's own (instead of the OTLP answer). */
  body?: string | Buffer
  /** Answer 200 with `partialSuccess` in the request's encoding. */
  partial?: { rejected: number; message?: string }
  /** Reset the connection without answering. */
  destroy?: boolean
  /** Never answer. */
  hang?: boolean
  /** Answer `status` (400 unless given) with a google.rpc.Status of this message, in the request's encoding. */
  error?: string
  /** Send the head and part of the body (`body`, or 64 bytes), then reset the connection. */
  breakOff?: boolean
}

export interface CollectorOptions {
  port?: number
  /** The receiver's `max_request_body_size` (bytes as sent); unlimited unless given. */
  maxRequestBodySize?: number
  /** The logs path it serves; any other gets Go's 404. @default '/v1/logs' */
  logsPath?: string
}

/** The collector's message for a body over its limit (Go's http.MaxBytesReader). */
export const BODY_TOO_LARGE = 'http: request body too large'

export type CollectorResponder = (request: CollectorRequest, index: number) => CollectorReply | undefined

export interface FakeCollector {
  /** The base URL (`http://127.0.0.1:PORT`), as users write it. */
  readonly url: string
  readonly port: number
  readonly requests: CollectorRequest[]
  /** Records of the requests answered 2xx (partially rejected ones included: see `rejected`). */
  accepted(): DecodedRecord[]
  /** Records the collector said it rejected in partial successes. */
  readonly rejected: number
  respond(responder: CollectorResponder): void
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startCollector(responder: CollectorResponder = () => undefined, options: CollectorOptions = {}): Promise<FakeCollector> {
  const logsPath = options.logsPath ?? '/v1/logs'
  let respond = responder
  const requests: CollectorRequest[] = []
  const accepted: DecodedRecord[] = []
  let rejected = 0
  const waiters = new Waiters(() => `${requests.length} requests so far`)

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', () => undefined)
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const json = (req.headers['content-type'] ?? '').startsWith('application/json')
      const contentType = json ? 'application/json' : 'application/x-protobuf'
      /** An error as the receiver writes it: a google.rpc.Status in the request's encoding. */
      const statusBody = (status: number, message: string): string | Buffer =>
        json ? JSON.stringify({ code: grpcCodeOf(status), message }) : encodeStatus(grpcCodeOf(status), message)
      if (new URL(req.url ?? '/', 'http://x').pathname !== logsPath) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('404 page not found\n')
        return
      }
      if (options.maxRequestBodySize !== undefined && raw.length > options.maxRequestBodySize) {
        res.writeHead(400, { 'content-type': contentType })
        res.end(statusBody(400, BODY_TOO_LARGE))
        return
      }
      let decoded: DecodedRequest | undefined
      let decodeError: string | undefined
      try {
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        decoded = json ? decodeJsonRequest(body.toString('utf8')) : decodeRequest(body)
      } catch (error) {
        decodeError = error instanceof Error ? error.message : String(error)
      }
      const request: CollectorRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        json,
        decoded,
        decodeError,
        records: decoded?.records ?? [],
      }
      const index = requests.length
      requests.push(request)
      const reply: CollectorReply = decodeError !== undefined ? { status: 400, error: decodeError } : (respond(request, index) ?? {})
      const status = reply.status ?? (reply.error !== undefined ? 400 : 200)
      if (!reply.hang && !reply.destroy && status >= 200 && status < 300) {
        accepted.push(...request.records)
        rejected += reply.partial?.rejected ?? 0
      }
      waiters.notify()
      if (reply.destroy) {
        req.socket.destroy()
        return
      }
      if (reply.hang) {
        hanging.add(res)
        return
      }
      const body =
        reply.body ??
        (reply.error !== undefined
          ? statusBody(status, reply.error)
          : json
            ? JSON.stringify(reply.partial ? jsonPartial(reply.partial) : {})
            : encodeResponse(reply.partial))
      if (reply.breakOff) {
        const part = reply.body ?? Buffer.alloc(64, 0x20)
        res.writeHead(status, { 'content-type': contentType, 'content-length': String(part.length + 1000), ...reply.headers })
        res.write(part, () => setTimeout(() => req.socket.destroy(), 20))
        return
      }
      res.writeHead(status, { 'content-type': contentType, ...reply.headers })
      res.end(body)
    })
  })
  const served = await serve(server, options.port)
  const { port, hanging } = served

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    accepted: () => accepted,
    get rejected() {
      return rejected
    },
    respond(next) {
      respond = next
    },
    waitFor: (predicate, timeoutMs) => waiters.waitFor(predicate, timeoutMs),
    close: () => served.close(),
  }
}

function jsonPartial(partial: { rejected: number; message?: string }): object {
  // int64 as a string, as the collector's protojson writes it.
  return { partialSuccess: { rejectedLogRecords: String(partial.rejected), errorMessage: partial.message ?? '' } }
}
