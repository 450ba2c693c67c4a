import { readFile } from 'node:fs/promises'
import { DeliveryError } from '../../pool/delivery-error.js'
import type { NatsClientApi, NatsConnectionLike, NatsMode, NatsSinkOptions } from './nats-client.js'
import { classifyError, readPubAck, type ErrorOutcome, type PubAckAnswer } from './nats-errors.js'
import { credsProblem } from './nats-tls.js'

// One connection of the NATS sink: how it is opened (the client's options), the publishes waiting on
// it for their PubAcks, and what the server says about it (permission violations).

/** A publish waiting for its PubAck: its subject (a permission violation names it) and how to settle it. */
export interface Waiter {
  readonly subject: string
  settle(fate: PubAckAnswer): void
}

/**
 * The open connection and the publishes waiting on it. PubAcks come to one subscription per
 * connection (`<inbox>.*`), each to the reply subject its publish named (`<inbox>.<token>`).
 */
export interface Connection {
  readonly nc: NatsConnectionLike
  readonly inbox: string
  readonly waiting: Map<string, Waiter>
  next: number
  /** Core mode: subjects the server refused to take from us (permission violations), newest last. */
  readonly denied: { subject: string; seq: number }[]
  deniedSeq: number
}

/** The client's connect options: the sender's, with the client's own buffering, reconnection and output off. */
export async function clientOptions(sink: NatsSinkOptions, client: NatsClientApi): Promise<Record<string, unknown>> {
  const { auth, tls } = sink
  const options: Record<string, unknown> = {
    servers: [...sink.servers],
    name: sink.connectionName,
    // The engine retries, spools and counts; the client must neither buffer nor reconnect behind it.
    reconnect: false,
    maxReconnectAttempts: 0,
    timeout: sink.connectTimeoutMs,
    // A connection to a server that vanished without a reset is found dead within ~30 s (3 pings
    // unanswered 10 s apart), besides an attempt that gets no PubAck at all, which drops it at once.
    pingInterval: 10_000,
    maxPingOut: 3,
    debug: false,
    verbose: false,
    noAsyncTraces: true,
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
    // The client parses the file only inside its connect, and any failure there would be retried.
    const problem = credsProblem(creds)
    if (problem !== undefined) throw new DeliveryError(`NATS: credsFile ${problem}`, { permanent: true })
    const authenticator = client.credsAuthenticator(new Uint8Array(creds))
    try {
      if (typeof authenticator === 'function') (authenticator as (nonce: string) => unknown)('pino-courier')
    } catch {
      throw new DeliveryError('NATS: credsFile: its NKey seed does not decode', { permanent: true })
    }
    options.authenticator = authenticator
  }
  if (tls !== undefined) options.tls = { ...tls }
  return options
}

/** The connection's state; with JetStream, its one subscription collecting PubAcks (`<inbox>.*`). */
export function openConnection(nc: NatsConnectionLike, inbox: string, mode: NatsMode): Connection {
  const conn: Connection = { nc, inbox: inbox, waiting: new Map(), next: 0, denied: [], deniedSeq: 0 }
  if (mode === 'jetstream') {
    const skip = conn.inbox.length + 1
    nc.subscribe(`${conn.inbox}.*`, {
      callback: (error, msg) => {
        if (error !== null) return
        const token = msg.subject.slice(skip)
        const waiter = conn.waiting.get(token)
        if (waiter === undefined) return // late: its batch has given up on it
        conn.waiting.delete(token)
        waiter.settle(readPubAck(msg.data, msg.headers?.code, msg.headers?.description))
      },
    })
  }
  return conn
}

/** Settles every publish waiting on `conn` with `outcome` (those matching `only`, when given). */
export function settleAll(conn: Connection, outcome: ErrorOutcome, only?: (waiter: Waiter) => boolean): void {
  for (const [token, waiter] of conn.waiting) {
    if (only !== undefined && !only(waiter)) continue
    conn.waiting.delete(token)
    waiter.settle({ ok: false, outcome })
  }
}

/** A connect failure: auth refused is for good (the secret never shown), anything else is retried. */
export function connectError(error: unknown, options: Pick<NatsSinkOptions, 'serverNames' | 'connectTimeoutMs'>): DeliveryError {
  const outcome = classifyError(error)
  const where = options.serverNames
  if (outcome.kind === 'permanent') return new DeliveryError(`NATS ${where}: ${outcome.message}`, { permanent: true, cause: error })
  const reason = outcome.timeout === true ? `no answer within ${options.connectTimeoutMs} ms` : outcome.message.replace(/^connection lost: /, '')
  return new DeliveryError(`NATS ${where}: cannot connect: ${reason}`, { cause: error })
}

/**
 * The server refuses a publish it does not permit with an -ERR that the client reports only as a
 * status (no PubAck ever comes): the records of that subject fail for good. A subscription refused
 * on the reply subjects leaves every PubAck unread: every waiting record fails for good too.
 */
export async function watchPermissions(conn: Connection): Promise<void> {
  try {
    for await (const status of conn.nc.status()) {
      const error = status.error as { name?: unknown; operation?: unknown; subject?: unknown } | undefined
      if (status.type !== 'error' || error?.name !== 'PermissionViolationError' || typeof error.subject !== 'string') continue
      const subject = error.subject
      if (error.operation === 'publish') {
        conn.denied.push({ subject, seq: ++conn.deniedSeq })
        if (conn.denied.length > 100) conn.denied.splice(0, conn.denied.length - 100)
        const outcome: ErrorOutcome = { kind: 'permanent', message: `not permitted: the server refused a publish to '${subject}' (permissions violation)` }
        settleAll(conn, outcome, (waiter) => waiter.subject === subject)
      } else if (subject.startsWith(conn.inbox)) {
        const outcome: ErrorOutcome = {
          kind: 'permanent',
          message: `not permitted to subscribe to '${subject}', where PubAcks come: allow the user to subscribe to _INBOX.>`,
        }
        settleAll(conn, outcome)
      }
    }
  } catch {
    // The iterator ends (or throws) when the connection closes.
  }
}
