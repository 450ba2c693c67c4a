import { DeliveryError } from '../../pool/delivery-error.js'
import { setTimer } from '../../timers.js'
import { recordLines } from '../ndjson.js'
import { abortable } from '../shared/abortable.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import type { NatsClientApi, NatsConnectionLike, NatsSinkOptions } from './nats-client.js'
import { clientOptions, connectError, openConnection, settleAll, watchPermissions, type Connection } from './nats-connection.js'
import { classifyError, type ErrorOutcome, type PubAckAnswer } from './nats-errors.js'

export type { MissingStreamPolicy, NatsAuth, NatsClientApi, NatsConnectionLike, NatsMode, NatsMsgLike, NatsSinkOptions, NatsTlsOptions } from './nats-client.js'

/** Fixed size of the `Nats-Msg-Id` header block: `NATS/1.0\r\n` `Nats-Msg-Id: ` id `\r\n\r\n`. */
const MSG_ID_HEADER_BYTES = 27

/** Longest wait of `close()` for the connection to close (it waits for nothing with the server gone). */
const CLOSE_TIMEOUT_MS = 2_000

/** How long PubAcks are waited for when the sender does not say (it sets 90% of the pool's `timeoutMs`). */
const DEFAULT_ACK_TIMEOUT_MS = 10_000

type Fate = PubAckAnswer

/**
 * Publishes each batch to NATS: with JetStream (the default) every record is a publish of its own
 * with `Nats-Msg-Id` set to the record's stable identity, all of a batch's publishes in flight at
 * once, then every PubAck awaited; records whose publish failed are named for a retry or refused for
 * good by the answer (nats-errors.ts). With core NATS, the batch is published and flushed (one round
 * trip): delivered means the server has read it.
 *
 * A JetStream publish is a request: the message names a reply subject, and the stream answers there.
 * The sink publishes with the client's core `publish` and reads the PubAcks on one subscription per
 * connection, as the Go client's PublishAsync does, rather than calling the JetStream client's
 * `publish` per record: that one makes a request object, a timer and (on every answer) an Error with
 * its stack per record, which took about as much CPU as everything else together (14k against 32k
 * records/s measured on this machine's nats-server 2.9). The batch has one deadline (`ackTimeoutMs`).
 *
 * One connection, made on first use and again after it closes: the client's own reconnection is off
 * (`reconnect: false`). The client buffers publishes made while it reconnects without any bound and
 * drops that buffer when it gets through, so records would wait in (and vanish from) a place the
 * engine cannot see; with a connection per outage they stay in the engine's bounded queue, spool and
 * retry schedule, and each attempt tries each server of the list once.
 */
export class NatsSink implements Sink {
  /**
   * How long the PubAcks of a batch are waited for, from the start of its attempt (the connect
   * included). The sender sets 90% of its pool's `timeoutMs`: the records acknowledged by then are
   * reported delivered and only the others are sent again, where the attempt's own time limit would
   * abort it whole.
   */
  ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS
  /** PubAcks that said `duplicate: true` (the stream had the record already): counted delivered. */
  duplicates = 0
  readonly #options: NatsSinkOptions
  #client: NatsClientApi | undefined
  #conn: Connection | undefined
  #jsm: ReturnType<NatsClientApi['jetstreamManager']> | undefined
  #connecting: Promise<Connection> | undefined
  #closing: Promise<void> | undefined

  constructor(options: NatsSinkOptions) {
    this.#options = options
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    signal.throwIfAborted()
    const deadline = Date.now() + this.ackTimeoutMs
    // Copied: a publish may still sit in the socket's buffer after an attempt that timed out.
    const payloads = recordLines(batch, { copy: true })
    const count = payloads.length
    if (count === 0) return
    const subjects = this.#subjects(batch, count)
    const conn = await abortable(this.#connection(), signal)
    const ids = Array.from({ length: count }, (_, i) => batch.recordId?.(i) ?? `${batch.id}:${i}`)
    const fates =
      this.#options.mode === 'core' ? await this.#publishCore(conn, payloads, subjects, ids, signal) : await this.#publishJetStream(conn, payloads, subjects, ids, signal, deadline)
    return this.#outcome(fates)
  }

  /** Closes the connection (once), within a bounded time, also when the server is gone. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const conn = this.#conn
    this.#conn = undefined
    // A connect still under way is closed as soon as it is made (#connect sees #closing).
    if (conn === undefined) return
    await withTimeout(
      conn.nc.close().catch(() => undefined),
      CLOSE_TIMEOUT_MS,
    )
  }

  /** The open connection, or a new one (one connect at a time, shared by concurrent attempts). */
  #connection(): Promise<Connection> {
    if (this.#closing !== undefined) return Promise.reject(new DeliveryError('NATS sender closed'))
    const conn = this.#conn
    if (conn !== undefined && !conn.nc.isClosed()) return Promise.resolve(conn)
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined))
    return this.#connecting
  }

  async #connect(): Promise<Connection> {
    const client = (this.#client ??= await this.#options.load())
    const options = await clientOptions(this.#options, client)
    let nc: NatsConnectionLike
    try {
      nc = await client.connect(options)
    } catch (error) {
      throw connectError(error, this.#options)
    }
    if (this.#closing !== undefined) {
      void nc.close().catch(() => undefined)
      throw new DeliveryError('NATS sender closed')
    }
    const conn = openConnection(nc, client.createInbox(), this.#options.mode)
    this.#conn = conn
    this.#jsm = undefined
    const lost = (): void => {
      if (this.#conn === conn) this.#conn = undefined
      settleAll(conn, { kind: 'retry', message: 'connection lost before the PubAck', dropConnection: true })
    }
    nc.closed().then(lost, lost)
    void watchPermissions(conn)
    return conn
  }

  /** Drops the connection: the next attempt makes a new one. */
  #drop(conn: Connection): void {
    if (this.#conn === conn) this.#conn = undefined
    void conn.nc.close().catch(() => undefined)
  }

  #subjects(batch: Batch, count: number): string[] {
    const { subject, fields } = this.#options
    if (subject.fixed) return new Array<string>(count).fill(subject.pattern)
    return batch.records.map((record) => subject.render(record, fields))
  }

  /** Refuses records over the server's max_payload without sending them (the client would refuse them too). */
  #oversize(nc: NatsConnectionLike, payload: Uint8Array, id: string | undefined): Fate | undefined {
    const max = nc.info?.max_payload
    if (max === undefined) return undefined
    const size = payload.length + (id === undefined ? 0 : MSG_ID_HEADER_BYTES + Buffer.byteLength(id))
    if (size <= max) return undefined
    const what = id === undefined ? '' : ` (${size} with its Nats-Msg-Id header)`
    return {
      ok: false,
      outcome: { kind: 'permanent', message: `record of ${payload.length} bytes${what} is over the server's max_payload of ${max} bytes: not sent` },
    }
  }

  async #publishJetStream(conn: Connection, payloads: Uint8Array[], subjects: string[], ids: string[], signal: AbortSignal, deadline: number): Promise<Fate[]> {
    const { nc } = conn
    const client = this.#client as NatsClientApi
    if (nc.info?.headers === false) {
      // nats.js would send the HPUB anyway, and the server close the connection on it: every attempt lost.
      throw new DeliveryError(
        `NATS ${this.#options.serverNames}: the server takes no message headers (headers: false in its INFO: no_header_support, or a server before 2.2); JetStream publishes need them (Nats-Msg-Id): enable them, or use mode: 'core'`,
        { permanent: true },
      )
    }
    const fates = new Array<Fate | undefined>(payloads.length)
    const tokens: string[] = []
    let left = 0
    let acks = 0
    let allIn!: () => void
    const answered = new Promise<void>((resolve) => (allIn = resolve))
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Uint8Array
      const id = ids[i] as string
      const oversize = this.#oversize(nc, payload, id)
      if (oversize !== undefined) {
        fates[i] = oversize
        continue
      }
      const subject = subjects[i] as string
      const token = (conn.next++).toString(36)
      left++
      tokens.push(token)
      conn.waiting.set(token, {
        subject,
        settle: (fate) => {
          if (fates[i] !== undefined) return
          fates[i] = fate
          if (fate.ok) acks++
          if (--left === 0) allIn()
        },
      })
      const headers = client.headers()
      headers.set('Nats-Msg-Id', id)
      try {
        nc.publish(subject, payload, { headers, reply: `${conn.inbox}.${token}` })
      } catch (error) {
        conn.waiting.get(token)?.settle({ ok: false, outcome: classifyError(error) })
        conn.waiting.delete(token)
      }
    }
    if (left === 0) allIn()
    let timer: NodeJS.Timeout | undefined
    const outOfTime = new Promise<void>((resolve) => {
      timer = setTimer(resolve, Math.max(1, deadline - Date.now()))
    })
    try {
      await abortable(Promise.race([answered, outOfTime]), signal)
    } catch (error) {
      // Out of time with no PubAck at all: the connection may be dead without having noticed.
      if (acks === 0) this.#drop(conn)
      throw error
    } finally {
      clearTimeout(timer)
      // PubAcks that come after this are for nobody (the records go again, de-duplicated by their ids).
      for (const token of tokens) conn.waiting.delete(token)
    }
    const late: ErrorOutcome = { kind: 'retry', message: `no PubAck within ${this.ackTimeoutMs} ms of the attempt's start`, timeout: true }
    let timedOut = false
    let drop = false
    for (let i = 0; i < fates.length; i++) {
      const fate = fates[i]
      if (fate === undefined) {
        fates[i] = { ok: false, outcome: late }
        timedOut = true
      } else if (!fate.ok && fate.outcome.dropConnection === true) drop = true
    }
    if (drop || (timedOut && acks === 0)) this.#drop(conn)
    const settled = fates as Fate[]
    await this.#explainNoResponders(conn, settled, subjects, signal)
    for (const fate of settled) if (fate.ok && fate.duplicate) this.duplicates++
    return settled
  }

  /**
   * JetStream answers "no responders" both for a subject no stream captures and while it is not
   * ready (starting after a restart, a cluster without a meta leader, not enabled on the server).
   * The JetStream API tells the two apart, once per subject: it answers "no stream matches" when
   * JetStream is up, and does not answer otherwise.
   */
  async #explainNoResponders(conn: Connection, fates: Fate[], subjects: string[], signal: AbortSignal): Promise<void> {
    const asked = new Map<string, Promise<ErrorOutcome>>()
    for (let i = 0; i < fates.length; i++) {
      const fate = fates[i] as Fate
      if (fate.ok || fate.outcome.kind !== 'no-responders') continue
      const subject = subjects[i] as string
      let answer = asked.get(subject)
      if (answer === undefined) asked.set(subject, (answer = this.#askStream(conn.nc, subject)))
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
      // Not knowing whether a stream is missing or JetStream is not ready, the records wait (retried).
      if (outcome.kind === 'permanent') {
        const message = `no responders for '${subject}', and JetStream's API could not tell why (${outcome.message}): the user needs publish permission on $JS.API.STREAM.NAMES`
        return { kind: 'retry', message, status: 503 }
      }
      return { kind: 'retry', message: `JetStream is not answering (starting after a restart, or not enabled on the server): no responders for '${subject}'`, status: 503 }
    }
  }

  async #publishCore(conn: Connection, payloads: Uint8Array[], subjects: string[], ids: string[], signal: AbortSignal): Promise<Fate[]> {
    const { nc } = conn
    const client = this.#client as NatsClientApi
    const fates = new Array<Fate>(payloads.length)
    const before = conn.deniedSeq
    // A server that takes no headers closes the connection on a publish with them: none is sent then.
    const withHeaders = nc.info?.headers !== false
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Uint8Array
      const id = withHeaders ? (ids[i] as string) : undefined
      const oversize = this.#oversize(nc, payload, id)
      if (oversize !== undefined) {
        fates[i] = oversize
        continue
      }
      let headers: ReturnType<NatsClientApi['headers']> | undefined
      if (id !== undefined) {
        headers = client.headers()
        headers.set('Nats-Msg-Id', id)
      }
      try {
        nc.publish(subjects[i] as string, payload, headers === undefined ? undefined : { headers })
        fates[i] = { ok: true, duplicate: false }
      } catch (error) {
        const outcome = classifyError(error)
        // A closed connection refuses every publish: the whole batch is tried again.
        if (outcome.kind !== 'permanent') {
          this.#drop(conn)
          throw new DeliveryError(`NATS ${this.#options.serverNames}: ${outcome.message}`, { cause: error })
        }
        fates[i] = { ok: false, outcome }
      }
    }
    const lost = Symbol('lost')
    try {
      // The server answers the PING after it has read every publish before it: a round trip. With
      // reconnection off, nats.js closes a lost connection without settling a flush under way.
      const closed = nc.closed().then(
        () => lost,
        () => lost,
      )
      const answer = await abortable(Promise.race([nc.flush(), closed]), signal)
      if (answer === lost) throw lost
    } catch (error) {
      this.#drop(conn)
      if (signal.aborted) throw error
      if (error === lost) throw new DeliveryError(`NATS ${this.#options.serverNames}: connection lost before the server confirmed the batch`)
      throw new DeliveryError(`NATS ${this.#options.serverNames}: ${classifyError(error).message} (before the server confirmed the batch)`, { cause: error })
    }
    // A refused publish arrives as an -ERR before the flush's PONG; let the status reader see it.
    await new Promise((resolve) => setImmediate(resolve))
    const denied = new Set(conn.denied.filter((entry) => entry.seq > before).map((entry) => entry.subject))
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

/** A subject pattern a stream could capture it with: its first token and `>`. */
function wildcardOf(subject: string): string {
  const dot = subject.indexOf('.')
  return dot === -1 ? subject : `${subject.slice(0, dot)}.>`
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
