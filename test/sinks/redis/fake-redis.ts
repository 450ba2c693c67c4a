/**
 * A stand-in for an ioredis client (the part RedisSink uses), for the cases a real server cannot
 * easily be made to show: a reply lost with the connection, a hung pipeline, answers mixed per command.
 * The server suite (test/servers/redis/) runs the same sink against a real redis-server.
 */
import type { PipelineReply, RedisArg, RedisClient, RedisClientFactory, RedisConnectionOptions } from '../../../src/sinks/redis/redis-connection.js'

/** An error reply, as ioredis makes them (its ReplyError). */
export function replyError(message: string): Error {
  const error = new Error(message)
  error.name = 'ReplyError'
  return error
}

/** A socket error, as Node makes them. */
export function socketError(code: string, message = `connect ${code} 127.0.0.1:6379`): Error {
  return Object.assign(new Error(message), { code })
}

export interface FakeBehaviour {
  /** Throw to fail the connect. */
  connect?: (attempt: number) => void
  /** Each handshake command (AUTH, SELECT, CLIENT): return or throw. */
  call?: (command: string, args: RedisArg[]) => unknown
  /** Each pipelined command: its reply, or an Error for an error reply. */
  command?: (args: RedisArg[], index: number) => unknown
  /** When it returns a promise, connect() waits for it (a connect that hangs: a blackholed address); a disconnect meanwhile fails the connect. */
  connectHold?: (attempt: number) => Promise<void> | undefined
  /** When set, exec() waits for this before answering (a hung server). */
  hold?: Promise<void>
}

export class FakeRedis implements RedisClient {
  status = 'wait'
  connects = 0
  disconnects = 0
  readonly calls: { command: string; args: RedisArg[] }[] = []
  readonly pipelines: RedisArg[][][] = []
  readonly options: RedisConnectionOptions
  readonly #listeners = new Map<string, ((error?: unknown) => void)[]>()
  readonly #behaviour: FakeBehaviour
  #closeWaiters: (() => void)[] = []

  constructor(options: RedisConnectionOptions, behaviour: FakeBehaviour) {
    this.options = options
    this.#behaviour = behaviour
  }

  /** The socket: whether it holds the process open (ref'd) now. */
  readonly stream = {
    referenced: true,
    destroy: (): void => undefined,
    ref: (): void => void (this.stream.referenced = true),
    unref: (): void => void (this.stream.referenced = false),
  }

  listeners(event: string): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  on(event: 'error' | 'close', listener: (error?: unknown) => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener])
    return this
  }

  /** Emits an event to the sink's listeners (an 'error' the socket or the parser met). */
  emit(event: 'error' | 'close', error?: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) listener(error)
  }

  once(event: 'end', listener: () => void): this {
    return this.on(event as 'close', listener)
  }

  async connect(): Promise<void> {
    if (this.status === 'ready' || this.status === 'connecting') throw new Error('Redis is already connecting/connected')
    this.connects++
    this.status = 'connecting'
    await Promise.resolve()
    const hold = this.#behaviour.connectHold?.(this.connects)
    if (hold) {
      // As ioredis: a connect given up fails a moment later (its socket closes), not at once.
      const closed = new Promise<boolean>((resolve) => this.#closeWaiters.push(() => setImmediate(() => resolve(true))))
      if (await Promise.race([hold.then(() => false), closed])) throw new Error('Connection is closed.')
    }
    try {
      this.#behaviour.connect?.(this.connects)
    } catch (error) {
      this.status = 'end'
      for (const listener of this.#listeners.get('error') ?? []) listener(error)
      throw error
    }
    this.status = 'ready'
  }

  disconnect(): void {
    this.disconnects++
    this.status = 'end'
    for (const waiter of this.#closeWaiters.splice(0)) waiter()
    for (const listener of this.#listeners.get('close') ?? []) listener()
    for (const listener of this.#listeners.get('end')?.splice(0) ?? []) listener()
  }

  async call(command: string, ...args: RedisArg[]): Promise<unknown> {
    this.calls.push({ command, args })
    if (this.status !== 'ready') throw new Error("Stream isn't writeable and enableOfflineQueue options is false")
    return this.#behaviour.call?.(command, args) ?? 'OK'
  }

  pipeline(commands: RedisArg[][]): { exec(): Promise<PipelineReply[] | null> } {
    return {
      exec: async () => {
        this.pipelines.push(commands)
        if (this.status !== 'ready') return commands.map(() => [new Error("Stream isn't writeable and enableOfflineQueue options is false")])
        const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve))
        if (this.#behaviour.hold) {
          // A connection dropped meanwhile answers every command still waiting with "Connection is closed.".
          const lost = await Promise.race([this.#behaviour.hold.then(() => false), closed.then(() => true)])
          if (lost) return commands.map(() => [new Error('Connection is closed.')])
        }
        return commands.map((args, index) => {
          const reply = this.#behaviour.command?.(args, index) ?? `${Date.now()}-${index}`
          return reply instanceof Error ? [reply] : [null, reply]
        })
      },
    }
  }
}

/** A factory making one FakeRedis (kept in `clients`) per call. */
export function fakeFactory(behaviour: FakeBehaviour = {}): RedisClientFactory & { clients: FakeRedis[] } {
  const clients: FakeRedis[] = []
  const factory = async (options: RedisConnectionOptions): Promise<RedisClient> => {
    const client = new FakeRedis(options, behaviour)
    clients.push(client)
    return client
  }
  return Object.assign(factory, { clients })
}
