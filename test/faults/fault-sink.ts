/**
 * A real HTTP server on 127.0.0.1 that misbehaves on purpose, for the fault-injection suite.
 *
 * It can be switched at any time between:
 * - refusing connections: `refuse()` stops listening (and drops every open connection), `recover()`
 *   listens again on the SAME port;
 * - answering a status, optionally with `Retry-After`, optionally late (`delayMs`);
 * - hanging (reading the request, never answering);
 * - resetting the connection (RST) in the middle of the request body, after reading part of it.
 *
 * It records every request (idempotency key, timestamps, outcome) and counts a batch as accepted
 * only when a 2xx answer actually went out on a live connection, so that its tally can be compared
 * with the sender's `delivered`: a late 2xx for a client that has gone (attempt timed out, close
 * deadline passed) is not an acceptance. Duplicates are counted both ways: by `idempotency-key`
 * (a batch accepted twice) and by the records' `i` (a record accepted twice).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** What is known of a request when its head arrives. */
export interface RequestHead {
  /** 0-based, in order of arrival. */
  readonly index: number
  /** The `idempotency-key` header (the batch id), if any. */
  readonly key: string | undefined
  /** The `content-length` header (0 if absent). */
  readonly contentLength: number
  /** When the request head arrived (Date.now() in the test process). */
  readonly receivedAt: number
}

/** A request whose body has arrived in full. */
export interface SinkRequest extends RequestHead {
  readonly body: string
  readonly records: readonly Record<string, unknown>[]
}

/** How to answer a request whose body has arrived. `status` defaults to 200. */
export interface Reply {
  status?: number
  /** Sent as the `Retry-After` header. */
  retryAfter?: string
  /** Answer this late (the client may have gone by then: not an acceptance). */
  delayMs?: number
  /** Never answer (the connection stays open until the client gives up or the sink closes). */
  hang?: boolean
  /** The response body. @default '' for a 2xx, `status <n>` otherwise */
  body?: string
  /**
   * Send the status and headers at once, then the body one byte every `trickleMs` (a sink that is
   * slow to finish its answer). The status counts as the answer: the request is `accepted` or
   * `rejected` when the head goes out.
   */
  trickleMs?: number
}

export type Responder = (request: SinkRequest) => Reply | undefined

/** What became of one request. */
export type Outcome =
  /** Reading the body, or waiting for a delayed answer. */
  | 'pending'
  /** A 2xx went out on a live connection. */
  | 'accepted'
  /** A non-2xx status went out. */
  | 'rejected'
  /** Never answered. */
  | 'hung'
  /** Connection reset while the body was still arriving. */
  | 'reset-mid-body'
  /** Connection reset after the whole body had arrived (the body was smaller than one read). */
  | 'reset-after-body'
  /** The client went away before the (delayed) answer could go out, or the sink closed. */
  | 'client-gone'

/** The sink's log of one request. */
export interface LoggedRequest extends RequestHead {
  outcome: Outcome
  /** Status answered, when one went out. */
  status?: number
  /** When the answer went out (Date.now() in the test process). */
  answeredAt?: number
  /** Body bytes read before the answer or the reset. */
  bytesRead: number
  /** The `i` of every record in the body (empty if the body never arrived in full). */
  ids: number[]
}

/** Counts of what the sink saw and accepted. */
export interface SinkTally {
  requests: number
  /** Requests answered 2xx on a live connection. */
  acceptedRequests: number
  /** Requests by outcome. */
  outcomes: Record<Outcome, number>
  /** Non-2xx answers by status. */
  statuses: Record<number, number>
  /** Distinct idempotency keys among accepted requests. */
  distinctKeys: number
  /** Accepted requests whose key had been accepted before (the batch went through twice). */
  duplicateKeys: number
  /** Accepted requests without an idempotency key (should be none: the http sender sends one). */
  acceptedWithoutKey: number
  /** Records in accepted requests, duplicates included. */
  acceptedRecords: number
  /** Records the sink keeps after dropping requests whose key it had already accepted. */
  distinctRecords: number
  /** Records (by `i`) accepted more than once, over all accepted requests. */
  duplicateRecords: number
}

export interface FaultSink {
  /** `http://127.0.0.1:<port>/logs`: stays the same across refuse() / recover(). */
  readonly url: string
  readonly port: number
  readonly listening: boolean
  /** Every request seen, in order of arrival. */
  readonly requests: readonly LoggedRequest[]
  /** TCP connections accepted so far. */
  readonly connections: number
  /** Replaces the responder (applies to requests whose body arrives from now on). */
  respond(responder: Responder): void
  /**
   * From now on, resets the connection of every request for which `predicate(head)` holds, once at
   * least `afterBytes` of its body (but not all of it) has been read. Pass undefined to stop.
   */
  resetMidBody(predicate: ((head: RequestHead) => boolean) | undefined, afterBytes?: number): void
  /** Stops listening and drops every open connection: connecting now gets ECONNREFUSED. */
  refuse(): Promise<void>
  /** Listens again, on the same port. */
  recover(): Promise<void>
  /** The `i` of every record accepted, once per distinct idempotency key. */
  acceptedIds(): number[]
  tally(): SinkTally
  /** Releases everything (hung requests, delayed answers, connections, the listening socket). */
  close(): Promise<void>
}

function parseBody(text: string): Record<string, unknown>[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as Record<string, unknown>[]
  return trimmed.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
}

function idsOf(records: readonly Record<string, unknown>[]): number[] {
  return records.flatMap((r) => (typeof r.i === 'number' ? [r.i] : []))
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export async function startFaultSink(responder: Responder = () => undefined): Promise<FaultSink> {
  let respond = responder
  let cutPredicate: ((head: RequestHead) => boolean) | undefined
  let cutAfterBytes = 1
  const requests: LoggedRequest[] = []
  const sockets = new Set<Socket>()
  const hanging = new Set<ServerResponse>()
  const timers = new Set<NodeJS.Timeout>()
  let connections = 0
  let listening = false
  let closed = false

  const server: Server = createServer((req, res) => {
    const head: LoggedRequest = {
      index: requests.length,
      key: header(req, 'idempotency-key'),
      contentLength: Number(header(req, 'content-length') ?? 0),
      receivedAt: Date.now(),
      outcome: 'pending',
      bytesRead: 0,
      ids: [],
    }
    requests.push(head)
    const cut = cutPredicate?.(head) === true ? cutAfterBytes : undefined
    const chunks: Buffer[] = []
    req.on('error', () => undefined)
    res.on('error', () => undefined)
    req.on('data', (chunk: Buffer) => {
      if (head.outcome !== 'pending') return
      head.bytesRead += chunk.length
      chunks.push(chunk)
      if (cut !== undefined && head.bytesRead >= cut && head.bytesRead < head.contentLength) {
        head.outcome = 'reset-mid-body'
        req.socket.resetAndDestroy()
      }
    })
    req.on('end', () => {
      if (head.outcome !== 'pending') return
      if (cut !== undefined) {
        // The whole body came in one read: still a reset, but not a mid-body one (tests check).
        head.outcome = 'reset-after-body'
        req.socket.resetAndDestroy()
        return
      }
      const raw = Buffer.concat(chunks)
      const body = (header(req, 'content-encoding') === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
      const records = parseBody(body)
      head.ids = idsOf(records)
      const reply = respond({ ...head, body, records }) ?? {}
      if (reply.hang) {
        head.outcome = 'hung'
        hanging.add(res)
        return
      }
      const status = reply.status ?? 200
      const answer = (): void => {
        if (res.destroyed || req.socket.destroyed || closed) {
          head.outcome = 'client-gone'
          return
        }
        head.status = status
        head.answeredAt = Date.now()
        head.outcome = status >= 200 && status < 300 ? 'accepted' : 'rejected'
        const body = reply.body ?? (status >= 200 && status < 300 ? '' : `status ${status}`)
        const headers: Record<string, string | number> = reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter }
        if (reply.trickleMs === undefined) {
          res.writeHead(status, headers)
          res.end(body)
          return
        }
        res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) })
        res.flushHeaders()
        hanging.add(res)
        const bytes = Buffer.from(body)
        let sent = 0
        const drip = setInterval(() => {
          if (res.destroyed || sent >= bytes.length) {
            clearInterval(drip)
            timers.delete(drip)
            hanging.delete(res)
            if (!res.destroyed) res.end()
            return
          }
          res.write(bytes.subarray(sent, sent + 1))
          sent++
        }, reply.trickleMs)
        timers.add(drip)
      }
      if (reply.delayMs === undefined) {
        answer()
        return
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        answer()
      }, reply.delayMs)
      timers.add(timer)
    })
  })
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_error, socket: Socket) => socket.destroy())

  function dropConnections(): void {
    for (const res of hanging) res.destroy()
    hanging.clear()
    for (const socket of sockets) socket.destroy()
  }

  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening)
        reject(error)
      }
      const onListening = (): void => {
        server.off('error', onError)
        listening = true
        resolve()
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(port, '127.0.0.1')
    })
  }

  function stopListening(): Promise<void> {
    if (!listening) return Promise.resolve()
    listening = false
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
    dropConnections()
    return stopped
  }

  await listen(0)
  const port = (server.address() as AddressInfo).port

  return {
    url: `http://127.0.0.1:${port}/logs`,
    port,
    get listening() {
      return listening
    },
    requests,
    get connections() {
      return connections
    },
    respond(next) {
      respond = next
    },
    resetMidBody(predicate, afterBytes = 1) {
      cutPredicate = predicate
      cutAfterBytes = afterBytes
    },
    refuse: stopListening,
    async recover() {
      // Another socket may hold the port for a moment (an outgoing connection can be given it as
      // its local port): try again rather than fail the test on a coincidence.
      for (let tries = 1; ; tries++) {
        try {
          await listen(port)
          return
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 50) throw error
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    },
    acceptedIds() {
      const seen = new Set<string>()
      const ids: number[] = []
      for (const r of requests) {
        if (r.outcome !== 'accepted') continue
        if (r.key !== undefined) {
          if (seen.has(r.key)) continue
          seen.add(r.key)
        }
        ids.push(...r.ids)
      }
      return ids
    },
    tally() {
      const outcomes: Record<Outcome, number> = {
        pending: 0,
        accepted: 0,
        rejected: 0,
        hung: 0,
        'reset-mid-body': 0,
        'reset-after-body': 0,
        'client-gone': 0,
      }
      const statuses: Record<number, number> = {}
      const keys = new Set<string>()
      const recordTimes = new Map<number, number>()
      let duplicateKeys = 0
      let acceptedWithoutKey = 0
      let acceptedRecords = 0
      let distinctRecords = 0
      for (const r of requests) {
        outcomes[r.outcome]++
        if (r.outcome === 'rejected' && r.status !== undefined) statuses[r.status] = (statuses[r.status] ?? 0) + 1
        if (r.outcome !== 'accepted') continue
        acceptedRecords += r.ids.length
        for (const i of r.ids) recordTimes.set(i, (recordTimes.get(i) ?? 0) + 1)
        if (r.key === undefined) {
          acceptedWithoutKey++
          distinctRecords += r.ids.length
        } else if (keys.has(r.key)) {
          duplicateKeys++
        } else {
          keys.add(r.key)
          distinctRecords += r.ids.length
        }
      }
      let duplicateRecords = 0
      for (const times of recordTimes.values()) duplicateRecords += times - 1
      return {
        requests: requests.length,
        acceptedRequests: outcomes.accepted,
        outcomes,
        statuses,
        distinctKeys: keys.size,
        duplicateKeys,
        acceptedWithoutKey,
        acceptedRecords,
        distinctRecords,
        duplicateRecords,
      }
    },
    async close() {
      closed = true
      for (const timer of timers) clearInterval(timer)
      timers.clear()
      for (const r of requests) if (r.outcome === 'pending') r.outcome = 'client-gone'
      await stopListening()
      dropConnections()
    },
  }
}
