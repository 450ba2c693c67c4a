import { abortable } from '../shared/abortable.js'
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'

/** A value in a Redis command. */
export type RedisArg = string | number | Buffer

/** One command's outcome in a pipeline, as ioredis gives it: `[error]` or `[null, reply]`. */
export type PipelineReply = [Error | null, unknown?]

/** The part of an ioredis client the sink uses (a fake stands in for it in the unit tests). */
export interface RedisClient {
  readonly status: string
  /** The socket (ioredis's `stream`), destroyed when a connection is dropped. */
  readonly stream?: { destroy(): void; ref?(): unknown; unref?(): unknown } | undefined
  connect(): Promise<void>
  disconnect(): void
  on(event: 'error' | 'close', listener: (error?: unknown) => void): unknown
  once(event: 'end', listener: () => void): unknown
  call(command: string, ...args: RedisArg[]): Promise<unknown>
  pipeline(commands: RedisArg[][]): { exec(): Promise<PipelineReply[] | null> }
}

/** Where and how to connect: what the sender read from `url` and the options. */
export interface RedisConnectionOptions {
  host: string
  port: number
  /** TLS settings (`rediss://`), or undefined for plain TCP. */
  tls?: TlsConnectionOptions | undefined
  username?: string | undefined
  password?: string | undefined
  db?: number | undefined
}

/** Makes a client (not connected yet) for these options. */
export type RedisClientFactory = (options: RedisConnectionOptions) => Promise<RedisClient>

/**
 * The ioredis options that leave buffering and retrying to the engine. No offline queue: a command
 * given while the connection is down fails at once instead of waiting in ioredis's unbounded queue,
 * so records wait in the sender's bounded queue (and spool), where the stats see them. No reconnect
 * of ioredis's own (`retryStrategy` returns null): each delivery attempt connects when there is no
 * connection, so the engine's backoff is the only retry schedule, nothing runs in the background
 * while the sender is idle or closed, and a failed attempt reports the real reason (`connect
 * ECONNREFUSED`, `WRONGPASS …`) rather than "not writeable". Nothing is resent behind the engine's
 * back (`autoResendUnfulfilledCommands: false`, `maxRetriesPerRequest: 0`).
 *
 * RESP2 and no handshake of ioredis's own (no ready check, no client info, credentials and db
 * not given to ioredis): the connection sends AUTH and SELECT itself, so that a refused password is
 * an error of the attempt with the server's words, and ioredis never writes to the console (it warns
 * there when a password is given to a server that has none, or when INFO is not allowed for an ACL
 * user). A server that is still loading its data answers LOADING to the writes, which is retried.
 */
export const IOREDIS_OPTIONS = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  retryStrategy: (): null => null,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableReadyCheck: false,
  disableClientInfo: true,
  protocol: 2 as const,
  connectTimeout: 10_000,
})

/** The name the connection gives itself (`CLIENT LIST` shows it). */
export const CONNECTION_NAME = 'pino-courier'

/** The one connection of a sender: made on first use, made anew by the attempt after it was lost. */
export class RedisConnection {
  readonly #options: RedisConnectionOptions
  readonly #factory: RedisClientFactory
  #client: Promise<RedisClient> | undefined
  #opening: Promise<RedisClient> | undefined
  /** Connects given up by the attempt that made them (its signal fired), dropped since. */
  readonly #abandoned = new WeakSet<Promise<RedisClient>>()
  /** Authenticated and on the right db: deliveries may use it. */
  #usable = false
  #closed = false
  /** Pipelines waiting for their replies: while there are none, the socket does not hold the process open. */
  #holds = 0
  /** The last 'error' event: the socket's reason, when connect() only says "Connection is closed.". */
  #lastError: unknown

  constructor(options: RedisConnectionOptions, factory: RedisClientFactory) {
    this.#options = options
    this.#factory = factory
  }

  /**
   * The client, connected, authenticated and on its db: connects first when there is no connection.
   * Rejects with the connection's error (or the signal's reason, dropping the half-made connection).
   */
  async ready(signal: AbortSignal): Promise<RedisClient> {
    for (;;) {
      if (this.#closed) throw new Error('the redis connection is closed')
      const client = await (this.#client ??= this.#create())
      if (this.#usable && client.status === 'ready') return client
      // Cleared (by `finally`) before anyone awaiting it resumes.
      const opening = (this.#opening ??= this.#open(client).finally(() => (this.#opening = undefined)))
      // An earlier attempt gave this connect up at its deadline (a blackholed address, a hung
      // handshake) and dropped it: it fails a moment later with "Connection is closed." (or has just
      // succeeded, on a socket being destroyed), which is not this attempt's outcome. Connect anew,
      // within this attempt's own time.
      let connected: RedisClient
      try {
        connected = await abortable(opening, signal, () => {
          this.#abandoned.add(opening)
          this.drop()
        })
      } catch (error) {
        if (this.#abandoned.has(opening) && !signal.aborted) continue
        throw error
      }
      if (this.#abandoned.has(opening)) continue
      return connected
    }
  }

  /**
   * Keeps the socket referenced while a pipeline waits for its replies; returns the release. An idle
   * connection does not keep the process (or a test runner) alive, as Node's idle keep-alive HTTP
   * sockets do not: an app that never calls close() still exits.
   */
  hold(client: RedisClient): () => void {
    this.#holds++
    client.stream?.ref?.()
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.#holds === 0) client.stream?.unref?.()
    }
  }

  /**
   * Drops the connection at once (the socket is destroyed: a hung server is not waited for). Commands
   * still waiting for their replies fail with "Connection is closed."; the next attempt connects anew.
   */
  drop(): void {
    this.#usable = false
    void this.#client?.then(dropClient, () => undefined)
  }

  /** Drops the connection for good. Bounded: nothing is waited for. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.drop()
    await this.#client?.catch(() => undefined)
  }

  async #create(): Promise<RedisClient> {
    const client = await this.#factory(this.#options)
    // A listener, or ioredis prints "Unhandled error event" to the console. The errors that matter
    // reach the attempt that meets them; one on an idle connection needs no report.
    client.on('error', (error) => (this.#lastError = error))
    client.on('close', () => (this.#usable = false))
    if (this.#closed) dropClient(client)
    return client
  }

  async #open(client: RedisClient): Promise<RedisClient> {
    const { username, password, db } = this.#options
    try {
      if (LIVE.has(client.status)) {
        // Dropped a moment ago (READONLY, a timeout): its socket is closing; connect() refuses
        // until ioredis has seen it close.
        const ended = new Promise<void>((resolve) => client.once('end', resolve))
        dropClient(client)
        await ended
      }
      this.#lastError = undefined
      await client.connect().catch((error: unknown) => {
        // ioredis rejects a failed connect with "Connection is closed." and emits the socket's
        // error (ECONNREFUSED, ENOTFOUND, a TLS failure) as an 'error' event: the attempt reports that.
        throw this.#lastError ?? error
      })
      if (password !== undefined) {
        await client.call('AUTH', ...(username === undefined ? [password] : [username, password])).catch((error: unknown) => {
          // A password given to a server without one: Redis 6+ says so and nothing is wrong (ioredis warns on the console).
          if (!/no password is set|without any password configured/i.test(error instanceof Error ? error.message : '')) throw error
        })
      }
      if (db !== undefined && db !== 0) await client.call('SELECT', db)
      // Only for operators reading CLIENT LIST: an ACL or a server that refuses this one command
      // (NOPERM, an unknown or renamed command) refuses nothing else. Any other failure is the
      // connection's: a server at its maxclients (`ERR max number of clients reached`) or in
      // protected mode (`DENIED …`) answers the first command so and closes, and that is the
      // attempt's reason, not "Stream isn't writeable" from the pipeline.
      await client.call('CLIENT', 'SETNAME', CONNECTION_NAME).catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ReplyError') {
          if (SETNAME_REFUSED.test(error.message)) return
          throw error
        }
        throw this.#lastError ?? error
      })
      // Closed under the handshake (not a Redis server, a TLS port spoken to in plain text): the
      // socket's reason, rather than a client marked usable that the pipeline finds closed.
      if (client.status !== 'ready') throw this.#lastError ?? new Error('Connection is closed.')
    } catch (error) {
      dropClient(client)
      throw error
    }
    if (this.#closed) {
      dropClient(client)
      throw new Error('the redis connection is closed')
    }
    this.#usable = true
    return client
  }
}

/** A CLIENT SETNAME refused as a command (by the ACL, or a server or proxy without it), not the connection refused. */
const SETNAME_REFUSED = /^(NOPERM |ERR unknown (sub)?command)/i

/** States in which a client holds (or is making) a socket. */
const LIVE = new Set(['connecting', 'connect', 'ready'])

function dropClient(client: RedisClient): void {
  // Only a live one: ioredis's disconnect() of a closed socket arms a timer that never fires its
  // 'close' and would hold the process open for two seconds.
  if (!LIVE.has(client.status)) return
  try {
    client.disconnect()
    // Not waiting for the server's goodbye: a hung one never sends it.
    client.stream?.destroy()
  } catch {
    // Already gone.
  }
}
