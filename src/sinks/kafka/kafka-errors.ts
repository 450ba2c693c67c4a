import { DeliveryError } from '../../pool/delivery-error.js'
import { redactText, type SecretNeedle } from '../http/redact.js'
import { TOO_LARGE } from '../shared/request-splitter.js'

/**
 * Kafka error codes (as kafkajs names them in `KafkaJSProtocolError.type`) that sending the same
 * records again cannot fix: the topic's name or the producer's rights or settings are wrong, or the
 * broker refuses the records as such. Every other code (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE,
 * REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, UNKNOWN_SERVER_ERROR, …) is retried.
 */
export const PERMANENT_KAFKA_ERRORS: ReadonlySet<string> = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_VERSION',
  'POLICY_VIOLATION',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
])

/** The broker finds the records (a record batch, or the whole request) over its size limit: split the batch. */
export const TOO_LARGE_KAFKA_ERRORS: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/** kafkajs error classes that mean "the credentials were refused". */
const AUTH_ERROR_NAMES: ReadonlySet<string> = new Set(['KafkaJSSASLAuthenticationError'])

/** What a delivery failure was, told from a kafkajs error (duck-typed: `name`, `type`, `originalError`, `cause`). */
export interface KafkaFailure {
  /** `too-large`: split the batch; `permanent`: fail the records for good; `transient`: retry. */
  readonly kind: 'too-large' | 'permanent' | 'transient'
  /** The Kafka error code's name (`TOPIC_AUTHORIZATION_FAILED`), or the kafkajs class name. */
  readonly what: string
  /** The innermost error's message. */
  readonly message: string
}

/** What the mapping needs to know of the sender. */
export interface FailureContext {
  readonly topic: string
  /** The bootstrap brokers as given (host:port, never a credential). */
  readonly brokers: readonly string[]
  /**
   * False when the producer must not create the topic: an UNKNOWN_TOPIC_OR_PARTITION that outlived
   * kafkajs's own retries is then permanent (the topic does not exist). With auto-creation on, it is
   * retried (the topic is being created), and fails when the engine's retries run out.
   */
  readonly allowAutoTopicCreation: boolean
  /** SASL password, TLS key passphrase…: cut out of every message. */
  readonly secrets: readonly SecretNeedle[]
}

/**
 * Classifies a kafkajs error. kafkajs wraps what went wrong: `KafkaJSNumberOfRetriesExceeded` and
 * `KafkaJSNonRetriableError` carry it as `originalError` (and `cause`); the chain is searched for
 * a Kafka error code (`type`) or an authentication failure.
 */
export function classifyKafkaError(error: unknown, context: Pick<FailureContext, 'allowAutoTopicCreation'>): KafkaFailure {
  const chain = errorChain(error)
  const innermost = chain[chain.length - 1]
  const message = messageOf(innermost ?? error)
  for (const link of chain) {
    const type = stringField(link, 'type')
    if (type !== undefined && TOO_LARGE_KAFKA_ERRORS.has(type)) return { kind: 'too-large', what: type, message }
  }
  for (const link of chain) {
    const name = stringField(link, 'name')
    if (name !== undefined && AUTH_ERROR_NAMES.has(name)) return { kind: 'permanent', what: 'SASL authentication failed', message: messageOf(link) }
    const type = stringField(link, 'type')
    if (type === undefined) continue
    if (PERMANENT_KAFKA_ERRORS.has(type)) return { kind: 'permanent', what: type, message: messageOf(link) }
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION' && !context.allowAutoTopicCreation) {
      return { kind: 'permanent', what: type, message: messageOf(link) }
    }
  }
  const typed = chain.map((link) => stringField(link, 'type')).find((type) => type !== undefined)
  return { kind: 'transient', what: typed ?? stringField(innermost, 'name') ?? 'Error', message }
}

/**
 * The DeliveryError the engine gets for a kafkajs error: permanent (dead-lettered, never retried),
 * too large (status 413, which the request splitter halves), or transient (retried with backoff).
 * The message names the topic and the brokers, never a credential.
 */
export function kafkaDeliveryError(error: unknown, context: FailureContext): DeliveryError {
  const failure = classifyKafkaError(error, context)
  const where = `topic '${context.topic}' at ${context.brokers.join(',')}`
  const hint =
    failure.what === 'UNKNOWN_TOPIC_OR_PARTITION'
      ? ' (the topic does not exist and allowAutoTopicCreation is false: create it)'
      : failure.what === 'TOPIC_AUTHORIZATION_FAILED'
        ? ' (the producer may not write to this topic: check its ACLs)'
        : ''
  const text = redactText(`kafka ${failure.what} producing to ${where}: ${failure.message}${hint}`, context.secrets)
  if (failure.kind === 'too-large') return new DeliveryError(text, { status: TOO_LARGE, permanent: true })
  return new DeliveryError(text, { permanent: failure.kind === 'permanent' })
}

/** The error, then what it wraps (`originalError`, then `cause`), outermost first; at most 8 deep. */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = []
  let at: unknown = error
  while (at !== undefined && at !== null && chain.length < 8 && !chain.includes(at)) {
    chain.push(at)
    if (typeof at !== 'object') break
    const inner = (at as { originalError?: unknown }).originalError ?? (at as { cause?: unknown }).cause
    at = inner
  }
  return chain
}

function stringField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const found = (value as Record<string, unknown>)[field]
  return typeof found === 'string' ? found : undefined
}

function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message
  return stringField(value, 'message') ?? String(value)
}
