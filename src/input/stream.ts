import { EventEmitter } from 'node:events'
import { z } from 'zod'
import { ConfigError } from '../config/config-error.js'
import { DEFAULT_LEVELS, LevelMap } from '../config/levels.js'
import { courierOptionsShape, senderSpecSchema, type SenderSpec, type TransportOptions } from '../config/transport-options.js'
import { QueuedSender } from '../senders/queued-sender.js'
import type { Sender, SenderContext } from '../senders/sender.js'
import { createBuiltinSender, prefixed } from '../sinks/registry.js'
import type { CourierWarning } from '../stats/warner.js'
import { assembleCourier, senderContext, tellClose, type CourierSettings } from './assemble.js'
import type { Courier, CourierCloseReport, CourierStats } from './courier.js'
import { metricsOptionsSchema } from '../metrics/metrics-options.js'
import { startCourierMetrics, type MetricsServer } from '../metrics/metrics-server.js'
import { writeStderr } from '../stderr.js'

/** Options of {@link createCourierStream}. */
export interface CourierStreamOptions extends Omit<TransportOptions, 'senders' | 'statsIntervalMs'> {
  /** Sender instances, or specs of built-in senders (`http`, `file`, `webhook`) as in the transport options. */
  senders: (Sender | Exclude<SenderSpec, { type: 'module' }>)[]
  /** The logger's custom levels (`customLevels`), added to pino's defaults. @default {} */
  customLevels?: Record<string, number>
  /** The logger's `messageKey`. @default 'msg' */
  messageKey?: string
  /** The logger's `errorKey` (read by the webhook alert sender). @default 'err' */
  errorKey?: string
  /** Called with every throttled warning (besides stderr, unless `stderr: false`). */
  onWarning?: (warning: CourierWarning) => void
}

// statsIntervalMs is the transport's (it posts stats to the main thread); here stats() is at hand.
const { statsIntervalMs: _statsIntervalMs, ...streamCourierShape } = courierOptionsShape

const streamOptionsSchema = z.strictObject({
  ...streamCourierShape,
  senders: z.array(z.unknown()).min(1, 'at least one sender is needed'),
  customLevels: z.record(z.string(), z.number().int()).optional(),
  messageKey: z.string().min(1).optional(),
  errorKey: z.string().min(1).optional(),
  onWarning: z.function().optional(),
  metrics: metricsOptionsSchema.optional(),
})

/** A built-in sender from its spec (`module` senders are for the transport). */
function builtinSender(entry: unknown, index: number, context: SenderContext): Sender {
  const spec = senderSpecSchema.safeParse(entry)
  if (!spec.success) throw ConfigError.fromZod(spec.error, `senders[${index}]`, senderSpecSchema, entry)
  if (spec.data.type === 'module') {
    throw new ConfigError(
      `pino-courier: invalid options: senders[${index}].type: "module" senders are for the transport; pass a Sender instance here`,
      { paths: [`senders[${index}].type`] },
    )
  }
  try {
    return createBuiltinSender(spec.data, context)
  } catch (error) {
    throw prefixed(error, `senders[${index}]`)
  }
}

function isSender(value: unknown): value is Sender {
  const v = value as Partial<Sender> | null
  return typeof v === 'object' && v !== null && typeof v.send === 'function' && typeof v.close === 'function'
}

/** Events of a {@link CourierStream}. */
export interface CourierStreamEvents {
  warning: [warning: CourierWarning]
  close: [report: CourierCloseReport]
  /** Once, when the `metrics` endpoint listens. */
  metrics: [address: { url: string }]
}

/**
 * A pino destination stream running the senders in this thread: `pino(opts, createCourierStream(...))`.
 * `write` only queues; delivery happens in the background on the event loop.
 */
export class CourierStream extends EventEmitter<CourierStreamEvents> {
  readonly #courier: Courier
  readonly #settings: CourierSettings
  #partial = ''
  #closing: Promise<CourierCloseReport> | undefined
  /** The metrics endpoint starting or started (undefined without the `metrics` option). */
  readonly #metrics: Promise<MetricsServer> | undefined
  #metricsUrl: string | undefined

  constructor(options: CourierStreamOptions) {
    super()
    const parsed = streamOptionsSchema.safeParse(options)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error, '', streamOptionsSchema, options)
    const logger = {
      levels: new LevelMap({ ...DEFAULT_LEVELS, ...options.customLevels }),
      messageKey: options.messageKey,
      errorKey: options.errorKey,
    }
    const context = senderContext(options, logger)
    const senders = options.senders.map((entry, index) => (isSender(entry) ? entry : builtinSender(entry, index, context)))
    senders.forEach((sender, index) => {
      if (sender instanceof QueuedSender && sender.options.queue.overflow === 'block') {
        throw new ConfigError(
          `pino-courier: invalid options: senders[${index}].queue.overflow: "block" needs the worker transport (pino does not wait for an in-process stream)`,
          { paths: [`senders[${index}].queue.overflow`] },
        )
      }
    })
    this.#settings = options
    this.#courier = assembleCourier(senders, options, logger, context, (warning) => {
      options.onWarning?.(warning)
      this.emit('warning', warning)
    })
    if (options.metrics) {
      const courier = this.#courier
      this.#metrics = startCourierMetrics(options.metrics, () => courier)
      this.#metrics.then(
        (server) => {
          this.#metricsUrl = server.url
          this.emit('metrics', { url: server.url })
        },
        // The stream goes on delivering; metricsReady() rejects with the error.
        (error: unknown) => {
          if (options.stderr !== false) writeStderr(error instanceof Error ? error.message : String(error))
        },
      )
    }
  }

  /**
   * The metrics endpoint's address (`http://127.0.0.1:9464/metrics`), once it listens; undefined
   * before that and without the `metrics` option.
   */
  get metricsUrl(): string | undefined {
    return this.#metricsUrl
  }

  /**
   * Resolves with the metrics endpoint's address once it listens (undefined without the `metrics`
   * option); rejects with an error naming `metrics.port` when it cannot listen (a port in use).
   */
  async metricsReady(): Promise<string | undefined> {
    return (await this.#metrics)?.url
  }

  /**
   * Always true: write() never throws (after close it counts records as dropped `closed`). pino
   * recognises a destination passed alone, `pino(stream)`, only by a truthy `writable` (or
   * `_writableState`); without it pino would take the stream for its options.
   */
  get writable(): boolean {
    return true
  }

  /** The senders, in the order given. */
  get senders(): readonly Sender[] {
    return this.#courier.senders
  }

  /** Accepts one or more NDJSON lines (pino writes one line with its newline per call). Never throws. */
  write(chunk: string | Uint8Array): boolean {
    let text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (this.#partial) {
      text = this.#partial + text
      this.#partial = ''
    }
    let start = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.#courier.write(text.slice(start, nl))
      start = nl + 1
    }
    if (start < text.length) this.#partial = text.slice(start)
    return true
  }

  /**
   * Resolves when every line written so far has been delivered, failed or dropped. pino's
   * `logger.flush(cb)` calls it with a callback.
   */
  flush(cb?: (err?: Error | null) => void): Promise<void> {
    const done = this.#courier.flush()
    if (cb) done.then(() => cb(null), cb)
    return done
  }

  /** Delivers what it can within `closeTimeoutMs`, then reports. Idempotent. */
  close(): Promise<CourierCloseReport> {
    return (this.#closing ??= this.#close())
  }

  /** Same as close(), stream-style. */
  end(cb?: () => void): this {
    void this.close().then(() => cb?.())
    return this
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  stats(): CourierStats {
    return this.#courier.stats()
  }

  async #close(): Promise<CourierCloseReport> {
    if (this.#partial) {
      // A last line without its newline is still a line.
      this.#courier.write(this.#partial)
      this.#partial = ''
    }
    const report = await this.#courier.close()
    await this.#metrics?.then((server) => server.close(), () => undefined)
    tellClose(report, this.#settings)
    this.emit('close', report)
    return report
  }
}

/**
 * Creates an in-process destination for `pino(options, stream)`, with the same senders, queue and
 * stats as the transport but no worker thread.
 * @example
 * const stream = createCourierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:8080/logs' }] })
 * const logger = pino(stream)
 * // at shutdown: await stream.close()
 */
export function createCourierStream(options: CourierStreamOptions): CourierStream {
  return new CourierStream(options)
}
