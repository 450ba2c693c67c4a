/**
 * How kafkajs's errors map to the engine's outcomes, with kafkajs's own error classes built as
 * kafkajs builds them (a protocol error wrapped in KafkaJSNumberOfRetriesExceeded or
 * KafkaJSNonRetriableError when its retries end), since a real broker cannot be made to answer most
 * of these here (librdkafka's mock cluster auto-creates any topic and checks no ACL or size).
 */
import kafkajs from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { DeliveryError } from '../../../src/pool/delivery-error.js'
import { secretNeedles } from '../../../src/sinks/http/redact.js'
import { classifyKafkaError, errorChain, kafkaDeliveryError, type FailureContext } from '../../../src/sinks/kafka/kafka-errors.js'
import { TOO_LARGE } from '../../../src/sinks/shared/request-splitter.js'

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError, KafkaJSConnectionError, KafkaJSRequestTimeoutError, KafkaJSSASLAuthenticationError } =
  kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>

/** A protocol error as kafkajs's createErrorFromCode makes it. */
function protocol(type: string, code: number, retriable: boolean, message = `broker says ${type}`): Error {
  return new (KafkaJSProtocolError as new (e: object) => Error)({ type, code, retriable, message })
}

/** What kafkajs's retrier throws once its retries are used up. */
function exhausted(error: Error): Error {
  return new (KafkaJSNumberOfRetriesExceeded as new (e: Error, o: object) => Error)(error, { retryCount: 2, retryTime: 400 })
}

const context: FailureContext = {
  topic: 'logs',
  brokers: ['kafka-1:9092', 'kafka-2:9092'],
  allowAutoTopicCreation: true,
  secrets: secretNeedles(['s3cr3t-passw0rd']),
}

describe('classifyKafkaError', () => {
  it.each([
    ['TOPIC_AUTHORIZATION_FAILED', 29],
    ['CLUSTER_AUTHORIZATION_FAILED', 31],
    ['INVALID_TOPIC_EXCEPTION', 17],
    ['INVALID_REQUIRED_ACKS', 21],
    ['UNSUPPORTED_COMPRESSION_TYPE', 76],
    ['POLICY_VIOLATION', 44],
    ['INVALID_RECORD', 87],
    ['SASL_AUTHENTICATION_FAILED', 58],
  ])('%s is permanent, bare or wrapped', (type, code) => {
    const bare = protocol(type, code, false)
    expect(classifyKafkaError(bare, context)).toMatchObject({ kind: 'permanent', what: type })
    const wrapped = new (KafkaJSNonRetriableError as new (e: Error, o: object) => Error)(bare, { cause: bare })
    expect(classifyKafkaError(wrapped, context)).toMatchObject({ kind: 'permanent', what: type })
  })

  it.each([
    ['NOT_LEADER_FOR_PARTITION', 6],
    ['LEADER_NOT_AVAILABLE', 5],
    ['REQUEST_TIMED_OUT', 7],
    ['NOT_ENOUGH_REPLICAS', 19],
    ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', 20],
    ['NETWORK_EXCEPTION', 13],
    ['UNKNOWN_SERVER_ERROR', -1],
  ])('%s is retried once kafkajs gave up on it', (type, code) => {
    expect(classifyKafkaError(exhausted(protocol(type, code, true)), context)).toMatchObject({ kind: 'transient', what: type })
  })

  it('connection errors, closed connections and request timeouts are retried, with the innermost message', () => {
    const refused = new (KafkaJSConnectionError as new (m: string, o: object) => Error)('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
      broker: '127.0.0.1:9092',
      code: 'ECONNREFUSED',
    })
    expect(classifyKafkaError(exhausted(refused), context)).toEqual({
      kind: 'transient',
      what: 'KafkaJSConnectionError',
      message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
    })
    const timedOut = new (KafkaJSRequestTimeoutError as new (m: string) => Error)('Request Produce(key: 0, version: 7) timed out')
    expect(classifyKafkaError(timedOut, context)).toMatchObject({ kind: 'transient', what: 'KafkaJSRequestTimeoutError' })
    expect(classifyKafkaError(new Error('socket hang up'), context)).toMatchObject({ kind: 'transient' })
    expect(classifyKafkaError('a string', context)).toMatchObject({ kind: 'transient', message: 'a string' })
  })

  it('MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE ask for a split, however deep', () => {
    expect(classifyKafkaError(protocol('MESSAGE_TOO_LARGE', 10, false), context).kind).toBe('too-large')
    expect(classifyKafkaError(exhausted(protocol('RECORD_LIST_TOO_LARGE', 18, false)), context).kind).toBe('too-large')
  })

  it('a SASL authentication failure (kafkajs class) is permanent', () => {
    const error = new (KafkaJSSASLAuthenticationError as new (m: string) => Error)('SASL PLAIN authentication failed: Authentication failed')
    expect(classifyKafkaError(error, context)).toMatchObject({ kind: 'permanent', what: 'SASL authentication failed' })
  })

  it('UNKNOWN_TOPIC_OR_PARTITION is retried while auto-creation is allowed, permanent when it is not', () => {
    const unknown = exhausted(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3, true))
    expect(classifyKafkaError(unknown, context).kind).toBe('transient')
    expect(classifyKafkaError(unknown, { ...context, allowAutoTopicCreation: false }).kind).toBe('permanent')
  })

  it('follows originalError and cause, and stops on a cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown }
    const b = new Error('b') as Error & { cause?: unknown }
    a.cause = b
    b.cause = a
    expect(errorChain(a)).toEqual([a, b])
  })
})

describe('kafkaDeliveryError', () => {
  it('names the topic and brokers, and never a secret the error carries', () => {
    const error = kafkaDeliveryError(
      new (KafkaJSSASLAuthenticationError as new (m: string) => Error)('SASL PLAIN authentication failed for password s3cr3t-passw0rd'),
      context,
    )
    expect(error).toBeInstanceOf(DeliveryError)
    expect(error.permanent).toBe(true)
    expect(error.message).toContain("topic 'logs' at kafka-1:9092,kafka-2:9092")
    expect(error.message).not.toContain('s3cr3t-passw0rd')
    expect(error.cause).toBeUndefined()
  })

  it('too large: status 413 (the splitter halves the batch); transient: not permanent', () => {
    expect(kafkaDeliveryError(protocol('MESSAGE_TOO_LARGE', 10, false), context)).toMatchObject({ status: TOO_LARGE, permanent: true })
    expect(kafkaDeliveryError(exhausted(protocol('NOT_LEADER_FOR_PARTITION', 6, true)), context)).toMatchObject({ permanent: false, status: undefined })
  })

  it('says what to do about an unknown topic and a refused one', () => {
    expect(kafkaDeliveryError(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3, true), { ...context, allowAutoTopicCreation: false }).message).toMatch(
      /does not exist and allowAutoTopicCreation is false: create it/,
    )
    expect(kafkaDeliveryError(protocol('TOPIC_AUTHORIZATION_FAILED', 29, false), context).message).toMatch(/check its ACLs/)
  })
})
