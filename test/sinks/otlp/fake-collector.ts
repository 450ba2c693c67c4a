/**
 * A protocol-faithful stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver: a real HTTP
 * server on 127.0.0.1 that decodes every request with the official .proto files (protobuf or JSON,
 * gzipped or not, as the content headers say), answers 400 to one it cannot decode, as the
 * collector does, and otherwise as the test scripts: a status, a `Retry-After`, a partial success in
 * the request's own encoding, a reset, a hang.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { decodeJsonRequest, decodeRequest, encodeResponse, type DecodedRecord, type DecodedRequest } from './otlp-proto.js'

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
}

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

export async function startCollector(responder: CollectorResponder = () => undefined, options: { port?: number } = {}): Promise<FakeCollector> {
  let respond = responder
  const requests: CollectorRequest[] = []
  const accepted: DecodedRecord[] = []
  let rejected = 0
  const sockets = new Set<Socket>()
  const hanging = new Set<ServerResponse>()
  const watchers = new Set<() => void>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', () => undefined)
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const json = (req.headers['content-type'] ?? '').startsWith('application/json')
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
      const reply: CollectorReply = decodeError !== undefined ? { status: 400, body: `cannot decode: ${decodeError}` } : (respond(request, index) ?? {})
      const status = reply.status ?? 200
      if (!reply.hang && !reply.destroy && status >= 200 && status < 300) {
        accepted.push(...request.records)
        rejected += reply.partial?.rejected ?? 0
      }
      for (const watcher of watchers) watcher()
      if (reply.destroy) {
        req.socket.destroy()
        return
      }
      if (reply.hang) {
        hanging.add(res)
        return
      }
      const contentType = json ? 'application/json' : 'application/x-protobuf'
      const body = reply.body ?? (json ? JSON.stringify(reply.partial ? jsonPartial(reply.partial) : {}) : encodeResponse(reply.partial))
      res.writeHead(status, { 'content-type': contentType, ...reply.headers })
      res.end(body)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', resolve)
  })
  const port = (server.address() as AddressInfo).port

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
    waitFor(predicate, timeoutMs = 30_000) {
      if (predicate()) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check)
          reject(new Error(`waitFor timed out after ${timeoutMs} ms (${requests.length} requests so far)`))
        }, timeoutMs)
        const check = (): void => {
          if (!predicate()) return
          clearTimeout(timer)
          watchers.delete(check)
          resolve()
        }
        watchers.add(check)
      })
    },
    close() {
      for (const res of hanging) res.destroy()
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function jsonPartial(partial: { rejected: number; message?: string }): object {
  // int64 as a string, as the collector's protojson writes it.
  return { partialSuccess: { rejectedLogRecords: String(partial.rejected), errorMessage: partial.message ?? '' } }
}
