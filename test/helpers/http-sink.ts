import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { serve, Waiters } from './test-server.js'

/** One request the sink received. */
export interface ReceivedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** Raw body bytes as sent (still gzipped if the client gzipped). */
  readonly raw: Buffer
  /** Body text, gunzipped when `content-encoding: gzip`. */
  readonly body: string
  /** Time the request finished arriving (Date.now()). */
  readonly at: number
}

/**
 * How to answer one request. `status` defaults to 200. `hang: true` never answers; `destroy: true`
 * resets the connection; `delayMs` answers late.
 */
export interface Reply {
  status?: number
  headers?: Record<string, string>
  body?: string
  delayMs?: number
  hang?: boolean
  destroy?: boolean
}

export type Responder = (request: ReceivedRequest, index: number) => Reply | undefined

/** A real HTTP server on 127.0.0.1, port 0, that records requests and answers as told. */
export interface HttpSink {
  readonly url: string
  readonly port: number
  readonly requests: ReceivedRequest[]
  /** TCP connections the server has accepted so far (keep-alive reuse shows as 1 for many requests). */
  readonly connections: number
  /** Records received so far (NDJSON lines or JSON array items, parsed), across accepted requests only. */
  records(): Record<string, unknown>[]
  /** Replaces the responder. */
  respond(responder: Responder): void
  /** Resolves when `predicate()` holds, re-checked on every request. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Parses a body of NDJSON or a JSON array into records. */
export function parseBody(body: string): Record<string, unknown>[] {
  const text = body.trim()
  if (text === '') return []
  if (text.startsWith('[')) return JSON.parse(text) as Record<string, unknown>[]
  return text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
}

/**
 * Starts the sink on 127.0.0.1, on `options.port` or a free port. A fixed port lets a test bring a
 * sink up where a client has been refused so far.
 */
export async function startHttpSink(responder: Responder = () => undefined, options: { port?: number } = {}): Promise<HttpSink> {
  let respond = responder
  const requests: ReceivedRequest[] = []
  const accepted: Record<string, unknown>[] = []
  const waiters = new Waiters(() => `${requests.length} requests so far`)

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => undefined)
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const gz = req.headers['content-encoding'] === 'gzip'
      const request: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        body: (gz ? gunzipSync(raw) : raw).toString('utf8'),
        at: Date.now(),
      }
      const index = requests.length
      requests.push(request)
      const reply = respond(request, index) ?? {}
      const status = reply.status ?? 200
      if (!reply.hang && !reply.destroy && status >= 200 && status < 300) accepted.push(...parseBody(request.body))
      waiters.notify()
      if (reply.destroy) {
        req.socket.destroy()
        return
      }
      if (reply.hang) {
        hanging.add(res)
        return
      }
      const send = (): void => {
        res.writeHead(status, reply.headers)
        res.end(reply.body ?? '')
      }
      if (reply.delayMs) setTimeout(send, reply.delayMs)
      else send()
    })
  })
  const served = await serve(server, options.port)
  const { port, hanging } = served

  return {
    url: `http://127.0.0.1:${port}/logs`,
    port,
    requests,
    get connections() {
      return served.connections()
    },
    records: () => accepted,
    respond(next) {
      respond = next
    },
    waitFor: (predicate, timeoutMs) => waiters.waitFor(predicate, timeoutMs),
    close: () => served.close(),
  }
}
