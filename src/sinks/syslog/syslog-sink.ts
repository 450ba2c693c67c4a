import type { LogRecord } from '../../input/record.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import type { RecordFields } from '../shared/record-fields.js'
import { SyslogDatagrams } from './syslog-datagram.js'
import { framed, SyslogEncoder, type EncoderOptions, type OversizePolicy, type SyslogFraming } from './syslog-format.js'
import { SyslogStream, type SyslogTlsOptions } from './syslog-stream.js'

/** The transport a `url` names. */
export type SyslogTransport = 'udp' | 'tcp' | 'tls'

/** What the syslog sink needs, checked and resolved by the sender. */
export interface SyslogSinkOptions {
  readonly transport: SyslogTransport
  readonly host: string
  readonly port: number
  /** `udp://host:port` and the like, for messages. */
  readonly origin: string
  readonly framing: SyslogFraming
  readonly oversize: OversizePolicy
  readonly tls: SyslogTlsOptions | undefined
  readonly encoder: Omit<EncoderOptions, 'escapeLf'>
}

/**
 * Sends batches to a syslog receiver: over TCP or TLS as one write of all the batch's framed messages
 * on one persistent connection, over UDP as one datagram per message. Messages longer than
 * `maxMessageBytes` are cut to fit and counted (the sender's `truncated` stat), or refused for good
 * (`oversize: 'reject'`).
 */
export class SyslogSink implements Sink {
  readonly #options: SyslogSinkOptions
  readonly #encoder: SyslogEncoder
  readonly #stream: SyslogStream | undefined
  readonly #datagrams: SyslogDatagrams | undefined

  constructor(options: SyslogSinkOptions, fields: RecordFields) {
    this.#options = options
    const escapeLf = options.transport !== 'udp' && options.framing === 'lf'
    this.#encoder = new SyslogEncoder({ ...options.encoder, escapeLf }, fields)
    const { host, port, origin } = options
    if (options.transport === 'udp') this.#datagrams = new SyslogDatagrams({ host, port, origin })
    else this.#stream = new SyslogStream({ host, port, origin, tls: options.transport === 'tls' ? (options.tls ?? {}) : undefined })
  }

  /** Connections opened so far over TCP or TLS (0 over UDP). */
  get connections(): number {
    return this.#stream?.connections ?? 0
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    const messages: Buffer[] = []
    /** The batch index of each message. */
    const indexes: number[] = []
    const rejected: RecordRejection[] = []
    let truncated = 0
    const { records } = batch
    const max = this.#options.encoder.maxMessageBytes
    for (let i = 0; i < records.length; i++) {
      const message = this.#encoder.encode(records[i] as LogRecord)
      if (message.originalBytes !== undefined) {
        if (this.#options.oversize === 'reject') {
          rejected.push({ index: i, error: `syslog message of ${message.originalBytes} bytes is longer than maxMessageBytes (${max})` })
          continue
        }
        truncated++
      }
      messages.push(message.bytes)
      indexes.push(i)
    }
    if (messages.length > 0) {
      if (this.#datagrams) {
        const { tooLarge } = await this.#datagrams.send(messages, signal)
        for (const k of tooLarge) {
          rejected.push({ index: indexes[k] as number, error: `syslog datagram of ${(messages[k] as Buffer).length} bytes refused by the kernel (EMSGSIZE)` })
        }
      } else {
        const parts: Buffer[] = []
        for (const message of messages) parts.push(...framed(message, this.#options.framing))
        await (this.#stream as SyslogStream).write(Buffer.concat(parts), signal)
      }
    }
    // The engine counts the cuts (the sender's `truncated` stat) only for an attempt that resolves, so
    // that a batch tried again does not count them twice.
    if (rejected.length === 0) return truncated > 0 ? { truncatedCount: truncated } : undefined
    return { rejected: rejected.sort((a, b) => a.index - b.index), ...(truncated > 0 ? { truncatedCount: truncated } : {}) }
  }

  async close(): Promise<void> {
    await Promise.all([this.#stream?.close(), this.#datagrams?.close()])
  }
}
