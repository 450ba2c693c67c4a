import type * as NatsJetStreamModule from '@nats-io/jetstream'
import type * as NatsNodeModule from '@nats-io/transport-node'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from '../../config/config-error.js'
import type { CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { durationSchema } from '../../timers.js'
import { OptionalPeer } from '../shared/optional-peer.js'
import { RecordFields } from '../shared/record-fields.js'
import { defineSinkType } from '../sink-type.js'
import { NatsSink, type MissingStreamPolicy, type NatsAuth, type NatsClientApi, type NatsMode, type NatsTlsOptions } from './nats-sink.js'
import { DEFAULT_SUBJECT_FALLBACK, fallbackProblem, SubjectTemplate } from './nats-subject.js'
import { credsProblem, tlsProblem } from './nats-tls.js'
import { socketReleasingConnect, type Connect } from './nats-transport.js'

export type { MissingStreamPolicy, NatsMode, NatsTlsOptions } from './nats-sink.js'
export { DEFAULT_SUBJECT_FALLBACK, MAX_SUBJECT_VALUE_LENGTH } from './nats-subject.js'

/** Default of `connectTimeoutMs`: how long one connect (TCP, TLS, the server's INFO and a PONG) may take. */
export const DEFAULT_NATS_CONNECT_TIMEOUT_MS = 5_000

/** Default of `connectionName`: the name the server shows for the connection (`nats server report connections`). */
export const DEFAULT_NATS_CONNECTION_NAME = 'pino-courier'

/** Options of {@link createNatsSender}. */
export interface NatsSenderOptions extends CommonSenderOptions {
  /**
   * The server(s): `nats://host:4222`, `tls://host:4222` (TLS required: no CONNECT is sent to a server
   * that offers no TLS; all servers of a list, or none) or `host:4222`; a list for a
   * cluster (each connect tries each once). Credentials in a URL (`nats://user:pass@host`,
   * `nats://token@host`) are taken out of it and used as `user`/`pass` or `token`.
   */
  servers: string | readonly string[]
  /**
   * The subject records are published to: fixed (`logs.api`) or a template filled from each record
   * (`logs.{service}.{level}`). `{level}` is the record's level name (`info`, or the number of a level
   * the logger does not name); any other `{name}` is a record field (a top-level key first, else a
   * dotted path into nested objects; strings, numbers and booleans). A value becomes one token: spaces,
   * control characters, `.`, `*` and `>` become `_`, and it is cut at 128 characters; a record without
   * the field (or with an empty value, an object or null) gets `subjectFallback`. Checked at start-up: no
   * empty token, no whitespace, no `*` or `>` token.
   */
  subject: string
  /** The token a placeholder becomes when the record has no usable value for it. @default 'unknown' */
  subjectFallback?: string
  /**
   * `jetstream`: each record is a JetStream publish acknowledged by a PubAck (stored by a stream),
   * `Nats-Msg-Id` set to the record's identity, so a record sent again within the stream's duplicate
   * window is stored once. `core`: plain publishes, one flush per batch: delivered means the server
   * read them; nothing is stored unless a stream captures the subject, and subscribers that are not
   * there miss them. @default 'jetstream'
   */
  mode?: NatsMode
  /**
   * What a JetStream publish to a subject no stream captures becomes. `fail`: failed for good at once
   * (dead-lettered when a dead-letter file is set), with an error naming the subject. `retry`: retried
   * like an outage (for `retry.maxRetryTimeMs`, or waiting in the spool), for a stream an operator
   * creates after the app is deployed. Either way JetStream not answering at all (starting, not
   * enabled) is retried. @default 'fail'
   */
  missingStream?: MissingStreamPolicy
  /** User name (with `pass`). @default none */
  user?: string
  /** Password of `user`. Never shown in messages. @default none */
  pass?: string
  /** Authentication token. Never shown in messages. @default none */
  token?: string
  /** Path of a `.creds` file (a user JWT and its NKey seed, as `nsc` writes it), read at each connect. @default none */
  credsFile?: string
  /** TLS, passed to the client (`ca`/`caFile`, `cert`/`certFile`, `key`/`keyFile`, `rejectUnauthorized`, `handshakeFirst`). @default TLS when the server requires it */
  tls?: NatsTlsOptions
  /** Name of the connection, as the server shows it. @default 'pino-courier' */
  connectionName?: string
  /** Time limit of one connect. @default 5000 */
  connectTimeoutMs?: number
  /**
   * The worker pool. One batch in flight by default: all of a batch's publishes go out at once on one
   * connection and the stream stores them in that order; a record retried alone lands after those
   * published after it, a batch retried whole before any later batch. The PubAcks of a batch are waited for 90% of `timeoutMs` from the attempt's
   * start: those acknowledged by then are delivered, only the others go again.
   * @default { concurrency: 1, timeoutMs: 10000 }
   */
  pool?: PoolOptions
}

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  caFile: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().optional(),
  handshakeFirst: z.boolean().optional(),
})

const serverSchema = z.string().superRefine((server, ctx) => {
  const problem = serverProblem(server)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

export const natsSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  servers: z.union([serverSchema, z.array(serverSchema).min(1)]),
  subject: z.string().superRefine((subject, ctx) => {
    const parsed = SubjectTemplate.parse(subject)
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed })
  }),
  subjectFallback: z
    .string()
    .superRefine((token, ctx) => {
      const problem = fallbackProblem(token)
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
    })
    .optional(),
  mode: z.enum(['jetstream', 'core']).optional(),
  missingStream: z.enum(['fail', 'retry']).optional(),
  user: z.string().min(1).optional(),
  pass: z.string().optional(),
  token: z.string().min(1).optional(),
  credsFile: z.string().min(1).optional(),
  tls: tlsSchema.optional(),
  connectionName: z.string().min(1).optional(),
  connectTimeoutMs: durationSchema(1).optional(),
})

/**
 * Delivery defaults of the NATS sender: the general ones (batches of up to 5,000 records or 1 MiB,
 * one batch in flight, 10 s per attempt). One batch in flight keeps the stream's order of first
 * attempts; the batch's publishes are all in flight at once, so one round trip carries it.
 */
export const NATS_SENDER_DEFAULTS: DeliveryOptions = { pool: { concurrency: 1 } }

/** Why a `servers` entry is not one the client takes, or undefined. */
function serverProblem(server: string): string | undefined {
  const url = parseServer(server)
  if (url === undefined) return 'is not a server URL (nats://host:4222, tls://host:4222 or host:4222)'
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') return `has the scheme '${url.protocol}': the NATS sender speaks nats:// and tls:// (not websockets)`
  if (url.hostname === '') return 'has no host'
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') return 'must be a scheme, host and port only'
  return undefined
}

function parseServer(server: string): URL | undefined {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `nats://${server}`)
  } catch {
    return undefined
  }
}

/** The servers without credentials, the credentials found in them, and how messages name them. */
function splitServers(servers: readonly string[]): { urls: string[]; names: string; auth: NatsAuth } {
  const urls: string[] = []
  const auth: NatsAuth = {}
  for (const server of servers) {
    const url = parseServer(server) as URL
    if (url.username !== '') {
      const user = decodeURIComponent(url.username)
      const pass = decodeURIComponent(url.password)
      const found: NatsAuth = url.password === '' ? { token: user } : { user, pass }
      if ((auth.user ?? auth.token) !== undefined && (auth.user !== found.user || auth.pass !== found.pass || auth.token !== found.token)) {
        throw new ConfigError('pino-courier: invalid options: servers: the servers carry different credentials: give them once, as user/pass or token', {
          paths: ['servers'],
        })
      }
      Object.assign(auth, found)
    }
    const port = url.port === '' ? '4222' : url.port
    urls.push(`${url.protocol}//${url.hostname}:${port}`)
  }
  return { urls, names: urls.join(','), auth }
}

/**
 * The client: @nats-io/transport-node (connect, headers, authenticators) and, for JetStream's API
 * (which stream captures a subject, asked after a "no responders"), @nats-io/jetstream. Core mode
 * needs only the first.
 */
const natsBoth = new OptionalPeer<typeof NatsNodeModule>('nats', ['@nats-io/transport-node', '@nats-io/jetstream'])
const natsCore = new OptionalPeer<typeof NatsNodeModule>('nats', ['@nats-io/transport-node'])
const natsJetStream = new OptionalPeer<typeof NatsJetStreamModule>('nats', ['@nats-io/jetstream'])

/** Loads the client packages (once; a missing one is an Error naming it). */
export async function loadNatsClient(): Promise<NatsClientApi> {
  const core = await natsCore.load()
  // nats.js left the socket of a connect that timed out open for ever: see nats-transport.ts.
  const connect: Connect = (await socketReleasingConnect(core)) ?? ((options) => core.connect(options))
  return {
    connect: (options) => connect(options) as unknown as ReturnType<NatsClientApi['connect']>,
    headers: () => core.headers(),
    createInbox: () => core.createInbox(),
    credsAuthenticator: (creds) => core.credsAuthenticator(creds),
    jetstreamManager: async (nc, options) => {
      const js = await natsJetStream.load()
      return (await js.jetstreamManager(nc as never, options)) as unknown as Awaited<ReturnType<NatsClientApi['jetstreamManager']>>
    },
  }
}

/**
 * Publishes records to NATS: to JetStream by default (each record acknowledged, de-duplicated by its
 * identity within the stream's duplicate window), or as core NATS publishes.
 */
export class NatsSender extends QueuedSender {
  /** The servers, as messages show them (scheme, host and port: no credentials). */
  readonly endpoint: string
  /** The subject option in force. */
  readonly subject: string
  /** `jetstream` or `core`. */
  readonly mode: NatsMode
  readonly #sink: NatsSink

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: NatsSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(natsSenderOptionsSchema, options)
    const { servers, subject, subjectFallback, mode, missingStream, user, pass, token, credsFile, tls, connectionName, connectTimeoutMs, ...common } = options
    if ((mode ?? 'jetstream') === 'jetstream') natsBoth.check()
    else natsCore.check()
    const list = typeof servers === 'string' ? [servers] : servers
    const split = splitServers(list)
    // nats.js drops a URL's scheme: tls:// alone would connect in plain text (credentials and all) to
    // a server that offers no TLS. A `tls` option makes the client require it, of every server.
    const secure = list.filter((server) => parseServer(server)?.protocol === 'tls:').length
    if (secure > 0 && secure < list.length) {
      throw new ConfigError('pino-courier: invalid options: servers: mixes tls:// and nats:// servers: the client applies one TLS setting to all; use tls:// for all (or set tls)', {
        paths: ['servers'],
      })
    }
    const optionAuth = [user !== undefined && 'user', token !== undefined && 'token', credsFile !== undefined && 'credsFile'].filter(Boolean)
    if (optionAuth.length > 1) {
      throw new ConfigError(`pino-courier: invalid options: ${optionAuth[1]}: set one of user/pass, token and credsFile`, { paths: [String(optionAuth[1])] })
    }
    if (pass !== undefined && user === undefined) throw new ConfigError('pino-courier: invalid options: pass: a password needs a user', { paths: ['pass'] })
    if (optionAuth.length > 0 && (split.auth.user ?? split.auth.token) !== undefined) {
      throw new ConfigError(`pino-courier: invalid options: servers: credentials are both in a server URL and in ${optionAuth[0]}: give them once`, {
        paths: ['servers'],
      })
    }
    const auth: NatsAuth = optionAuth.length > 0 ? { user, pass, token, credsFile } : split.auth
    // Material that cannot work would fail every connect as a transient error, retried for ever.
    const tlsIssue = tls === undefined ? undefined : tlsProblem(tls)
    if (tlsIssue !== undefined) throw new ConfigError(`pino-courier: invalid options: ${tlsIssue.option}: ${tlsIssue.message}`, { paths: [tlsIssue.option] })
    if (credsFile !== undefined) {
      let problem: string | undefined
      try {
        problem = credsProblem(readFileSync(credsFile))
      } catch (error) {
        problem = `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`
      }
      if (problem !== undefined) throw new ConfigError(`pino-courier: invalid options: credsFile: ${problem}`, { paths: ['credsFile'] })
    }
    const fallback = subjectFallback ?? DEFAULT_SUBJECT_FALLBACK
    const template = SubjectTemplate.parse(subject, fallback) as SubjectTemplate
    const sink = new NatsSink({
      servers: split.urls,
      serverNames: split.names,
      subject: template,
      mode: mode ?? 'jetstream',
      missingStream: missingStream ?? 'fail',
      auth,
      tls: tls ?? (secure > 0 ? {} : undefined),
      connectionName: connectionName ?? DEFAULT_NATS_CONNECTION_NAME,
      connectTimeoutMs: connectTimeoutMs ?? DEFAULT_NATS_CONNECT_TIMEOUT_MS,
      fields: new RecordFields(context),
      load: loadNatsClient,
    })
    super(resolveSenderConfig(common, context, NATS_SENDER_DEFAULTS, 'nats'), sink, context)
    sink.ackTimeoutMs = Math.max(1, Math.floor(this.options.pool.timeoutMs * 0.9))
    this.#sink = sink
    this.endpoint = split.names
    this.subject = subject
    this.mode = mode ?? 'jetstream'
  }

  /** How long the PubAcks of a batch are waited for from its attempt's start: 90% of `pool.timeoutMs`. */
  get ackTimeoutMs(): number {
    return this.#sink.ackTimeoutMs
  }

  /** PubAcks that said `duplicate: true` (a record the stream had already, sent again): counted delivered. */
  get duplicates(): number {
    return this.#sink.duplicates
  }
}

/** `{ type: 'nats', servers, subject, … }` in the transport options. */
export const natsSinkType = defineSinkType({
  type: 'nats',
  schema: natsSenderOptionsSchema as unknown as z.ZodType<NatsSenderOptions>,
  defaults: NATS_SENDER_DEFAULTS,
  queued: true,
  create: (options: NatsSenderOptions, context) => new NatsSender(options, context, CHECKED),
})

/**
 * Creates a sender that publishes records to NATS (JetStream by default).
 * @example createNatsSender({ servers: 'nats://nats:4222', subject: 'logs.{service}.{level}' })
 * @example createNatsSender({ servers: ['nats://a:4222', 'nats://b:4222'], subject: 'logs.api', mode: 'core', token: process.env.NATS_TOKEN })
 */
export function createNatsSender(options: NatsSenderOptions, context?: SenderContext): NatsSender {
  return new NatsSender(options, context)
}
