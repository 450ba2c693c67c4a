import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on a fixed port in front of a server, for outages a test controls: `pause()` cuts every
 * connection and refuses new ones (as a dead server does), `resume()` accepts again, and `retarget()`
 * points it at a server restarted on another port (the Kafka mock comes back on a new one).
 */
export class TcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #target: { host: string; port: number }
  #port = 0
  #paused = false

  private constructor(target: { host: string; port: number }) {
    this.#target = target
    this.#server = createServer((client) => this.#accept(client))
  }

  /** Starts a proxy to `targetPort` on a port of its own (or `port`). */
  static async start(targetPort: number, options: { port?: number; host?: string } = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host: options.host ?? '127.0.0.1', port: targetPort })
    await proxy.#listen(options.port ?? 0)
    return proxy
  }

  get port(): number {
    return this.#port
  }

  /** Connections open now. */
  get connections(): number {
    return this.#sockets.size
  }

  /** Cuts every connection (reset) and closes the listening socket: connects are refused. */
  async pause(): Promise<void> {
    if (this.#paused) return
    this.#paused = true
    for (const socket of this.#sockets) socket.resetAndDestroy()
    this.#sockets.clear()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    if (!this.#paused) return
    await this.#listen(this.#port)
    this.#paused = false
  }

  /** Sends new connections to another port (existing ones are left alone: pause first to cut them). */
  retarget(port: number, host = this.#target.host): void {
    this.#target = { host, port }
  }

  async close(): Promise<void> {
    await this.pause()
  }

  #accept(client: Socket): void {
    if (this.#paused) {
      client.destroy()
      return
    }
    const upstream = connect(this.#target)
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    const drop = (): void => {
      this.#sockets.delete(client)
      this.#sockets.delete(upstream)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  }

  async #listen(port: number): Promise<void> {
    // A port just released can take a moment to be free again for listen().
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.#server.once('error', reject)
          this.#server.listen(port, '127.0.0.1', () => {
            this.#server.off('error', reject)
            resolve()
          })
        })
        this.#port = (this.#server.address() as { port: number }).port
        return
      } catch (error) {
        if (attempt >= 50 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
}
