/**
 * The plumbing every test server shares (the generic HTTP sink and each backend's fake): listening on
 * 127.0.0.1, ending every connection and hanging response on close, and waiting until what the server
 * received satisfies a test.
 */
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A listening test server. */
export interface ServedServer {
  readonly port: number
  /** Responses held open on purpose (a sink that hangs): ended by close(). */
  readonly hanging: Set<ServerResponse>
  /** Connections accepted so far. */
  connections(): number
  /** Destroys every connection and hanging response, then closes the server. */
  close(): Promise<void>
}

/** Listens on 127.0.0.1 (`port`, or a free one) and tracks the server's connections. */
export async function serve(server: Server, port = 0): Promise<ServedServer> {
  const sockets = new Set<Socket>()
  const hanging = new Set<ServerResponse>()
  let connections = 0
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    port: (server.address() as AddressInfo).port,
    hanging,
    connections: () => connections,
    close() {
      for (const res of hanging) res.destroy()
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Tests waiting on what a server received: the server calls notify() after each request. */
export class Waiters {
  readonly #checks = new Set<() => void>()
  readonly #describe: () => string

  /** `describe`: what a timeout message says of the server's state (`12 requests so far`). */
  constructor(describe: () => string) {
    this.#describe = describe
  }

  notify(): void {
    for (const check of this.#checks) check()
  }

  /** Resolves once `predicate` holds (checked now and after each request); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (predicate()) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#checks.delete(check)
        reject(new Error(`waitFor timed out after ${timeoutMs} ms (${this.#describe()})`))
      }, timeoutMs)
      const check = (): void => {
        if (!predicate()) return
        clearTimeout(timer)
        this.#checks.delete(check)
        resolve()
      }
      this.#checks.add(check)
    })
  }
}
