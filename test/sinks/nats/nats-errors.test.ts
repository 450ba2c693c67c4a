/**
 * The mapping of the NATS client's errors to outcomes (nats-errors.ts), with the client's own error
 * classes built as the client builds them (the PubAck errors as nats-server 2.9 answers them).
 */
import { jserrors, JetStreamApiError } from '@nats-io/jetstream/internal'
import { errors } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { classifyError, isNoResponders, readPubAck, retryableStatus } from '../../../src/sinks/nats/nats-errors.js'

/** A PubAck error as the server answers it and the client throws it. */
function pubAckError(err_code: number, code: number, description: string): Error {
  return new JetStreamApiError({ err_code, code, description })
}

function noResponders(subject: string): Error {
  // What js.publish throws for a 503 status: JetStreamNotEnabled caused by a RequestError caused by NoRespondersError.
  const request = new errors.RequestError(`no responders: '${subject}'`, { cause: new errors.NoRespondersError(subject) })
  return new jserrors.JetStreamNotEnabled('jetstream is not enabled', { cause: request })
}

describe('classifyError', () => {
  it.each([
    [10077, 503, 'maximum messages exceeded', 'retry'],
    [10077, 503, 'maximum bytes exceeded', 'retry'],
    [10077, 503, 'maximum messages per subject exceeded', 'retry'],
    [10023, 503, 'insufficient resources', 'retry'],
    [10008, 503, 'JetStream system temporarily unavailable', 'retry'],
    [10054, 400, 'message size exceeds maximum allowed', 'permanent'],
    [10071, 400, 'wrong last sequence: 0', 'permanent'],
    [10164, 400, 'wrong last sequence', 'permanent'],
    [10060, 400, 'expected stream does not match', 'permanent'],
    [10070, 400, 'wrong last msg ID: x', 'permanent'],
    [99999, 429, 'rate limited', 'retry'],
    [99999, 408, 'request timeout', 'retry'],
  ])('a PubAck error %i (status %i) %s: %s', (code, status, description, kind) => {
    const outcome = classifyError(pubAckError(code, status, description))
    expect(outcome).toMatchObject({ kind, status, code })
    expect(outcome.message).toBe(`${description} (err_code ${code}, status ${status})`)
  })

  it('JetStream not enabled for the account (10039, which the client wraps in JetStreamNotEnabled) is retried by its status 503, not taken for no responders', () => {
    const api = pubAckError(10039, 503, 'jetstream not enabled for account')
    const error = new jserrors.JetStreamNotEnabled(api.message, { cause: api })
    expect(classifyError(error)).toMatchObject({ kind: 'retry', status: 503, code: 10039 })
  })

  it('no responders, in each form the client gives it, needs the API asked', () => {
    expect(classifyError(noResponders('logs.app'))).toMatchObject({ kind: 'no-responders' })
    expect(isNoResponders(noResponders('logs.app'))).toBe(true)
    expect(isNoResponders(new errors.RequestError('x', { cause: new errors.NoRespondersError('s') }))).toBe(true)
    expect(isNoResponders(new errors.TimeoutError())).toBe(false)
  })

  it('a timeout (no PubAck in time) is retried and marked as a timeout', () => {
    expect(classifyError(new errors.TimeoutError())).toMatchObject({ kind: 'retry', timeout: true })
    expect(classifyError(new errors.RequestError('timeout', { cause: new errors.TimeoutError() }))).toMatchObject({ kind: 'retry', timeout: true })
  })

  it('a lost connection is retried and the connection dropped', () => {
    expect(classifyError(new errors.ClosedConnectionError())).toMatchObject({ kind: 'retry', dropConnection: true })
    expect(classifyError(new errors.RequestError('connection disconnected'))).toMatchObject({ kind: 'retry', dropConnection: true })
    expect(classifyError(new errors.ConnectionError('connection refused'))).toMatchObject({ kind: 'retry', dropConnection: true })
    expect(classifyError(new errors.DrainingConnectionError())).toMatchObject({ kind: 'retry', dropConnection: true })
    expect(classifyError(new errors.ProtocolError('stale connection'))).toMatchObject({ kind: 'retry', dropConnection: true })
  })

  it('refused credentials are permanent; the connection is dropped', () => {
    expect(classifyError(new errors.AuthorizationError('Authorization Violation'))).toMatchObject({
      kind: 'permanent',
      message: 'the server refused the credentials: Authorization Violation',
      dropConnection: true,
    })
    expect(classifyError(new errors.UserAuthenticationExpiredError('User Authentication Expired'))).toMatchObject({ kind: 'permanent' })
  })

  it('a permission violation is permanent, alone or as the cause of a request error', () => {
    const violation = new errors.PermissionViolationError('Permissions Violation for Publish to "deny.a"', 'publish', 'deny.a')
    expect(classifyError(violation)).toMatchObject({ kind: 'permanent' })
    expect(classifyError(new errors.RequestError(violation.message, { cause: violation }))).toMatchObject({
      kind: 'permanent',
      message: 'not permitted: Permissions Violation for Publish to "deny.a"',
    })
  })

  it("the client's max_payload refusal and an invalid subject are permanent", () => {
    expect(classifyError(errors.InvalidArgumentError.format('payload', 'max_payload size exceeded'))).toMatchObject({ kind: 'permanent' })
    expect(classifyError(new errors.InvalidSubjectError('a b'))).toMatchObject({ kind: 'permanent' })
  })

  it('anything else is retried', () => {
    expect(classifyError(new Error('something odd'))).toMatchObject({ kind: 'retry', message: 'something odd' })
    expect(classifyError('a string')).toMatchObject({ kind: 'retry' })
  })

  it('retryableStatus: 5xx, 408 and 429', () => {
    expect([500, 503, 408, 429, 400, 404, 409].map(retryableStatus)).toEqual([true, true, true, true, false, false, false])
  })
})

describe('readPubAck', () => {
  const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value))

  it('a PubAck is delivered; duplicate: true says the stream had the record already', () => {
    expect(readPubAck(bytes({ stream: 'LOGS', seq: 7 }))).toEqual({ ok: true, duplicate: false })
    expect(readPubAck(bytes({ stream: 'LOGS', seq: 7, duplicate: true }))).toEqual({ ok: true, duplicate: true })
  })

  it('a JSON error is mapped by its status and err_code', () => {
    expect(readPubAck(bytes({ error: { code: 503, err_code: 10077, description: 'maximum messages exceeded' } }))).toEqual({
      ok: false,
      outcome: { kind: 'retry', message: 'maximum messages exceeded (err_code 10077, status 503)', status: 503, code: 10077 },
    })
    expect(readPubAck(bytes({ stream: 'LOGS', error: { code: 400, err_code: 10054, description: 'message size exceeds maximum allowed' } }))).toMatchObject({
      ok: false,
      outcome: { kind: 'permanent', status: 400, code: 10054 },
    })
  })

  it('a 503 status without a body is no responders; other statuses by their code', () => {
    expect(readPubAck(new Uint8Array(0), 503)).toMatchObject({ ok: false, outcome: { kind: 'no-responders' } })
    expect(readPubAck(new Uint8Array(0), 408, 'Request Timeout')).toMatchObject({ ok: false, outcome: { kind: 'retry', message: 'status 408 Request Timeout without a PubAck' } })
    expect(readPubAck(new Uint8Array(0), 400)).toMatchObject({ ok: false, outcome: { kind: 'permanent' } })
  })

  it('an answer that is not a PubAck is retried', () => {
    expect(readPubAck(Buffer.from('not json'))).toMatchObject({ ok: false, outcome: { kind: 'retry' } })
    expect(readPubAck(bytes({ stream: '' }))).toMatchObject({ ok: false, outcome: { kind: 'retry' } })
    expect(readPubAck(bytes(null))).toMatchObject({ ok: false, outcome: { kind: 'retry' } })
  })

  it('reads a payload that is a slice of a larger buffer', () => {
    const all = Buffer.from(`xx${JSON.stringify({ stream: 'S', seq: 1, duplicate: true })}yy`)
    expect(readPubAck(all.subarray(2, all.length - 2))).toEqual({ ok: true, duplicate: true })
  })
})
