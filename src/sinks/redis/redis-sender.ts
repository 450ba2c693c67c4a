import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { Redis as IoRedis } from 'ioredis'
import { z } from 'zod'
import { ConfigError } from '../../config/config-error.js'
import type { CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { redactUrl } from '../http/http-post.js'
import { OptionalPeer } from '../shared/optional-peer.js'
import { defineSinkType } from '../sink-type.js'
import { IOREDIS_OPTIONS, type RedisClient, type RedisClientFactory, type RedisConnectionOptions } from './redis-connection.js'
import { RedisSink, type RedisMode } from './redis-sink.js'
import { parseRedisUrl, redisUrlProblem } from './redis-url.js'

export type { RedisMode } from './redis-sink.js'
export { LIST_PUSH_CHUNK } from './redis-sink.js'
export { classifyRedisError, PERMANENT_REPLY_CODES, TRANSIENT_REPLY_CODES } from './redis-errors.js'

/** Default of `mode`: a stream (XADD). */
export const DEFAULT_REDIS_MODE: RedisMode = 'stream'
/** Default of `field`: the stream field holding the record's JSON line. */
export const DEFAULT_REDIS_FIELD = 'line'
/** Default of `idField`: the stream field holding the record's identity, for consumers that drop repeats. */
export const DEFAULT_REDIS_ID_FIELD = 'id'

/** TLS settings of a `rediss://` connection (PEM text, not file names: options cross to pino's worker as plain data). */
export interface RedisTlsOptions {
  /** CA certificate(s) the server's certificate must chain to. @default Node's bundled CAs */
  ca?: string | string[]
  /** Client certificate, for servers with `tls-auth-clients yes`. @default none */
  cert?: string
  /** The client certificate's private key. @default none */
  key?: string
  /** Name checked against the server's certificate (SNI). @default the URL's host */
  servername?: string
  /** Refuse a server whose certificate does not verify. Turn off only for a test server. @default true */
  rejectUnauthorized?: boolean
}

/**
 * Options of {@link createRedisSender}. Records go to one key, as their JSON lines, unchanged: in a
 * stream (`XADD`, one entry per record, the line in the field `line` and the record's identity in
 * `id`) or a list (`RPUSH`, the line as the element: what Logstash's `redis` input and Vector's
 * `redis` source read with `data_type: list`).
 */
export interface RedisSenderOptions extends CommonSenderOptions {
  /**
   * The server: `redis://[[username]:password@]host[:port][/db]`, or `rediss://…` for TLS. A user
   * part without a colon is the password (`redis://secret@host`), as redis-cli reads it. Messages
   * and stats show only the scheme, host and port.
   */
  url: string
  /** The key written to (a stream or a list, by `mode`). */
  key: string
  /**
   * `stream`: one `XADD key [MAXLEN ~ maxLen] * line <json> id <identity>` per record, pipelined per
   * batch. `list`: `RPUSH key <json> …`, up to 1,000 records per command, pipelined per batch.
   * @default 'stream'
   */
  mode?: RedisMode
  /** Stream mode: the field holding the record's JSON line. @default 'line' */
  field?: string
  /**
   * Stream mode: the field holding the record's identity (the same on every retry and spool replay),
   * so that a consumer can drop the repeats a lost connection may cause; `false` for none. Entry ids
   * stay server-made (`*`): Redis refuses an id not above the stream's last one, which a retried
   * record's would not be.
   * @default 'id'
   */
  idField?: string | false
  /**
   * Stream mode: trims the stream to about this many entries on every write (`MAXLEN ~`: Redis trims
   * whole listpack nodes, so it stays at or a little above it; exact trimming costs far more). Old
   * entries are deleted whether read or not. @default none (the stream grows until trimmed elsewhere)
   */
  maxLen?: number
  /** ACL username (Redis 6+); wins over the URL's. Needs a password. @default the URL's, else none (the `default` user) */
  username?: string
  /** Password (`requirepass`, or the ACL user's); wins over the URL's. Never shown. @default the URL's, else none */
  password?: string
  /** Database number; wins over the URL's path. @default the URL's, else 0 */
  db?: number
  /** TLS settings: only with a `rediss://` URL. @default Node's defaults (verified against Node's CAs) */
  tls?: RedisTlsOptions
  /**
   * The worker pool. One pipeline in flight by default: records land in the order they were logged,
   * and a batch that failed is sent again before any later one. More in flight share the one
   * connection (pipelines are queued on it), so they add little. @default { concurrency: 1, timeoutMs: 10000 }
   */
  pool?: PoolOptions
}

const fieldName = z.string().min(1)

export const redisSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: z.string().superRefine((url, context) => {
    const problem = redisUrlProblem(url)
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem })
  }),
  key: z.string().min(1),
  mode: z.enum(['stream', 'list']).optional(),
  field: fieldName.optional(),
  idField: z.union([fieldName, z.literal(false)]).optional(),
  maxLen: z.number().int().positive().optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  db: z.number().int().min(0).optional(),
  tls: z
    .strictObject({
      ca: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      servername: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().optional(),
    })
    .optional(),
})

/**
 * Delivery defaults of the Redis sender: the general ones (batches of up to 5,000 records or 1 MiB,
 * one in flight, 10 s per attempt), stated here. Redis answers a pipeline of 5,000 XADD in tens of
 * milliseconds, so one batch in flight on one connection keeps up with any pino app and keeps order.
 */
export const REDIS_SENDER_DEFAULTS: DeliveryOptions = { pool: { concurrency: 1, timeoutMs: 10_000 } }

// ioredis is CommonJS: an import() of it has the Redis class as `default`.
const ioredis = new OptionalPeer<{ default: typeof IoRedis }>('redis', ['ioredis'])

/** Makes ioredis clients that leave buffering and retrying to the engine (see IOREDIS_OPTIONS). */
export const ioredisFactory: RedisClientFactory = async (options) => {
  const { default: Redis } = await ioredis.load()
  return new Redis({ ...IOREDIS_OPTIONS, host: options.host, port: options.port, ...(options.tls === undefined ? {} : { tls: options.tls }) }) as unknown as RedisClient
}

/**
 * Ships records to Redis: a stream (XADD) or a list (RPUSH), one key, one connection, one pipeline
 * per batch.
 *
 * Delivered means Redis answered the command: the entry is in the server's memory (on disk as its
 * AOF or RDB settings say; on replicas later). OOM (`maxmemory` reached with `noeviction`), READONLY
 * (a replica: the connection is made anew), LOADING, BUSY, MASTERDOWN and lost connections are
 * retried with the engine's backoff; WRONGTYPE, NOPERM, NOAUTH / WRONGPASS and ERR are failures for
 * good (dead-lettered when a dead-letter file is set). A command whose reply was lost with the
 * connection is sent again and may then be written twice: in stream mode the record's identity
 * (`idField`) tells a consumer it has seen it.
 */
export class RedisSender extends QueuedSender {
  /** Scheme, host and port of the server (the URL may carry a password and is never shown). */
  readonly endpoint: string
  readonly key: string
  readonly mode: RedisMode

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: RedisSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED, factory: RedisClientFactory = ioredisFactory) {
    if (checked !== CHECKED) validate(redisSenderOptionsSchema, options)
    const { url, key, mode = DEFAULT_REDIS_MODE, field, idField, maxLen, username, password, db, tls, ...common } = options
    const parts = parseRedisUrl(url)
    const issues: [string, string][] = []
    if (mode === 'list') {
      for (const [name, value] of [['field', field], ['idField', idField], ['maxLen', maxLen]] as const) {
        if (value !== undefined) issues.push([name, `${name} is for mode 'stream': a list holds the lines alone`])
      }
    }
    if (mode === 'stream' && idField !== false && (idField ?? DEFAULT_REDIS_ID_FIELD) === (field ?? DEFAULT_REDIS_FIELD)) {
      issues.push([idField === undefined ? 'field' : 'idField', 'field and idField must differ (the line and the record id are two fields of an entry)'])
    }
    if (tls !== undefined && !parts.tls) issues.push(['tls', "tls settings need a rediss:// URL (redis:// is plain TCP)"])
    const user = username ?? parts.username
    const secret = password ?? parts.password
    if (user !== undefined && secret === undefined) {
      issues.push([username === undefined ? 'url' : 'username', 'a username needs a password (any one, for an ACL user with nopass)'])
    }
    if (issues.length > 0) {
      throw new ConfigError(`pino-courier: invalid options: ${issues.map(([path, message]) => `${path}: ${message}`).join('; ')}`, {
        paths: issues.map(([path]) => path),
      })
    }
    ioredis.check()
    const connection: RedisConnectionOptions = {
      host: parts.host,
      port: parts.port,
      tls: parts.tls ? tlsOptions(parts.host, tls) : undefined,
      username: user,
      password: secret,
      db: db ?? parts.db,
    }
    const endpoint = redactUrl(url)
    const sink = new RedisSink(
      {
        ...connection,
        key,
        mode,
        field: field ?? DEFAULT_REDIS_FIELD,
        idField: idField === false ? undefined : (idField ?? DEFAULT_REDIS_ID_FIELD),
        maxLen,
        endpoint,
      },
      factory,
    )
    super(resolveSenderConfig(common, context, REDIS_SENDER_DEFAULTS, 'redis'), sink, context)
    this.endpoint = endpoint
    this.key = key
    this.mode = mode
  }
}

/** Node's TLS options for a `rediss://` connection: SNI is the host unless it is an IP address. */
function tlsOptions(host: string, tls: RedisTlsOptions | undefined): TlsConnectionOptions {
  const out: TlsConnectionOptions = {}
  if (!/^[\d.]+$|:/.test(host)) out.servername = host
  if (tls === undefined) return out
  for (const [name, value] of Object.entries(tls)) if (value !== undefined) (out as Record<string, unknown>)[name] = value
  return out
}

/** `{ type: 'redis', url, key, … }` in the transport options. */
export const redisSinkType = defineSinkType({
  type: 'redis',
  schema: redisSenderOptionsSchema as unknown as z.ZodType<RedisSenderOptions>,
  defaults: REDIS_SENDER_DEFAULTS,
  queued: true,
  create: (options: RedisSenderOptions, context) => new RedisSender(options, context, CHECKED),
})

/**
 * Creates a sender that writes records to a Redis stream or list. Needs `ioredis` (5.4+ or 6), an
 * optional peer dependency: `npm install ioredis`.
 * @example createRedisSender({ url: 'redis://redis:6379', key: 'logs' }) // XADD logs * line <json> id <identity>
 * @example createRedisSender({ url: 'rediss://:secret@redis:6380/1', key: 'logstash', mode: 'list' }) // RPUSH, for Logstash / Vector
 */
export function createRedisSender(options: RedisSenderOptions, context?: SenderContext): RedisSender {
  return new RedisSender(options, context)
}
