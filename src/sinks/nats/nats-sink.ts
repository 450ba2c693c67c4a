import { readFile } from 'node:fs/promises'
import { DeliveryError } from '../../pool/delivery-error.js'
import { setTimer } from '../../timers.js'
import type { RecordFields } from '../shared/record-fields.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import { classifyError, type ErrorOutcome } from './nats-errors.js'
import type { SubjectTemplate } from './nats-subject.js'

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

/** The part of a NATS connection the sink uses (the client's NatsConnection has it all). */
export interface NatsConnectionLike {
  readonly info?: { readonly max_payload: number } | undefined
  publish(subject: string, payload: Uint8Array, options?: { headers?: unknown }): void
  flush(): Promise<void>
  close(): Promise<void>
  closed(): Promise<void | Error>
  isClosed(): boolean
  status(): AsyncIterable<{ type: string; error?: unknown }>
}

/** A PubAck: which stream stored the message, and whether it had it already (same `Nats-Msg-Id`). */
export interface PubAckLike {
  readonly stream: string
  readonly seq: number
  readonly duplicate: boolean
}

/** The client functions the sink calls: the real packages, or a stub in tests. */
export interface NatsClientApi {
  connect(options: Record<string, unknown>): Promise<NatsConnectionLike>
  headers(): { set(name: string, value: string): void }
  credsAuthenticator(creds: Uint8Array): unknown
  jetstream(nc: NatsConnectionLike, options?: { timeout?: number }): {
    publish(subject: string, payload: Uint8Array, options: { msgID: string; timeout: number; headers?: unknown }): Promise<PubAckLike>
  }
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

/** Fixed size of the `Nats-Msg-Id` header block: `NATS/1.0\r\n` `Nats-Msg-Id: ` id `\r\n\r\n`. */
const MSG_ID_HEADER_BYTES = 27

/** Longest wait of `close()` for the connection to close (it waits for nothing with the server gone). */
const CLOSE_TIMEOUT_MS = 2_000

/** How long a PubAck is waited for when the sender does not say (it sets the pool's `timeoutMs`). */
const DEFAULT_ACK_TIMEOUT_MS = 10_000

type JetStreamLike = ReturnType<NatsClientApi['jetstream']>

type Fate = { ok: true; duplicate: boolean } | { ok: false; outcome: ErrorOutcome }

/**
 * Publishes each batch to NATS: with JetStream (the default) every record is a publish of its own
 * with `Nats-Msg-Id` set to the record's stable identity, all of a batch's publishes in flight at
 * once, then every PubAck awaited; records whose publish failed are named for a retry or refused for
 * good by the error (nats-errors.ts). With core NATS, the batch is published and flushed (one round
 * trip): delivered means the server has read it.
 *
 * One connection, made on first use and again after it closes: the client's own reconnection is off
 * (`reconnect: false`). The client buffers publishes made while it reconnects without any bound and
 * drops that buffer when it gets through, so records would wait in (and vanish from) a place the
 * engine cannot see; with a connection per outage they stay in the engine's bounded queue, spool and
 * retry schedule, and each attempt tries each server of the list once.
 */
export class NatsSink implements Sink {
  /** How long a PubAck is waited for: the sender sets its pool's `timeoutMs`. */
  ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS
  /** PubAcks that said `duplicate: true` (the stream had the record already): counted delivered. */
  duplicates = 0
  readonly #options: NatsSinkOptions
  #client: NatsClientApi | undefined
  #nc: NatsConnectionLike | undefined
  #js: JetStreamLike | undefined
  #jsm: ReturnType<NatsClientApi['jetstreamManager']> | undefined
  #connecting: Promise<NatsConnectionLike> | undefined
  #closing: Promise<void> | undefined
  /** Core mode: subjects the server refused to take from us (permission violations), with when. */
  readonly #denied: { subject: string; seq: number }[] = []
  #deniedSeq = 0

  constructor(options: NatsSinkOptions) {
    this.#options = options
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    signal.throwIfAborted()
    const payloads = payloadsOf(batch)
    const count = payloads.length
    if (count === 0) return
    const subjects = this.#subjects(batch, count)
    const nc = await abortable(this.#connection(), signal)
    const ids = Array.from({ length: count }, (_, i) => batch.recordId?.(i) ?? `${batch.id}:${i}`)
    const fates = this.#options.mode === 'core' ? await this.#publishCore(nc, payloads, subjects, ids, signal) : await this.#publishJetStream(nc, payloads, subjects, ids, signal)
    return this.#outcome(fates)
  }

  /** Closes the connection (once), within a bounded time, also when the server is gone. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const nc = this.#nc
    this.#nc = undefined
    // A connect still under way is closed as soon as it is made (#connect sees #closing).
    if (nc === undefined) return
    await withTimeout(
      nc.close().catch(() => undefined),
      CLOSE_TIMEOUT_MS,
    )
  }

  /** The open connection, or a new one (one connect at a time, shared by concurrent attempts). */
  #connection(): Promise<NatsConnectionLike> {
    if (this.#closing !== undefined) return Promise.reject(new DeliveryError('NATS sender closed'))
    const nc = this.#nc
    if (nc !== undefined && !nc.isClosed()) return Promise.resolve(nc)
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined))
    return this.#connecting
  }

  async #connect(): Promise<NatsConnectionLike> {
    const client = (this.#client ??= await this.#options.load())
    const { auth, tls } = this.#options
    const options: Record<string, unknown> = {
      servers: [...this.#options.servers],
      name: this.#options.connectionName,
      // The engine retries, spools and counts; the client must neither buffer nor reconnect behind it.
      reconnect: false,
      maxReconnectAttempts: 0,
      timeout: this.#options.connectTimeoutMs,
      // A connection to a server that vanished without a reset is found dead within ~30 s (3 pings
      // unanswered 10 s apart), besides an attempt that gets no PubAck at all, which drops it at once.
      pingInterval: 10_000,
      maxPingOut: 3,
      debug: false,
      verbose: false,
      noAsyncTraces: true,
      noEcho: true,
    }
    if (auth.user !== undefined) options.user = auth.user
    if (auth.pass !== undefined) options.pass = auth.pass
    if (auth.token !== undefined) options.token = auth.token
    if (auth.credsFile !== undefined) {
      let creds: Buffer
      try {
        creds = await readFile(auth.credsFile)
      } catch (error) {
        throw new DeliveryError(`NATS: cannot read credsFile: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { permanent: true })
      }
      options.authenticator = client.credsAuthenticator(new Uint8Array(creds))
    }
    if (tls !== undefined) options.tls = { ...tls }
    let nc: NatsConnectionLike
    try {
      nc = await client.connect(options)
    } catch (error) {
      throw this.#connectError(error)
    }
    if (this.#closing !== undefined) {
      void nc.close().catch(() => undefined)
      throw new DeliveryError('NATS sender closed')
    }
    this.#nc = nc
    this.#js = client.jetstream(nc, { timeout: this.ackTimeoutMs })
    this.#jsm = undefined
    const forget = (): void => {
      if (this.#nc === nc) this.#nc = undefined
    }
    nc.closed().then(forget, forget)
    if (this.#options.mode === 'core') void this.#watchPermissions(nc)
    return nc
  }

  /** A connect failure: auth refused is for good (the secret never shown), anything else is retried. */
  #connectError(error: unknown): DeliveryError {
    const outcome = classifyError(error)
    const where = this.#options.serverNames
    if (outcome.kind === 'permanent') return new DeliveryError(`NATS ${where}: ${outcome.message}`, { permanent: true, cause: error })
    const reason = outcome.message.replace(/^connection lost: /, '')
    return new DeliveryError(`NATS ${where}: cannot connect: ${reason}`, { cause: error })
  }

  /** Drops the connection: the next attempt makes a new one. */
  #drop(nc: NatsConnectionLike): void {
    if (this.#nc === nc) this.#nc = undefined
    void nc.close().catch(() => undefined)
  }

  /** Core mode: the server refuses a publish it does not permit with an -ERR the client only reports as a status. */
  async #watchPermissions(nc: NatsConnectionLike): Promise<void> {
    try {
      for await (const status of nc.status()) {
        const error = status.error as { name?: unknown; operation?: unknown; subject?: unknown } | undefined
        if (status.type !== 'error' || error?.name !== 'PermissionViolationError' || error.operation !== 'publish') continue
        if (typeof error.subject !== 'string') continue
        this.#denied.push({ subject: error.subject, seq: ++this.#deniedSeq })
        if (this.#denied.length > 100) this.#denied.splice(0, this.#denied.length - 100)
      }
    } catch {
      // The iterator ends (or throws) when the connection closes.
    }
  }

  #subjects(batch: Batch, count: number): string[] {
    const { subject, fields } = this.#options
    if (subject.fixed) return new Array<string>(count).fill(subject.pattern)
    return batch.records.map((record) => subject.render(record, fields))
  }

  /** Refuses records over the server's max_payload without sending them (the client would refuse them too). */
  #oversize(nc: NatsConnectionLike, payload: Uint8Array, id: string): Fate | undefined {
    const max = nc.info?.max_payload
    if (max === undefined) return undefined
    const size = payload.length + MSG_ID_HEADER_BYTES + Buffer.byteLength(id)
    if (size <= max) return undefined
    return {
      ok: false,
      outcome: {
        kind: 'permanent',
        message: `record of ${payload.length} bytes (${size} with its Nats-Msg-Id header) is over the server's max_payload of ${max} bytes: not sent`,
      },
    }
  }

  async #publishJetStream(nc: NatsConnectionLike, payloads: Uint8Array[], subjects: string[], ids: string[], signal: AbortSignal): Promise<Fate[]> {
    const js = this.#js as JetStreamLike
    const fates = new Array<Fate>(payloads.length)
    let acks = 0
    const pending: Promise<void>[] = []
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Uint8Array
      const id = ids[i] as string
      const oversize = this.#oversize(nc, payload, id)
      if (oversize !== undefined) {
        fates[i] = oversize
        continue
      }
      pending.push(
        js.publish(subjects[i] as string, payload, { msgID: id, timeout: this.ackTimeoutMs }).then(
          (ack) => {
            acks++
            fates[i] = { ok: true, duplicate: ack.duplicate }
          },
          (error: unknown) => {
            fates[i] = { ok: false, outcome: classifyError(error) }
          },
        ),
      )
    }
    try {
      await abortable(Promise.all(pending), signal)
    } catch (error) {
      // Out of time with no PubAck at all: the connection may be dead without having noticed.
      if (acks === 0) this.#drop(nc)
      throw error
    }
    let drop = false
    for (const fate of fates) if (!fate.ok && fate.outcome.dropConnection === true) drop = true
    if (drop || (acks === 0 && fates.some((fate) => !fate.ok && fate.outcome.timeout === true))) this.#drop(nc)
    await this.#explainNoResponders(nc, fates, subjects, signal)
    for (const fate of fates) if (fate.ok && fate.duplicate) this.duplicates++
    return fates
  }

  /**
   * JetStream answers "no responders" both for a subject no stream captures and while it is not
   * ready (starting after a restart, a cluster without a meta leader, not enabled on the server).
   * The JetStream API tells the two apart, once per subject: it answers "no stream matches" when
   * JetStream is up, and does not answer otherwise.
   */
  async #explainNoResponders(nc: NatsConnectionLike, fates: Fate[], subjects: string[], signal: AbortSignal): Promise<void> {
    const asked = new Map<string, Promise<ErrorOutcome>>()
    for (let i = 0; i < fates.length; i++) {
      const fate = fates[i] as Fate
      if (fate.ok || fate.outcome.kind !== 'no-responders') continue
      const subject = subjects[i] as string
      let answer = asked.get(subject)
      if (answer === undefined) asked.set(subject, (answer = this.#askStream(nc, subject)))
      fates[i] = { ok: false, outcome: await abortable(answer, signal) }
    }
  }

  async #askStream(nc: NatsConnectionLike, subject: string): Promise<ErrorOutcome> {
    const client = this.#client as NatsClientApi
    try {
      this.#jsm ??= client.jetstreamManager(nc, { checkAPI: false, timeout: Math.min(this.ackTimeoutMs, 5_000) })
      const stream = await (await this.#jsm).streams.find(subject)
      return { kind: 'retry', message: `no responders for '${subject}', though stream ${stream} captures it (created just now?)`, status: 503 }
    } catch (error) {
      this.#jsm = undefined
      const api = error as { name?: unknown; code?: unknown }
      if (api.name === 'StreamNotFoundError' || api.code === 10059) {
        const message = `no JetStream stream captures subject '${subject}': create a stream capturing it (e.g. nats stream add LOGS --subjects '${wildcardOf(subject)}')`
        return { kind: this.#options.missingStream === 'retry' ? 'retry' : 'permanent', message, status: 404, code: 10059 }
      }
      const outcome = classifyError(error)
      if (outcome.kind === 'permanent') return outcome
      return { kind: 'retry', message: `JetStream is not answering (starting after a restart, or not enabled on the server): no responders for '${subject}'`, status: 503 }
    }
  }

  async #publishCore(nc: NatsConnectionLike, payloads: Uint8Array[], subjects: string[], ids: string[], signal: AbortSignal): Promise<Fate[]> {
    const client = this.#client as NatsClientApi
    const fates = new Array<Fate>(payloads.length)
    const before = this.#deniedSeq
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Uint8Array
      const id = ids[i] as string
      const oversize = this.#oversize(nc, payload, id)
      if (oversize !== undefined) {
        fates[i] = oversize
        continue
      }
      const headers = client.headers()
      headers.set('Nats-Msg-Id', id)
      try {
        nc.publish(subjects[i] as string, payload, { headers })
        fates[i] = { ok: true, duplicate: false }
      } catch (error) {
        const outcome = classifyError(error)
        // A closed connection refuses every publish: the whole batch is tried again.
        if (outcome.kind !== 'permanent') {
          this.#drop(nc)
          throw new DeliveryError(`NATS ${this.#options.serverNames}: ${outcome.message}`, { cause: error })
        }
        fates[i] = { ok: false, outcome }
      }
    }
    try {
      // The server answers the PING after it has read every publish before it: a round trip.
      await abortable(nc.flush(), signal)
    } catch (error) {
      this.#drop(nc)
      if (signal.aborted) throw error
      throw new DeliveryError(`NATS ${this.#options.serverNames}: ${classifyError(error).message} (before the server confirmed the batch)`, { cause: error })
    }
    // A refused publish arrives as an -ERR before the flush's PONG; let the status reader see it.
    await new Promise((resolve) => setImmediate(resolve))
    const denied = new Set(this.#denied.filter((entry) => entry.seq > before).map((entry) => entry.subject))
    if (denied.size > 0) {
      for (let i = 0; i < fates.length; i++) {
        if (fates[i]?.ok === true && denied.has(subjects[i] as string)) {
          fates[i] = { ok: false, outcome: { kind: 'permanent', message: `not permitted: the server refused a publish to '${subjects[i]}' (permissions violation)` } }
        }
      }
    }
    return fates
  }

  /** Resolves (all delivered), resolves with a partial outcome, or rejects when all share one failure. */
  #outcome(fates: Fate[]): void | DeliveryResult {
    const rejected: RecordRejection[] = []
    const retry: RecordRejection[] = []
    for (let i = 0; i < fates.length; i++) {
      const fate = fates[i] as Fate
      if (fate.ok) continue
      const entry: RecordRejection = { index: i, error: fate.outcome.message, ...(fate.outcome.status === undefined ? {} : { status: fate.outcome.status }) }
      if (fate.outcome.kind === 'permanent') rejected.push(entry)
      else retry.push(entry)
    }
    const where = this.#options.serverNames
    if (retry.length === fates.length) {
      const first = retry[0] as RecordRejection
      throw new DeliveryError(`NATS ${where}: ${first.error ?? 'publish failed'}${fates.length > 1 ? ` (all ${fates.length} records)` : ''}`, {
        status: first.status,
      })
    }
    if (rejected.length === fates.length && new Set(rejected.map((r) => r.error)).size === 1) {
      const first = rejected[0] as RecordRejection
      throw new DeliveryError(`NATS ${where}: ${first.error ?? 'refused'}${fates.length > 1 ? ` (all ${fates.length} records)` : ''}`, {
        permanent: true,
        status: first.status,
      })
    }
    if (rejected.length === 0 && retry.length === 0) return
    return { ...(rejected.length > 0 ? { rejected } : {}), ...(retry.length > 0 ? { retry } : {}) }
  }
}

/**
 * Each record's line (without its newline) as a payload. The engine's slices are valid only until the
 * attempt settles, and a publish may still sit in the socket's buffer after that (an attempt that
 * timed out), so they are copied: once, into one buffer for the batch.
 */
function payloadsOf(batch: Batch): Uint8Array[] {
  const chunks = batch.ndjson?.()
  if (chunks === undefined) return batch.records.map((record) => Buffer.from(record.line))
  // Chunks are runs of consecutive lines, each line ending in a newline (never inside a JSON line).
  const all = Buffer.concat(chunks)
  const out: Uint8Array[] = []
  let at = 0
  while (at < all.length) {
    let end = all.indexOf(10, at)
    if (end === -1) end = all.length
    out.push(all.subarray(at, end))
    at = end + 1
  }
  return out
}

/** A subject pattern a stream could capture it with: its first token and `>`. */
function wildcardOf(subject: string): string {
  const dot = subject.indexOf('.')
  return dot === -1 ? subject : `${subject.slice(0, dot)}.>`
}

/** `promise`, or the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(signal.reason as Error)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimer(resolve, ms)
    timer.unref()
    promise.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      },
    )
  })
}
