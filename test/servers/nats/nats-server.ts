/**
 * A real nats-server for the NATS sender's tests: started on a free port with a store directory of
 * its own, stopped by pid, and started again on the same port and store (a restart). Also a client
 * of its own to create streams and read back what they stored.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream'
import { freePort, waitForPort } from '../helpers/free-port.js'
import { ServerProcess } from '../helpers/server-process.js'

const INSTALL = 'apt-get install -y nats-server'

export interface NatsServerOptions {
  /** Start with JetStream (`-js`). @default true */
  jetstream?: boolean
  /** Lines of a server config file (`max_payload: 4096`, an `authorization { … }` block). */
  config?: string
  /** Extra command-line arguments (`--user u --pass p`). */
  args?: readonly string[]
}

export class NatsServer {
  readonly port: number
  readonly storeDir: string
  readonly #dir: string
  #process: ServerProcess | undefined

  private constructor(port: number, dir: string) {
    this.port = port
    this.#dir = dir
    this.storeDir = join(dir, 'store')
  }

  /** Starts a server in `dir` (a temp dir of the test) on a free port. */
  static async start(dir: string, options: NatsServerOptions = {}): Promise<NatsServer> {
    for (let tries = 0; ; tries++) {
      const server = new NatsServer(await freePort(), dir)
      try {
        await server.restart(options)
        return server
      } catch (error) {
        await server.stop()
        if (tries >= 3) throw error
      }
    }
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.#process?.running ?? false
  }

  /** Starts it (again) on the same port and store directory; waits until it accepts connections. */
  async restart(options: NatsServerOptions = {}): Promise<void> {
    await this.stop()
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir]
    if (options.jetstream ?? true) args.push('-js')
    if (options.config !== undefined) {
      const file = join(this.#dir, 'nats-server.conf')
      await writeFile(file, options.config)
      args.push('-c', file)
    }
    args.push(...(options.args ?? []))
    const started = ServerProcess.start('nats-server', args, INSTALL)
    this.#process = started
    await Promise.race([
      waitForPort(this.port, 15_000),
      started.exited().then(() => {
        throw new Error(`nats-server exited at start:\n${started.stderr.slice(-2000)}`)
      }),
    ])
  }

  /** Stops it (SIGTERM: JetStream writes what it holds and shuts down). */
  async stop(): Promise<void> {
    await this.#process?.stop()
  }

  /** The server's log so far. */
  get log(): string {
    return (this.#process?.stderr ?? '') + (this.#process?.stdout ?? '')
  }

  /** A client connection of the test's own (closed by the caller). */
  connect(options: Record<string, unknown> = {}): Promise<NatsConnection> {
    return connect({ servers: this.url, reconnect: false, ...options })
  }

  /** Runs `use` with a JetStream manager on a connection of its own. */
  async manage<T>(use: (jsm: JetStreamManager, nc: NatsConnection) => Promise<T>, options: Record<string, unknown> = {}): Promise<T> {
    const nc = await this.connect(options)
    try {
      return await use(await jetstreamManager(nc), nc)
    } finally {
      await nc.close()
    }
  }

  /** Creates a stream (file storage, so it outlives a restart). */
  addStream(name: string, subjects: string[], config: Partial<StreamConfig> = {}, options: Record<string, unknown> = {}): Promise<void> {
    return this.manage(async (jsm) => {
      await jsm.streams.add({ name, subjects, storage: 'file' as StreamConfig['storage'], ...config })
    }, options)
  }

  /** Messages the stream holds now. */
  messageCount(stream: string, options: Record<string, unknown> = {}): Promise<number> {
    return this.manage(async (jsm) => (await jsm.streams.info(stream)).state.messages, options)
  }

  /** Every message of the stream, in stream order: subject, payload and Nats-Msg-Id. */
  readAll(stream: string, options: Record<string, unknown> = {}): Promise<StoredMessage[]> {
    return this.manage(async (jsm, nc) => {
      const total = (await jsm.streams.info(stream)).state.messages
      const out: StoredMessage[] = []
      if (total === 0) return out
      const consumer = await jetstream(nc).consumers.get(stream)
      while (out.length < total) {
        const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 5_000 })
        let got = 0
        for await (const m of batch) {
          got++
          out.push({ subject: m.subject, data: m.string(), msgId: m.headers?.get('Nats-Msg-Id') ?? '' })
        }
        if (got === 0) break
      }
      return out
    }, options)
  }
}

export interface StoredMessage {
  subject: string
  data: string
  msgId: string
}

/** How many times each `i` (a field of the logged records) is stored. */
export function countById(messages: readonly StoredMessage[], field = 'i'): Map<number, number> {
  const counts = new Map<number, number>()
  for (const m of messages) {
    const i = (JSON.parse(m.data) as Record<string, number>)[field] as number
    counts.set(i, (counts.get(i) ?? 0) + 1)
  }
  return counts
}

/** Polls `check` until it is true, every 50 ms, for at most `timeoutMs`; throws `what` past it. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
