/**
 * A real redis-server for the server suite: started in the foreground on a free port, stopped by its
 * pid, with a plain ioredis client of the test's own to read back what the sender wrote.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../helpers/free-port.js'
import { ServerProcess } from '../helpers/server-process.js'

export const INSTALL_REDIS = 'apt-get install -y redis-server'

export interface RedisServerOptions {
  /** A port of its own (a restart on the same port), else a free one. */
  port?: number
  /** More arguments (`--maxmemory 1mb`, `--requirepass x`, TLS settings). */
  args?: readonly string[]
  /** Keep the data across restarts: AOF, fsync on every write, in this directory. */
  persistDir?: string
  /** The password the test's own client uses. */
  password?: string
}

export class RedisServer {
  readonly port: number
  readonly process: ServerProcess
  readonly #options: RedisServerOptions
  #client: Redis | undefined

  private constructor(port: number, process: ServerProcess, options: RedisServerOptions) {
    this.port = port
    this.process = process
    this.#options = options
  }

  /** Starts one and waits until it accepts connections (a port taken meanwhile: another port, unless fixed). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let tries = 0; ; tries++) {
      const port = options.port ?? (await freePort())
      // Without persistence the server still gets a directory of its own: a replica (the READONLY
      // test) writes the RDB its master sends into its working directory.
      const persistence = options.persistDir
        ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.persistDir, '--save', '']
        : ['--save', '', '--appendonly', 'no', '--dir', scratchDir()]
      const server = ServerProcess.start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence, ...(options.args ?? [])], INSTALL_REDIS)
      try {
        await server.waitForOutput(/Ready to accept connections/, 30_000)
        return new RedisServer(port, server, options)
      } catch (error) {
        await server.kill()
        if (!/Address already in use/.test(server.stdout + server.stderr) || tries >= 20) throw error
        // A fixed port just released by a killed server may take a moment to be free again.
        if (options.port !== undefined) await new Promise((r) => setTimeout(r, 250))
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** The test's own client (connected on first use; its reconnects and offline queue are ioredis's defaults). */
  client(): Redis {
    if (this.#client === undefined) {
      this.#client = new Redis({ host: '127.0.0.1', port: this.port, password: this.#options.password, maxRetriesPerRequest: 3 })
      this.#client.on('error', () => undefined)
    }
    return this.#client
  }

  /** Every entry of a stream: its fields as an object. */
  async xrange(key: string): Promise<Record<string, string>[]> {
    const entries = await this.client().xrange(key, '-', '+')
    return entries.map(([, fields]) => {
      const out: Record<string, string> = {}
      for (let k = 0; k < fields.length; k += 2) out[fields[k] as string] = fields[k + 1] as string
      return out
    })
  }

  async stop(): Promise<void> {
    this.#client?.disconnect()
    this.#client = undefined
    await this.process.stop()
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    this.#client?.disconnect()
    this.#client = undefined
    await this.process.kill()
  }
}

/** How many times each `i` occurs among the records. */
export function countById(records: readonly { i: number }[]): Map<number, number> {
  const times = new Map<number, number>()
  for (const { i } of records) times.set(i, (times.get(i) ?? 0) + 1)
  return times
}

/** Checks 0..n-1 each occur, and returns how many extra copies there are. */
export function missingAndDuplicates(records: readonly { i: number }[], n: number): { missing: number[]; duplicates: number; unexpected: number[] } {
  const times = countById(records)
  const missing: number[] = []
  for (let i = 0; i < n; i++) if (!times.has(i)) missing.push(i)
  let duplicates = 0
  for (const t of times.values()) duplicates += t - 1
  const unexpected = [...times.keys()].filter((i) => !(Number.isInteger(i) && i >= 0 && i < n))
  return { missing, duplicates, unexpected }
}

const scratch: string[] = []
process.on('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/** A temporary working directory for a server without persistence, removed when the test process exits. */
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-redis-'))
  scratch.push(dir)
  return dir
}
