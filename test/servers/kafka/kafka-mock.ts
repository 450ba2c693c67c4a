import { readdirSync, readFileSync } from 'node:fs'
import { ServerProcess } from '../helpers/server-process.js'

/** How to install kcat (which brings librdkafka and its mock cluster). */
export const KCAT_INSTALL = 'apt-get install -y kcat'

/** One message as the mock's consumer printed it. */
export interface MockMessage {
  readonly partition: number
  /** The key as text; '' for a null key (kcat prints nothing for it). */
  readonly key: string
  /** kcat's `%h`: `name=value` pairs separated by commas; '' without headers. */
  readonly headers: string
  readonly value: string
}

/**
 * librdkafka's mock Kafka cluster (one broker, topics auto-created with 4 partitions), started
 * through kcat as a consumer of `topic` from the beginning: the same process holds the data and
 * prints every message produced to the topic (partition, key, headers and value per line), so it is
 * also the read-back consumer. The data lives as long as the process. `stop()` freezes it (SIGSTOP:
 * every connection stays open and nothing is answered, a hung broker or a network partition),
 * `resume()` thaws it; `kill()` is a crash (the data is gone, and a new mock comes up on a new port).
 */
export class KafkaMock {
  readonly server: ServerProcess
  /** The bootstrap broker's port (brokers advertise their own real port in metadata). */
  readonly port: number
  #parsedUpTo = 0
  #messages: MockMessage[] = []

  private constructor(server: ServerProcess, port: number) {
    this.server = server
    this.port = port
  }

  /**
   * Starts a mock. `debug`: librdkafka debug contexts for the consumer (`msg` logs each message set
   * fetched, with its compression codec, on stderr).
   */
  static async start(options: { topic?: string; debug?: string } = {}): Promise<KafkaMock> {
    const args = [
      '-u',
      '-C',
      '-b',
      'dummy:9092',
      '-X',
      'test.mock.num.brokers=1',
      '-X',
      'fetch.wait.max.ms=50',
      '-t',
      options.topic ?? 'logs',
      '-o',
      'beginning',
      '-q',
      '-f',
      '%p|%k|%h|%s\\n',
    ]
    if (options.debug !== undefined) args.push('-d', options.debug)
    const server = ServerProcess.start('kcat', args, KCAT_INSTALL)
    try {
      const match = await server.waitForOutput(/replaced with 127\.0\.0\.1:(\d+)/)
      return new KafkaMock(server, Number(match[1]))
    } catch (error) {
      await server.kill()
      throw error
    }
  }

  /** `127.0.0.1:PORT`, for the `brokers` option. */
  get bootstrap(): string {
    return `127.0.0.1:${this.port}`
  }

  /** Every message printed so far. */
  messages(): readonly MockMessage[] {
    const out = this.server.stdout
    const end = out.lastIndexOf('\n') + 1
    if (end > this.#parsedUpTo) {
      for (const line of out.slice(this.#parsedUpTo, end).split('\n')) {
        if (line === '') continue
        const a = line.indexOf('|')
        const b = line.indexOf('|', a + 1)
        const c = line.indexOf('|', b + 1)
        this.#messages.push({ partition: Number(line.slice(0, a)), key: line.slice(a + 1, b), headers: line.slice(b + 1, c), value: line.slice(c + 1) })
      }
      this.#parsedUpTo = end
    }
    return this.#messages
  }

  /** How many times each record `i` was printed. */
  counts(): Map<number, number> {
    const counts = new Map<number, number>()
    for (const message of this.messages()) {
      const i = (JSON.parse(message.value) as { i?: unknown }).i
      if (typeof i === 'number') counts.set(i, (counts.get(i) ?? 0) + 1)
    }
    return counts
  }

  /** Resolves once `predicate` holds for the messages printed; fails after `timeoutMs`, saying how many there were. */
  async waitFor(predicate: (messages: readonly MockMessage[]) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (predicate(this.messages())) return
      if (!this.server.running) throw new Error(`the Kafka mock exited while waiting for ${what}`)
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.messages().length} messages)`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /**
   * Freezes the mock (SIGSTOP): connections stay open, nothing is answered. Resolves once the kernel
   * shows the process stopped: the signal lands a moment after kill() returns, and a request sent in
   * that moment could still be answered.
   */
  async stop(): Promise<void> {
    if (!this.server.running) return
    this.server.process.kill('SIGSTOP')
    const deadline = Date.now() + 10_000
    while (!stopped(this.server.pid as number)) {
      if (Date.now() > deadline) throw new Error('the Kafka mock did not stop within 10 s of SIGSTOP')
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  /** Thaws a stopped mock (SIGCONT): it answers what waited meanwhile. */
  resume(): void {
    if (this.server.running) this.server.process.kill('SIGCONT')
  }

  /** A crash (SIGKILL): the data is gone. */
  async kill(): Promise<void> {
    this.resume()
    await this.server.kill()
  }

  /** Stops it for good (thawed first, so the signal is taken). Idempotent. */
  async close(): Promise<void> {
    this.resume()
    await this.server.stop(2000)
  }
}

/** Each `i` in [from, to) counted exactly once, and nothing else: what a summary of counts looks like then. */
export function onceEach(counts: ReadonlyMap<number, number>, from: number, to: number): { missing: number; duplicates: number; outside: number } {
  let missing = 0
  let duplicates = 0
  let outside = 0
  for (let i = from; i < to; i++) {
    const times = counts.get(i) ?? 0
    if (times === 0) missing++
    else duplicates += times - 1
  }
  for (const [i, times] of counts) if (i < from || i >= to) outside += times
  return { missing, duplicates, outside }
}

/** Whether every thread of the process is stopped (state T in /proc; the mock's broker runs in threads of its own). */
function stopped(pid: number): boolean {
  try {
    const threads = readdirSync(`/proc/${pid}/task`)
    return threads.every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      // The command name in parentheses may hold spaces: the state follows its closing parenthesis.
      return stat.charAt(stat.lastIndexOf(')') + 2) === 'T'
    })
  } catch {
    return false
  }
}
