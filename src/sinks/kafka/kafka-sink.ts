import { recordLines } from '../ndjson.js'
import { abortable } from '../shared/abortable.js'
import type { LogRecord } from '../../input/record.js'
import { fieldValue, type FieldPath } from '../shared/field-path.js'
import { leadingTimeMs } from '../shared/record-fields.js'
import { setTimer } from '../../timers.js'
import { sendSplitting } from '../shared/request-splitter.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import { classifyKafkaError, kafkaDeliveryError, type FailureContext } from './kafka-errors.js'

/** A message as kafkajs takes it. */
export interface KafkaMessage {
  key: string | null
  value: Buffer | string
  /** Epoch ms as text; absent: kafkajs stamps the time of sending. */
  timestamp?: string
  headers?: Record<string, string>
}

/** What the sink needs of a kafkajs producer (a stub in unit tests). */
export interface KafkaProducer {
  connect(): Promise<void>
  send(record: { topic: string; acks: number; timeout: number; compression?: number; messages: KafkaMessage[] }): Promise<unknown>
  disconnect(): Promise<void>
}

/** Makes a producer (not connected yet): the sender's loads kafkajs on first use. */
export type ProducerFactory = () => Promise<KafkaProducer>

/** What the Kafka sink needs of the sender's options. */
export interface KafkaSinkOptions extends FailureContext {
  /** The record field whose value is the message key; none: every key is null. */
  readonly key: FieldPath | undefined
  /** kafkajs's numbers: -1 (all in-sync replicas), 1 (the leader), 0 (no answer at all). */
  readonly acks: -1 | 0 | 1
  /** How long the broker may wait for the replicas' acknowledgements (the produce request's `timeout`). */
  readonly ackTimeoutMs: number
  /** kafkajs's CompressionTypes number (0 none, 1 gzip). */
  readonly compression: number
  readonly headers: Readonly<Record<string, string>> | undefined
  readonly idHeader: string | undefined
  readonly maxMessageBytes: number
  /** kafkajs's idempotent producer: replaced after a failed send (see #afterFailedSend). */
  readonly idempotent: boolean
  /** Longest wait for the producer to disconnect on close. */
  readonly closeTimeoutMs: number
}

/** How much of a line is read for pino's leading time (`{"level":30,"time":1700000000000,`, or an ISO date). */
const TIME_HEAD_CHARS = 96

/**
 * Produces each batch to one Kafka topic as one `producer.send` (one produce request per leader
 * broker): each record's line as it came (without its newline) is the value, the key comes from a
 * record field, the timestamp from the record's time where pino wrote it at the head of the line.
 *
 * Outcomes. kafkajs answers for the batch as a whole: resolved means every partition's leader
 * acknowledged its records (with `acks: 'all'`, every in-sync replica); any failure fails the whole
 * send, and the engine retries the whole batch, so records some partition had already written are
 * written again (at least once, never lost while the engine retries). MESSAGE_TOO_LARGE and
 * RECORD_LIST_TOO_LARGE halve the batch until the parts fit; a single record still refused fails
 * for good. Records over `maxMessageBytes` are refused before sending. See kafka-errors.ts for the
 * rest.
 */
export class KafkaSink implements Sink {
  readonly #options: KafkaSinkOptions
  readonly #factory: ProducerFactory
  /** The producer once made, connected or connecting: what close() disconnects. */
  #producer: KafkaProducer | undefined
  #connecting: Promise<KafkaProducer> | undefined
  /** The connect under way that an attempt still waits for (cleared when an attempt gives up on it). */
  #connectToken: object | undefined
  #closed = false

  constructor(options: KafkaSinkOptions, factory: ProducerFactory) {
    this.#options = options
    this.#factory = factory
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    signal.throwIfAborted()
    const { messages, refused } = this.#messages(batch)
    if (messages.length === 0) return refused.length > 0 ? { rejected: refused } : undefined
    await this.#connectedWithin(signal)
    // Each part asks for the producer again: an idempotent one is replaced after a failed send.
    const result = await sendSplitting(messages.length, async (part) => this.#produce(await this.#connectedWithin(signal), messages, part, signal))
    if (!result && refused.length === 0) return undefined
    // The splitter's outcome is indexed in `messages`: back to the batch's indexes.
    const toBatch = (list: readonly RecordRejection[] | undefined): RecordRejection[] =>
      (list ?? []).flatMap((r) => {
        const message = messages[r.index]
        return message === undefined ? [] : [{ ...r, index: message.index }]
      })
    return { ...(result ?? {}), rejected: [...refused, ...toBatch(result?.rejected)], retry: toBatch(result?.retry) }
  }

  /** Disconnects the producer (bounded: a broker that is down must not hold close up). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    const producer = this.#producer
    this.#producer = undefined
    this.#connecting = undefined
    if (producer !== undefined) await bounded(producer.disconnect(), this.#options.closeTimeoutMs)
  }

  /**
   * The connected producer, within the attempt: connects on first use, again after a connect failed,
   * and again after a connect outlived an attempt (a connect that never ends must not hold every
   * later attempt: it is let go, and the next attempt starts afresh).
   */
  async #connectedWithin(signal: AbortSignal): Promise<KafkaProducer> {
    const connecting = this.#connected()
    try {
      return await abortable(connecting, signal)
    } catch (error) {
      if (signal.aborted && error === signal.reason && this.#connecting === connecting) {
        this.#connecting = undefined
        this.#connectToken = undefined
        const pending = this.#producer
        this.#producer = undefined
        if (pending !== undefined) void bounded(pending.disconnect(), this.#options.closeTimeoutMs)
      }
      throw error
    }
  }

  #connected(): Promise<KafkaProducer> {
    if (this.#connecting !== undefined) return this.#connecting
    const token = {}
    this.#connectToken = token
    const connecting: Promise<KafkaProducer> = this.#connect(token).catch((error: unknown) => {
      if (this.#connecting === connecting) this.#connecting = undefined
      throw kafkaDeliveryError(error, this.#options)
    })
    this.#connecting = connecting
    return connecting
  }

  /** `token`: this connect's; an attempt that gives up on it clears `#connectToken` (see #connectedWithin). */
  async #connect(token: object): Promise<KafkaProducer> {
    if (this.#closed) throw new Error('the kafka sender is closed')
    const producer = await this.#factory()
    // Given up on while kafkajs was loading or the producer was made: before it is ever the sink's
    // producer, or it would stay connected, unused and never disconnected once the next attempt makes its own.
    if (this.#closed || this.#connectToken !== token) {
      void bounded(producer.disconnect(), this.#options.closeTimeoutMs)
      throw new Error(this.#closed ? 'the kafka sender is closed' : 'connecting took longer than the attempt')
    }
    this.#producer = producer
    try {
      await producer.connect()
    } catch (error) {
      // kafkajs keeps a failed producer's sockets and timers: let it go, and make a new one next time.
      if (this.#producer === producer) this.#producer = undefined
      void bounded(producer.disconnect(), this.#options.closeTimeoutMs)
      throw error
    }
    // Closed, or given up on (see #connectedWithin), while connecting: close() or the attempt that
    // gave up disconnected it already; it is not used.
    if (this.#closed || this.#producer !== producer) {
      void bounded(producer.disconnect(), this.#options.closeTimeoutMs)
      throw new Error(this.#closed ? 'the kafka sender is closed' : 'connecting took longer than the attempt')
    }
    return producer
  }

  /** One send of the messages at `part` (indexes into `messages`). */
  async #produce(producer: KafkaProducer, messages: readonly Outgoing[], part: readonly number[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const { topic, acks, ackTimeoutMs, compression } = this.#options
    const record = { topic, acks, timeout: ackTimeoutMs, compression, messages: part.map((i) => (messages[i] as Outgoing).message) }
    try {
      // kafkajs cannot be told to stop: on a timeout or close the attempt ends here, and the send
      // may still complete in the background (a record written twice once the engine retries it).
      await abortable(producer.send(record), signal)
    } catch (error) {
      this.#afterFailedSend(producer)
      if (signal.aborted && error === signal.reason) throw error
      // The broker refuses a timestamp outside its window (message.timestamp.after.max.ms is one hour
      // by default since Kafka 4.0; before.max.ms when an operator sets it): one record with a clock
      // ahead, or a replay of old records, would fail the whole batch for good. Sent again, once,
      // without timestamps (kafkajs stamps the time of sending; the record's own time stays in its line).
      if (classifyKafkaError(error, this.#options).what !== 'INVALID_TIMESTAMP' || !record.messages.some((m) => m.timestamp !== undefined)) {
        throw kafkaDeliveryError(error, this.#options)
      }
      const untimed = { ...record, messages: record.messages.map(({ timestamp: _, ...message }) => message) }
      try {
        const again = this.#options.idempotent ? await this.#connectedWithin(signal) : producer
        try {
          await abortable(again.send(untimed), signal)
        } catch (error) {
          this.#afterFailedSend(again)
          throw error
        }
      } catch (again) {
        if (signal.aborted && again === signal.reason) throw again
        throw kafkaDeliveryError(again, this.#options)
      }
    }
  }

  /**
   * An idempotent producer is let go after any send that failed or was given up on, and the next
   * send connects a new one (a new producer id). kafkajs takes a failed send's sequence numbers
   * back, but the broker may have written that send (its answer timed out), or some partitions of
   * it (another partition refused its records): the next records would go out under sequence
   * numbers the broker already holds, and be taken for copies and dropped although acknowledged,
   * or refused OUT_OF_ORDER_SEQUENCE_NUMBER on every attempt after.
   */
  #afterFailedSend(producer: KafkaProducer): void {
    if (!this.#options.idempotent || this.#producer !== producer) return
    this.#producer = undefined
    this.#connecting = undefined
    void bounded(producer.disconnect(), this.#options.closeTimeoutMs)
  }

  /** The batch's records as messages, and the ones over maxMessageBytes, refused. */
  #messages(batch: Batch): { messages: Outgoing[]; refused: RecordRejection[] } {
    const { key, headers, idHeader, maxMessageBytes } = this.#options
    const records = key === undefined ? undefined : batch.records
    let values: (Buffer | string)[] = recordLines(batch, { copy: true })
    // A record made in-process from JSON with a raw newline in its whitespace would cut into two
    // values: the records' own lines then (they are at hand whenever a key is read).
    if (records !== undefined && values.length !== records.length) values = records.map((record) => record.line)
    const headerBytes = headers === undefined ? 0 : Object.entries(headers).reduce((sum, [n, v]) => sum + Buffer.byteLength(n) + Buffer.byteLength(v), 0)
    const messages: Outgoing[] = []
    const refused: RecordRejection[] = []
    for (let index = 0; index < values.length; index++) {
      const value = values[index] as Buffer | string
      const keyText = records === undefined ? null : keyOf((records[index] as LogRecord).value(), key as FieldPath)
      const id = idHeader === undefined ? undefined : batch.recordId?.(index)
      const bytes =
        byteLength(value) +
        (keyText === null ? 0 : Buffer.byteLength(keyText)) +
        headerBytes +
        (id === undefined ? 0 : Buffer.byteLength(idHeader as string) + id.length)
      if (bytes > maxMessageBytes) {
        refused.push({
          index,
          error: `record too large for Kafka: ${bytes} bytes (value, key and headers) is over maxMessageBytes (${maxMessageBytes}); not sent`,
        })
        continue
      }
      const message: KafkaMessage = { key: keyText, value }
      const time = timeOfLine(value)
      if (time !== undefined) message.timestamp = time
      if (headers !== undefined || id !== undefined) message.headers = id === undefined ? { ...headers } : { ...headers, [idHeader as string]: id }
      messages.push({ index, message })
    }
    return { messages, refused }
  }
}

/** A message to send, and the index of its record in the batch. */
interface Outgoing {
  readonly index: number
  readonly message: KafkaMessage
}

/**
 * The message key: the field's value, strings as they are, numbers and booleans as text, objects as
 * their JSON; null (no key) when the record has no such field or it is null.
 */
export function keyOf(value: Record<string, unknown>, key: FieldPath): string | null {
  const found = fieldValue(value, key)
  if (found === undefined || found === null) return null
  if (typeof found === 'string') return found
  if (typeof found === 'number' || typeof found === 'boolean' || typeof found === 'bigint') return String(found)
  try {
    return JSON.stringify(found) ?? null
  } catch {
    return null
  }
}

/** The record's time where pino wrote it at the head of the line, as kafkajs's timestamp text; else undefined. */
export function timeOfLine(value: Buffer | string): string | undefined {
  const head = typeof value === 'string' ? value.slice(0, TIME_HEAD_CHARS) : value.toString('latin1', 0, Math.min(value.length, TIME_HEAD_CHARS))
  const ms = leadingTimeMs(head, Number.NaN)
  return ms !== undefined && Number.isFinite(ms) ? String(Math.floor(ms)) : undefined
}

function byteLength(value: Buffer | string): number {
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

/** Waits for `promise` (its failure ignored) at most `ms`. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimer(resolve, ms)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
}
