import type { ConnectionOptions } from 'node:tls'
import type * as KafkaJs from 'kafkajs'
import type { Kafka, KafkaConfig, ProducerConfig, SASLOptions } from 'kafkajs'
import { z } from 'zod'
import { ConfigError } from '../../config/config-error.js'
import type { BatchOptions, CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { durationSchema } from '../../timers.js'
import { secretNeedles } from '../http/redact.js'
import { fieldPath } from '../shared/field-path.js'
import { OptionalPeer } from '../shared/optional-peer.js'
import { defineSinkType } from '../sink-type.js'
import { KafkaSink, type KafkaProducer, type ProducerFactory } from './kafka-sink.js'

/** Default of `maxMessageBytes`: under Kafka's default `message.max.bytes` (1,048,588) with room for the record batch's own bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000

/** Default of `clientId`. */
export const DEFAULT_CLIENT_ID = 'pino-courier'

/** Default of `connectionTimeoutMs`. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3000

/**
 * kafkajs's own retries: none. The engine retries with backoff (retry.*) and bounds each attempt
 * (pool.timeoutMs); a kafkajs retry loop would run inside an attempt and, once the engine had given
 * up on that attempt, go on sending the batch in the background. Without it a batch is written at
 * most once per attempt, so the copies a retry can make are at most the records sent again (the
 * `retried` count). kafkajs still refreshes its metadata after NOT_LEADER_FOR_PARTITION and the like
 * before it gives up, so the engine's next attempt goes to the new leader.
 */
export const KAFKAJS_RETRY = Object.freeze({ retries: 0 })

/** kafkajs's retries for an idempotent producer, which kafkajs refuses to make without one. */
export const KAFKAJS_IDEMPOTENT_RETRY = Object.freeze({ retries: 1, initialRetryTime: 100, maxRetryTime: 1000 })

/** Longest wait for the producer to disconnect when the sender closes. */
export const KAFKA_CLOSE_TIMEOUT_MS = 2000

/** Largest `pool.concurrency` with `idempotent: true`: Kafka keeps order for at most 5 requests in flight per connection. */
export const MAX_IDEMPOTENT_IN_FLIGHT = 5

/** TLS options kafkajs passes to `tls.connect` (PEM text, since options cross into pino's worker as plain data). */
export interface KafkaTlsOptions {
  /** CA certificate(s) the brokers' certificates are checked against. @default Node's CAs */
  ca?: string | string[]
  /** Client certificate (mutual TLS). @default none */
  cert?: string
  /** Client key (mutual TLS). @default none */
  key?: string
  /** Passphrase of `key`. @default none */
  passphrase?: string
  /** Name checked against the broker's certificate. @default the broker's host */
  servername?: string
  /** Refuse brokers whose certificate does not check out. @default true */
  rejectUnauthorized?: boolean
}

/** SASL credentials (the mechanisms that need no callback: PLAIN and SCRAM). */
export interface KafkaSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

/**
 * Options of {@link createKafkaSender}. A batch is one produce call (one produce request per leader
 * broker); each record's JSON line, as it came, is a message's value.
 */
export interface KafkaSenderOptions extends CommonSenderOptions {
  /** Bootstrap brokers, `host:port` each (no scheme: TLS is `ssl`). */
  brokers: string[]
  /** The topic every record goes to: `[a-zA-Z0-9._-]`, at most 249 characters, not `.` or `..`. */
  topic: string
  /**
   * A record field whose value is the message key (`tenant`, or a dotted path `req.tenant`): records
   * with the same key go to the same partition, in order. Strings as they are, numbers and booleans
   * as text, objects as their JSON. A record without the field has a null key: kafkajs's default
   * partitioner then spreads such records over the partitions one by one (round robin).
   * @default none (every key null)
   */
  key?: string
  /**
   * Acknowledgements the broker must have before it answers: `'all'` (every in-sync replica, -1),
   * `1` (the partition leader alone) or `0` (no answer: delivered means written to the socket).
   * @default 'all'
   */
  acks?: 'all' | -1 | 0 | 1
  /**
   * kafkajs's idempotent producer (the broker drops the copy kafkajs's own single retry writes; the
   * engine's retries are new sends, and a producer whose send failed is replaced). Needs `acks: 'all'`
   * and `pool.concurrency` at most 5. Not tested against a real broker here (see docs/kafka.md).
   * @default false
   */
  idempotent?: boolean
  /** `gzip` (built into kafkajs) or `none`; snappy, lz4 and zstd need codecs kafkajs does not bundle. @default 'none' */
  compression?: 'none' | 'gzip'
  /** The client id brokers log and apply quotas by. @default 'pino-courier' */
  clientId?: string
  /** TLS: `true` for Node's defaults, or options. @default false */
  ssl?: boolean | KafkaTlsOptions
  /** SASL credentials (PLAIN needs `ssl` in production: the password travels as it is). @default none */
  sasl?: KafkaSaslOptions
  /** Headers every message carries. @default none */
  headers?: Record<string, string>
  /**
   * Name of a header carrying the record's stable id (`<batch id>:<n>`, the same on every retry and
   * replay), so a consumer can drop the copies a retried batch writes again. @default none
   */
  idHeader?: string
  /**
   * Largest message (value, key and headers) sent: a larger record is refused for good before
   * sending (counted failed, dead-lettered when a dead-letter file is set). Keep it under the topic's
   * `max.message.bytes` (the broker's `message.max.bytes`, 1,048,588 by default) less about 100 bytes
   * of record-batch overhead. @default 1000000
   */
  maxMessageBytes?: number
  /** Let the brokers create the topic on first use (when they allow it); false: an unknown topic fails for good. @default true */
  allowAutoTopicCreation?: boolean
  /** How long connecting to a broker (and authenticating) may take. @default 3000 */
  connectionTimeoutMs?: number
  /** Batches. @default { maxRecords: 5000, maxBytes: 524288 (512 KiB), maxWaitMs: 1000 } */
  batch?: BatchOptions
  /**
   * The worker pool. One produce in flight by default: a failed batch is sent again before any later
   * one, so each partition keeps the records' order (retried copies aside). `timeoutMs` is also
   * kafkajs's request timeout and the broker's wait for acknowledgements.
   * @default { concurrency: 1, timeoutMs: 15000 }
   */
  pool?: PoolOptions
}

/** A Kafka topic name, as the broker checks it. */
export const TOPIC_PATTERN = /^[a-zA-Z0-9._-]+$/

/** Why `topic` is not a Kafka topic name, or undefined when it is one. */
export function topicProblem(topic: string): string | undefined {
  if (topic === '') return 'must not be empty'
  if (topic === '.' || topic === '..') return "must not be '.' or '..'"
  if (topic.length > 249) return `must be at most 249 characters (has ${topic.length})`
  if (!TOPIC_PATTERN.test(topic)) return 'may hold only ASCII letters, digits, ".", "_" and "-"'
  return undefined
}

/** Why `broker` is not `host:port`, or undefined. */
export function brokerProblem(broker: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(broker)) return `give host:port without a scheme (${broker.replace(/\/\/[^@/]*@/, '//')}): TLS is the ssl option`
  if (broker.includes('@')) return 'give host:port: credentials go in the sasl option'
  if (broker.startsWith('[')) return 'kafkajs cannot take IPv6 addresses: use a host name'
  const match = /^([^:\s/]+):(\d{1,5})$/.exec(broker)
  if (match === null) return `must be host:port (${JSON.stringify(broker)})`
  const port = Number(match[2])
  if (port < 1 || port > 65535) return `port must be 1-65535 (${port})`
  return undefined
}

const tlsSchema = z.strictObject({
  ca: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  passphrase: z.string().optional(),
  servername: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().optional(),
})

const saslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  password: z.string().min(1),
})

export const kafkaSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  brokers: z
    .array(z.string())
    .min(1, 'give at least one broker (host:port)')
    .superRefine((brokers, ctx) => {
      brokers.forEach((broker, i) => {
        const problem = brokerProblem(broker)
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: problem })
      })
    }),
  topic: z.string().superRefine((topic, ctx) => {
    const problem = topicProblem(topic)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }),
  key: z.string().min(1).optional(),
  acks: z.union([z.literal('all'), z.literal(-1), z.literal(0), z.literal(1)]).optional(),
  idempotent: z.boolean().optional(),
  compression: z.enum(['none', 'gzip']).optional(),
  clientId: z.string().min(1).optional(),
  ssl: z.union([z.boolean(), tlsSchema]).optional(),
  sasl: saslSchema.optional(),
  headers: z.record(z.string().min(1), z.string()).optional(),
  idHeader: z.string().min(1).optional(),
  maxMessageBytes: z.number().int().positive().optional(),
  allowAutoTopicCreation: z.boolean().optional(),
  connectionTimeoutMs: durationSchema(1).optional(),
})

/**
 * Delivery defaults of the Kafka sender. Batches of up to 512 KiB of lines: with a key sending a
 * whole batch to one partition, its record batch (lines, keys, headers and about 20 bytes a record)
 * stays under Kafka's default `message.max.bytes` of 1,048,588, which a record batch must fit
 * (a larger one is answered MESSAGE_TOO_LARGE and split, which costs a round trip). One produce in
 * flight keeps each partition in order; an attempt may take 15 s (a leader election takes seconds).
 */
export const KAFKA_SENDER_DEFAULTS: DeliveryOptions = {
  batch: { maxBytes: 512 * 1024 },
  pool: { concurrency: 1, timeoutMs: 15_000 },
}

const kafkajsPeer = new OptionalPeer<typeof KafkaJs>('kafka', ['kafkajs'])

/** What a producer is made of (the kafkajs client's and producer's settings). */
export interface KafkaClientSettings {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly ssl: boolean | KafkaTlsOptions | undefined
  readonly sasl: KafkaSaslOptions | undefined
  readonly connectionTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly allowAutoTopicCreation: boolean
  readonly idempotent: boolean
  readonly maxInFlightRequests: number | undefined
}

/** The kafkajs client and producer configuration: kafkajs's logging off, its own retries off. */
export function kafkajsConfig(settings: KafkaClientSettings): { client: KafkaConfig; producer: Omit<ProducerConfig, 'createPartitioner'> } {
  const client: KafkaConfig = {
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: settings.connectionTimeoutMs,
    authenticationTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { ...KAFKAJS_RETRY },
    // kafkajs logs to the console by default (and warns about its partitioner): nothing of it reaches
    // the app's stdout; the engine's stats and warnings say what happened.
    logLevel: 0,
    logCreator: () => () => {},
  }
  if (settings.ssl !== undefined && settings.ssl !== false) client.ssl = settings.ssl === true ? true : ({ ...settings.ssl } as ConnectionOptions)
  if (settings.sasl !== undefined) client.sasl = { ...settings.sasl } as SASLOptions
  const producer: Omit<ProducerConfig, 'createPartitioner'> = {
    allowAutoTopicCreation: settings.allowAutoTopicCreation,
    idempotent: settings.idempotent,
    retry: settings.idempotent ? { ...KAFKAJS_IDEMPOTENT_RETRY } : { ...KAFKAJS_RETRY },
  }
  if (settings.maxInFlightRequests !== undefined) producer.maxInFlightRequests = settings.maxInFlightRequests
  return { client, producer }
}

/** `list` starting at its `by`-th element (modulo its length), the ones before it at the end. */
export function rotated<T>(list: readonly T[], by: number): T[] {
  const at = list.length === 0 ? 0 : by % list.length
  return [...list.slice(at), ...list.slice(0, at)]
}

/**
 * A factory of kafkajs producers: kafkajs imported on first use. Each producer's client starts at
 * the next bootstrap broker: kafkajs tries one bootstrap broker per connect (its retries are off)
 * and a new client starts at the head of its list, so with the first broker down every connect
 * would try it alone, for ever, while the rest of the cluster was up.
 */
function kafkajsProducers(settings: KafkaClientSettings): ProducerFactory {
  let made = 0
  return async () => {
    const loaded = await kafkajsPeer.load()
    // kafkajs is CommonJS: its names are the default export's (and, through Node's CJS detection, named ones).
    const kafkajs = (loaded as unknown as { default?: typeof loaded }).default ?? loaded
    const { client, producer } = kafkajsConfig({ ...settings, brokers: rotated(settings.brokers, made++) })
    const kafka: Kafka = new kafkajs.Kafka(client)
    return kafka.producer({ ...producer, createPartitioner: kafkajs.Partitioners.DefaultPartitioner }) as unknown as KafkaProducer
  }
}

/**
 * Produces records to a Kafka topic with kafkajs (an optional peer dependency: `npm install
 * kafkajs`), connecting on the first delivery.
 *
 * Delivered means kafkajs resolved the send: every partition leader the batch went to acknowledged
 * its records (with `acks: 'all'`, after every in-sync replica had them). kafkajs answers for the
 * batch as a whole, so a failure retries the whole batch, and records a partition had already
 * written are written again: at least once, duplicates only after a failed or timed-out attempt
 * (the `idHeader` option lets consumers drop them). See docs/kafka.md for every outcome.
 */
export class KafkaSender extends QueuedSender {
  /** The bootstrap brokers (host:port, never a credential). */
  readonly brokers: readonly string[]
  readonly topic: string

  /**
   * `checked`: the registry's token for options the transport's schema accepted already.
   * `producers`: makes the producer (tests pass a stub); kafkajs by default.
   */
  constructor(options: KafkaSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED, producers?: ProducerFactory) {
    if (checked !== CHECKED) validate(kafkaSenderOptionsSchema, options)
    const {
      brokers,
      topic,
      key,
      acks,
      idempotent,
      compression,
      clientId,
      ssl,
      sasl,
      headers,
      idHeader,
      maxMessageBytes,
      allowAutoTopicCreation,
      connectionTimeoutMs,
      ...common
    } = options
    kafkajsPeer.check()
    const config = resolveSenderConfig(common, context, KAFKA_SENDER_DEFAULTS, 'kafka')
    const ackNumber = acks === undefined || acks === 'all' ? -1 : acks
    const { concurrency, timeoutMs, adaptive } = config.delivery.pool
    if (idempotent === true && ackNumber !== -1) {
      throw new ConfigError(`pino-courier: invalid options: acks: idempotent needs acks 'all' (has ${String(acks)})`, { paths: ['acks'] })
    }
    if (idempotent === true && concurrency > MAX_IDEMPOTENT_IN_FLIGHT) {
      // Under 'adaptive' the bound that matters is maxConcurrency (the limit may climb to it).
      const option = adaptive === true ? 'pool.maxConcurrency' : 'pool.concurrency'
      throw new ConfigError(
        `pino-courier: invalid options: ${option}: idempotent allows at most ${MAX_IDEMPOTENT_IN_FLIGHT} produce requests in flight (has ${concurrency})`,
        { paths: [option] },
      )
    }
    const secrets = [sasl?.password, typeof ssl === 'object' ? ssl.passphrase : undefined, typeof ssl === 'object' ? ssl.key : undefined].filter(
      (s): s is string => s !== undefined,
    )
    const settings: KafkaClientSettings = {
      brokers,
      clientId: clientId ?? DEFAULT_CLIENT_ID,
      ssl,
      sasl,
      connectionTimeoutMs: connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: timeoutMs,
      allowAutoTopicCreation: allowAutoTopicCreation ?? true,
      idempotent: idempotent ?? false,
      maxInFlightRequests: idempotent === true ? concurrency : undefined,
    }
    const sink = new KafkaSink(
      {
        topic,
        brokers,
        allowAutoTopicCreation: settings.allowAutoTopicCreation,
        secrets: secretNeedles(secrets),
        key: key === undefined ? undefined : fieldPath(key),
        acks: ackNumber,
        ackTimeoutMs: timeoutMs,
        compression: compression === 'gzip' ? 1 : 0,
        headers,
        idHeader,
        maxMessageBytes: maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        idempotent: settings.idempotent,
        closeTimeoutMs: KAFKA_CLOSE_TIMEOUT_MS,
      },
      producers ?? kafkajsProducers(settings),
    )
    super(config, sink, context)
    this.brokers = [...brokers]
    this.topic = topic
  }
}

/** `{ type: 'kafka', brokers, topic, … }` in the transport options. */
export const kafkaSinkType = defineSinkType({
  type: 'kafka',
  schema: kafkaSenderOptionsSchema as unknown as z.ZodType<KafkaSenderOptions>,
  defaults: KAFKA_SENDER_DEFAULTS,
  queued: true,
  create: (options: KafkaSenderOptions, context) => new KafkaSender(options, context, CHECKED),
})

/**
 * Creates a sender that produces records to a Kafka topic (kafkajs, an optional peer dependency).
 * @example createKafkaSender({ brokers: ['kafka:9092'], topic: 'logs', key: 'tenant', compression: 'gzip' })
 */
export function createKafkaSender(options: KafkaSenderOptions, context?: SenderContext): KafkaSender {
  return new KafkaSender(options, context)
}
