/**
 * What each error of the NATS client means for a record: sent again (`retry`), refused for good
 * (`permanent`), or "no responders", which needs a question to the JetStream API before it means
 * anything (see nats-sink.ts). Errors are read by their `name` (the client sets one on every class),
 * since the client is an optional peer loaded on first use and its classes are not imported here.
 *
 * | error                                                        | outcome                       |
 * |--------------------------------------------------------------|-------------------------------|
 * | no responders (JetStreamNotEnabled, RequestError 503)        | `no-responders`: ask the API  |
 * | a 503 status message with no body (the server's "no responders") | `no-responders`: ask the API |
 * | PubAck error, status 5xx / 408 / 429 (10077 stream full with discard new: "maximum messages/bytes exceeded"; 10023 insufficient resources; 10008 cluster not available; 10039 JetStream not enabled for the account) | `retry` |
 * | PubAck error, other 4xx (10054 message over the stream's max_msg_size; 10071 / 10164 wrong last sequence; 10060 / 10070 other expectations) | `permanent` |
 * | the client's max_payload refusal (InvalidArgumentError 'payload') | `permanent` (nothing sent) |
 * | InvalidSubjectError                                          | `permanent`                   |
 * | PermissionViolationError (alone or as a cause)               | `permanent`                   |
 * | AuthorizationError, UserAuthenticationExpiredError           | `permanent`, connection dropped |
 * | TimeoutError (no PubAck in time)                             | `retry`, connection dropped if no ack came at all |
 * | ClosedConnectionError, ConnectionError, RequestError "connection disconnected", DrainingConnectionError, ProtocolError | `retry`, connection dropped |
 * | anything else                                                | `retry`                       |
 */

/** What to do with a record whose publish failed with some error. */
export interface ErrorOutcome {
  readonly kind: 'retry' | 'permanent' | 'no-responders'
  /** Why, without credentials (the client's messages hold none: servers as host:port, subjects). */
  readonly message: string
  /** The PubAck error's status (HTTP-like: 400, 503), when there is one. */
  readonly status?: number
  /** The JetStream error code (`err_code`: 10077), when there is one. */
  readonly code?: number
  /** The connection is broken or refused us: make a new one for the next attempt. */
  readonly dropConnection?: boolean
  /** No answer in time: with no PubAck at all in the attempt, the connection is dropped too. */
  readonly timeout?: boolean
}

interface NamedError {
  name?: unknown
  message?: unknown
  cause?: unknown
  code?: unknown
  status?: unknown
}

/** The error and its causes, outermost first (at most 5 deep). */
function chain(error: unknown): NamedError[] {
  const out: NamedError[] = []
  let current: unknown = error
  while (typeof current === 'object' && current !== null && out.length < 5) {
    out.push(current as NamedError)
    current = (current as NamedError).cause
  }
  return out
}

function named(error: unknown, name: string): NamedError | undefined {
  return chain(error).find((e) => e.name === name)
}

function text(error: NamedError | undefined): string {
  return typeof error?.message === 'string' && error.message !== '' ? error.message : String(error?.name ?? 'error')
}

/** True for the client's "no responders" in any of its forms. */
export function isNoResponders(error: unknown): boolean {
  return chain(error).some(
    (e) => e.name === 'JetStreamNotEnabled' || e.name === 'NoResponders' || e.name === 'NoRespondersError' || /no responders/i.test(String(e.message)),
  )
}

/** Whether a JetStream API error's status (its `code`: 400, 404, 503) is worth another attempt. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

/** A JetStream API error (`{ code, err_code, description }`) as an outcome: retried by its status. */
export function apiErrorOutcome(status: number, code: number | undefined, description: string): ErrorOutcome {
  const message = `${description} (${code === undefined ? '' : `err_code ${code}, `}status ${status})`
  return { kind: retryableStatus(status) ? 'retry' : 'permanent', message, status, ...(code === undefined ? {} : { code }) }
}

/** What a JetStream publish answered: its PubAck, or why it did not store the message. */
export type PubAckAnswer = { readonly ok: true; readonly duplicate: boolean } | { readonly ok: false; readonly outcome: ErrorOutcome }

/**
 * Reads the answer to a JetStream publish, as the server sends it to the publish's reply subject: a
 * PubAck (`{"stream":"LOGS","seq":7,"duplicate":true}`), a JSON error (`{"error":{"code":503,
 * "err_code":10077,"description":"maximum messages exceeded"}}`), or a status message without a body
 * (`NATS/1.0 503`: no responders).
 */
export function readPubAck(data: Uint8Array, status?: number, statusText?: string): PubAckAnswer {
  if (data.length === 0) {
    if (status === 503) return { ok: false, outcome: { kind: 'no-responders', message: 'no responders', status: 503 } }
    const code = status ?? 0
    return { ok: false, outcome: { kind: code === 0 || retryableStatus(code) ? 'retry' : 'permanent', message: `status ${code}${statusText ? ` ${statusText}` : ''} without a PubAck`, ...(code === 0 ? {} : { status: code }) } }
  }
  let answer: { stream?: unknown; duplicate?: unknown; error?: { code?: unknown; err_code?: unknown; description?: unknown } }
  try {
    answer = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as typeof answer
  } catch {
    return { ok: false, outcome: { kind: 'retry', message: 'an answer that is not a PubAck (not JSON)' } }
  }
  const error = answer?.error
  if (typeof error === 'object' && error !== null) {
    const code = typeof error.code === 'number' ? error.code : 500
    return { ok: false, outcome: apiErrorOutcome(code, typeof error.err_code === 'number' ? error.err_code : undefined, String(error.description ?? 'error')) }
  }
  if (typeof answer?.stream !== 'string' || answer.stream === '') return { ok: false, outcome: { kind: 'retry', message: 'an answer that is not a PubAck (no stream)' } }
  return { ok: true, duplicate: answer.duplicate === true }
}

/** Maps an error of one record's publish (or of a whole core batch) to what happens to it. */
export function classifyError(error: unknown): ErrorOutcome {
  const api = chain(error).find((e) => e.name === 'JetStreamApiError' || (typeof e.status === 'number' && typeof e.code === 'number'))
  if (api !== undefined && typeof api.status === 'number') {
    const status = api.status
    return apiErrorOutcome(status, typeof api.code === 'number' ? api.code : undefined, text(api))
  }
  if (isNoResponders(error)) return { kind: 'no-responders', message: 'no responders', status: 503 }
  const permission = named(error, 'PermissionViolationError')
  if (permission !== undefined) return { kind: 'permanent', message: `not permitted: ${text(permission)}` }
  for (const name of ['AuthorizationError', 'UserAuthenticationExpiredError']) {
    const auth = named(error, name)
    if (auth !== undefined) return { kind: 'permanent', message: `the server refused the credentials: ${text(auth)}`, dropConnection: true }
  }
  const argument = named(error, 'InvalidArgumentError')
  if (argument !== undefined) return { kind: 'permanent', message: text(argument) }
  const subject = named(error, 'InvalidSubjectError')
  if (subject !== undefined) return { kind: 'permanent', message: text(subject) }
  const timeout = named(error, 'TimeoutError')
  if (timeout !== undefined) return { kind: 'retry', message: 'no PubAck in time (timeout)', timeout: true }
  for (const name of ['ClosedConnectionError', 'ConnectionError', 'DrainingConnectionError', 'ProtocolError', 'RequestError']) {
    const broken = named(error, name)
    if (broken !== undefined) return { kind: 'retry', message: `connection lost: ${text(broken)}`, dropConnection: true }
  }
  return { kind: 'retry', message: text(chain(error)[0] ?? { message: String(error) }) }
}
