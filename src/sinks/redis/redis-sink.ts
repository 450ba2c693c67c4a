import { DeliveryError } from '../../pool/delivery-error.js'
import { redactText, secretNeedles, type SecretNeedle } from '../http/redact.js'
import { recordLines } from '../ndjson.js'
import { abortable } from '../shared/abortable.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import { classifyRedisError } from './redis-errors.js'
import {
  RedisConnection,
  type PipelineReply,
  type RedisArg,
  type RedisClientFactory,
  type RedisConnectionOptions,
} from './redis-connection.js'

/** Where records go: a stream (XADD) or a list (RPUSH). */
export type RedisMode = 'stream' | 'list'

/**
 * Most values in one RPUSH. A batch of 5,000 records goes as five RPUSH in one pipeline, so that no
 * single command holds the server (which runs one command at a time) for long; each is atomic, and
 * the outcome is per command: when one fails (OOM), only its records are tried again.
 */
export const LIST_PUSH_CHUNK = 1000

/** What the sink needs of the sender's options (checked already). */
export interface RedisSinkOptions extends RedisConnectionOptions {
  key: string
  mode: RedisMode
  /** The stream field holding the record's JSON line. */
  field: string
  /** The stream field holding the record's identity, or undefined for none. */
  idField?: string | undefined
  /** Approximate trim of the stream (`MAXLEN ~ n`), or undefined for none. */
  maxLen?: number | undefined
  /** How messages name the server: scheme, host and port, never the credentials. */
  endpoint: string
}

/** One command of a delivery and the records (indexes in the batch) it carries. */
interface PlannedCommand {
  readonly args: RedisArg[]
  readonly indexes: readonly number[]
}

/**
 * Writes each batch to one Redis key in one pipeline: an `XADD` per record (stream mode) or an
 * `RPUSH` per {@link LIST_PUSH_CHUNK} records (list mode), on the sender's one connection.
 *
 * Outcomes, per command (so per record in stream mode): a reply is delivered; an error reply is
 * retried or refused for good as classifyRedisError says (OOM, READONLY, LOADING … retried; WRONGTYPE,
 * NOPERM, ERR … refused, dead-lettered); a command without a reply (the connection was lost under the
 * pipeline, or the attempt timed out and the connection was dropped) is retried, and may have been
 * written already: that is where duplicates come from (stream mode: the `idField` lets a consumer
 * drop them). Failing to connect or authenticate fails the whole attempt, retried or not by the same
 * rules (WRONGPASS and NOAUTH are for good).
 */
export class RedisSink implements Sink {
  readonly #options: RedisSinkOptions
  readonly #connection: RedisConnection
  readonly #secrets: readonly SecretNeedle[]

  constructor(options: RedisSinkOptions, factory: RedisClientFactory) {
    this.#options = options
    this.#connection = new RedisConnection(options, factory)
    this.#secrets = secretNeedles([options.password, options.username].filter((s): s is string => s !== undefined))
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    // Slices, not copies: ioredis copies them into its write buffer when the pipeline is sent.
    const lines = recordLines(batch, { copy: false })
    if (lines.length === 0) return
    let client
    try {
      client = await this.#connection.ready(signal)
    } catch (error) {
      throw this.#error(error)
    }
    const commands = this.#options.mode === 'stream' ? this.#xadds(batch, lines) : this.#rpushes(lines)
    let replies: PipelineReply[] | null
    const release = this.#connection.hold(client)
    try {
      replies = await abortable(client.pipeline(commands.map((c) => c.args)).exec(), signal, () => this.#connection.drop())
    } catch (error) {
      throw this.#error(error, `${this.#command} ${this.#options.key}`)
    } finally {
      release()
    }
    return this.#outcome(commands, replies, lines.length)
  }

  close(): Promise<void> {
    return this.#connection.close()
  }

  get #command(): string {
    return this.#options.mode === 'stream' ? 'XADD' : 'RPUSH'
  }

  #xadds(batch: Batch, lines: readonly Buffer[]): PlannedCommand[] {
    const { key, field, idField, maxLen } = this.#options
    const head: RedisArg[] = maxLen === undefined ? ['xadd', key, '*'] : ['xadd', key, 'MAXLEN', '~', maxLen, '*']
    return lines.map((line, index) => {
      const args = [...head, field, line]
      if (idField !== undefined) args.push(idField, batch.recordId?.(index) ?? `${batch.id}:${index}`)
      return { args, indexes: [index] }
    })
  }

  #rpushes(lines: readonly Buffer[]): PlannedCommand[] {
    const out: PlannedCommand[] = []
    for (let from = 0; from < lines.length; from += LIST_PUSH_CHUNK) {
      const to = Math.min(lines.length, from + LIST_PUSH_CHUNK)
      const indexes = Array.from({ length: to - from }, (_, k) => from + k)
      out.push({ args: ['rpush', this.#options.key, ...lines.slice(from, to)], indexes })
    }
    return out
  }

  /** The pipeline's replies as the batch's outcome: undefined (all written), a partial result, or a throw. */
  #outcome(commands: readonly PlannedCommand[], replies: readonly PipelineReply[] | null, count: number): DeliveryResult | undefined {
    const rejected: RecordRejection[] = []
    const retry: RecordRejection[] = []
    let first: { error: unknown; permanent: boolean; text: string } | undefined
    let uniform = true
    let reconnect = false
    for (const [k, command] of commands.entries()) {
      const reply = replies?.[k]
      const error = reply === undefined ? new Error('no reply') : reply[0]
      if (error === null) {
        uniform = false
        continue
      }
      const kind = classifyRedisError(error)
      reconnect ||= kind.reconnect
      const text = this.#redact(messageOf(error))
      if (first === undefined) first = { error, permanent: kind.permanent, text }
      else if (first.text !== text || first.permanent !== kind.permanent) uniform = false
      for (const index of command.indexes) (kind.permanent ? rejected : retry).push({ index, error: text })
    }
    // READONLY: the server became a replica (a failover): the next attempt connects anew, and finds
    // the new primary when the URL's name now points at it.
    if (reconnect) this.#connection.drop()
    if (first === undefined) return undefined
    // Every record met the same error: one error for the batch, which reads better in warnings.
    if (uniform && rejected.length + retry.length === count) throw this.#error(first.error, `${this.#command} ${this.#options.key}`, first.permanent)
    return { rejected, retry }
  }

  /** A DeliveryError naming the server (never its credentials) and what failed. */
  #error(error: unknown, what?: string, permanent = classifyRedisError(error).permanent): DeliveryError {
    if (error instanceof DeliveryError) return error
    const text = this.#redact(messageOf(error))
    // The cause is not kept: ioredis's errors carry the command's arguments (AUTH's password among them).
    return new DeliveryError(`redis ${this.#options.endpoint}: ${what === undefined ? '' : `${what}: `}${text}`, { permanent })
  }

  #redact(text: string): string {
    return redactText(text, this.#secrets)
  }
}

/** An error's own words: a Redis error reply is its message (`WRONGTYPE Operation against …`), no class name added. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.message !== '') return error.message
  // Node's connect to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with an
  // AggregateError whose own message is empty.
  if (error instanceof AggregateError && error.errors.length > 0) return [...new Set(error.errors.map(messageOf))].join('; ')
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : error.name
}
