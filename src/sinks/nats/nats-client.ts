import type { RecordFields } from '../shared/record-fields.js'
import type { SubjectTemplate } from './nats-subject.js'

// The part of the NATS client (and of the sender's resolved options) the sink relies on: what a test
// stub implements, kept apart from how the sink uses it.

/** `jetstream`: each record acknowledged by a PubAck. `core`: published and flushed, no acknowledgement. */
export type NatsMode = 'jetstream' | 'core'

/** What a record published to a subject no stream captures becomes: failed for good, or retried. */
export type MissingStreamPolicy = 'fail' | 'retry'

/** TLS options, passed to the client as they are (file paths are read by the client). */
export interface NatsTlsOptions {
  /** CA certificate(s) to trust, PEM (or `caFile`). */
  ca?: string
  caFile?: string
  /** Client certificate, PEM (or `certFile`), for servers that verify clients. */
  cert?: string
  certFile?: string
  key?: string
  keyFile?: string
  /** `false` accepts any server certificate (tests only). @default true */
  rejectUnauthorized?: boolean
  /** TLS before the server's INFO (servers configured with `handshake_first`). @default false */
  handshakeFirst?: boolean
}

/** Credentials, from the options or from the servers' URLs. */
export interface NatsAuth {
  user?: string | undefined
  pass?: string | undefined
  token?: string | undefined
  /** A `.creds` file (JWT and NKey seed), read at each connect. */
  credsFile?: string | undefined
}

/** A message the sink receives: a PubAck, or a status without a body. */
export interface NatsMsgLike {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers?: { readonly code: number; readonly description: string } | undefined
}

/** The part of a NATS connection the sink uses (the client's NatsConnection has it all). */
export interface NatsConnectionLike {
  /** The server's INFO: `headers` is false on a server that takes no message headers (`no_header_support`, before 2.2). */
  readonly info?: { readonly max_payload: number; readonly headers?: boolean } | undefined
  publish(subject: string, payload: Uint8Array, options?: { headers?: unknown; reply?: string }): void
  subscribe(subject: string, options: { callback: (error: Error | null, msg: NatsMsgLike) => void }): unknown
  flush(): Promise<void>
  close(): Promise<void>
  closed(): Promise<void | Error>
  isClosed(): boolean
  status(): AsyncIterable<{ type: string; error?: unknown }>
}

/** The client functions the sink calls: the real packages, or a stub in tests. */
export interface NatsClientApi {
  connect(options: Record<string, unknown>): Promise<NatsConnectionLike>
  headers(): { set(name: string, value: string): void }
  /** A unique reply subject prefix (`_INBOX.<nuid>`). */
  createInbox(): string
  credsAuthenticator(creds: Uint8Array): unknown
  jetstreamManager(nc: NatsConnectionLike, options: { checkAPI: boolean; timeout?: number }): Promise<{ streams: { find(subject: string): Promise<string> } }>
}

/** What the sink needs of the sender's options (checked already). */
export interface NatsSinkOptions {
  /** Server URLs without credentials (`nats://host:4222`, `tls://host:4222`). */
  servers: readonly string[]
  /** The same, as messages may show them (scheme, host and port). */
  serverNames: string
  subject: SubjectTemplate
  mode: NatsMode
  missingStream: MissingStreamPolicy
  auth: NatsAuth
  tls?: NatsTlsOptions | undefined
  connectionName: string
  connectTimeoutMs: number
  fields: RecordFields
  /** Loads the client (the optional peers) once. */
  load: () => Promise<NatsClientApi>
}
