import type { Transform } from 'node:stream'
import { parentPort, workerData } from 'node:worker_threads'
import build from 'pino-abstract-transport'
import { closeReportNeedsTelling, Courier, describeCloseReport } from './courier.js'
import { LevelMap } from './levels.js'
import { deliveryDefaults, parseTransportOptions, type TransportOptions } from './options.js'
import { RecordParser } from './record.js'
import { errorMessage } from './senders/queued-sender.js'
import { createSenders } from './sender-factory.js'
import { writeStderr } from './stderr.js'

/** Names of the events the transport posts to the main thread (`transport.on(name, listener)`). */
export const TRANSPORT_EVENTS = Object.freeze({
  /** `CourierStats`, every `statsIntervalMs` and once at close. */
  stats: 'courier:stats',
  /** `CourierWarning`, throttled. */
  warning: 'courier:warning',
  /** `CourierCloseReport`, once, when the transport has closed. */
  close: 'courier:close',
})

/**
 * pino-abstract-transport's `parseLine` result for every line: a constant object, so that it
 * neither runs `JSON.parse` on each line nor allocates a wrapper; the raw line is what we keep.
 */
const RAW_LINE = Object.freeze({})

/**
 * thread-stream writes strings into the transport's stream, and a Transform's writable side turns
 * every string into a Buffer that split2's StringDecoder then turns back into a string: a third of
 * the line splitting's cost, measured. Without `decodeStrings` the string reaches split2 as is
 * (StringDecoder#write passes strings through). If a Node version stops honouring the flag, lines
 * are still split right, only slower.
 */
function keepStrings(source: Transform): void {
  const state = (source as unknown as { _writableState?: { decodeStrings?: boolean } })._writableState
  if (state && typeof state.decodeStrings === 'boolean') state.decodeStrings = false
}

/** Posts an event to the main thread (a no-op outside a worker). */
function post(name: string, payload: unknown): void {
  try {
    parentPort?.postMessage({ code: 'EVENT', name, args: [payload] })
  } catch {
    // Stats are best-effort: an uncloneable payload or a closed port must not break delivery.
  }
}

/**
 * The pino transport: `pino.transport({ target: 'pino-courier', options })`.
 * Options are validated at once; a bad option fails the transport with a ConfigError naming it.
 */
export default async function courierTransport(input: TransportOptions): Promise<Transform> {
  const options = parseTransportOptions(input)
  let courier: Courier | undefined
  let statsTimer: NodeJS.Timeout | undefined
  const pinoSendsConfig = (workerData as { workerData?: { pinoWillSendConfig?: boolean } } | null)?.workerData
    ?.pinoWillSendConfig === true

  // Set when build() calls us back; settles once the senders exist (or could not be created).
  let started: Promise<void> | undefined

  // build() returns a promise when it waits for pino's config, the stream otherwise.
  const stream: Transform | Promise<Transform> = build(
    (source) => {
      // Senders can only be built once pino's config (its levels) has arrived, i.e. here. Their
      // start-up errors (an unknown level name, a bad module) must reject the transport itself, so
      // that the main thread gets the ConfigError: the promise is awaited before the stream is
      // returned. The catch only marks it handled until then.
      started = setUp(source)
      started.catch(() => undefined)
    },
    {
      parse: 'lines',
      parseLine: () => RAW_LINE,
      metadata: false,
      expectPinoConfig: pinoSendsConfig,
      async close(err: Error | null) {
        clearInterval(statsTimer)
        if (courier) {
          const report = await courier.close()
          post(TRANSPORT_EVENTS.stats, report.stats)
          post(TRANSPORT_EVENTS.close, report)
          if (options.stderr && closeReportNeedsTelling(report)) writeStderr(describeCloseReport(report))
        }
        // pino-abstract-transport hands close()'s outcome to the stream's destroy callback: rethrow,
        // or the error the stream was destroyed with (a failed start-up) would be swallowed.
        if (err) throw err
      },
    },
  )
  const ready = await stream
  await started
  return ready

  async function setUp(source: Transform): Promise<void> {
    const config = source as unknown as {
      levels?: { values?: Record<string, number> }
      messageKey?: string
      errorKey?: string
    }
    const levels = config.levels?.values ? new LevelMap(config.levels.values) : new LevelMap()
    const senders = await createSenders(options.senders, {
      levels,
      defaults: deliveryDefaults(options),
      // The logger's keys, for senders that read messages and errors (the webhook alert sender).
      ...(config.messageKey ? { messageKey: config.messageKey } : {}),
      ...(config.errorKey ? { errorKey: config.errorKey } : {}),
    })
    const parser = new RecordParser({ levels, ...(config.messageKey ? { messageKey: config.messageKey } : {}) })
    const active = new Courier({
      senders,
      parser,
      closeTimeoutMs: options.closeTimeoutMs,
      warnIntervalMs: options.warnIntervalMs,
    })
    courier = active
    active.on('warning', (warning) => {
      if (options.stderr) writeStderr(warning.message)
      post(TRANSPORT_EVENTS.warning, warning)
    })
    if (options.statsIntervalMs > 0) {
      statsTimer = setInterval(() => post(TRANSPORT_EVENTS.stats, active.stats()), options.statsIntervalMs)
      statsTimer.unref()
    }
    Object.assign(source, {
      // thread-stream calls this for logger.flush(cb).
      flush(cb: (err?: Error) => void): void {
        // An error handed back to thread-stream would destroy the whole transport: a custom sender
        // whose flush fails is reported as a warning instead, and the other senders go on.
        active.flush().then(
          () => cb(),
          (error: unknown) => {
            const message = `pino-courier: flush failed: ${errorMessage(error)}`
            if (options.stderr) writeStderr(message)
            post(TRANSPORT_EVENTS.warning, { sender: '*', kind: 'failed', records: 0, error: errorMessage(error), message })
            cb()
          },
        )
      },
    })
    keepStrings(source)
    // The read loop never awaits a delivery: write() only queues. It pauses only for senders
    // configured with the `block` overflow policy.
    source.on('data', (line: string) => {
      if (!active.write(line)) {
        source.pause()
        void active.ready().then(() => source.resume())
      }
    })
  }
}
