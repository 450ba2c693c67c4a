import type { Transform } from 'node:stream'
import { parentPort, workerData } from 'node:worker_threads'
import build from 'pino-abstract-transport'
import type { Courier } from './courier.js'
import { assembleCourier, senderContext, tellClose } from './assemble.js'
import { LevelMap } from '../config/levels.js'
import { parseTransportOptions, type TransportOptions } from '../config/transport-options.js'
import { errorMessage } from '../error-message.js'
import { buildSenders } from '../sinks/registry.js'
import { writeStderr } from '../stderr.js'
import { setRepeat, setTimer } from '../timers.js'
import { startCourierMetrics } from '../metrics/metrics-server.js'

/** Names of the events the transport posts to the main thread (`transport.on(name, listener)`). */
export const TRANSPORT_EVENTS = Object.freeze({
  /** `CourierStats`, every `statsIntervalMs` and once at close. */
  stats: 'courier:stats',
  /** `CourierWarning`, throttled. */
  warning: 'courier:warning',
  /** `CourierCloseReport`, once, when the transport has closed. */
  close: 'courier:close',
  /** `{ url }`, once, when the `metrics` endpoint listens (the real port when `metrics.port` is 0). */
  metrics: 'courier:metrics',
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
 * Longest time the worker holds back its 'ready' waiting for pino's configuration (the logger's
 * levels and keys), which pino sends when the logger is created: `pino(transport)`. Created at once
 * after the transport, as usual, the configuration is already waiting and the senders are built (a
 * bad level name fails the start) before 'ready'. Without a logger yet (an app waiting for 'ready'
 * before `pino(transport)`), 'ready' comes after this wait, and the senders are built, and level
 * names checked, when the logger is created.
 */
export const PINO_CONFIG_WAIT_MS = 500

/** What pino sends a transport about its logger (`PINO_CONFIG`). */
interface PinoConfig {
  levels?: { values?: Record<string, number> }
  messageKey?: string
  errorKey?: string
}

/**
 * pino's configuration, when it arrives. If the stream ends first, no logger ever used this transport
 * (an app that created it, maybe waited for 'ready', and exited): resolves undefined so that the
 * stream can end, after a short grace in case the message is just behind.
 */
function pinoConfig(source: Transform): Promise<PinoConfig | undefined> {
  return new Promise((resolve) => {
    let grace: NodeJS.Timeout | undefined
    const onMessage = (message: { code?: unknown; config?: PinoConfig } | null) => {
      if (message?.code === 'PINO_CONFIG') done(message.config ?? {})
    }
    const onFinish = () => {
      grace = setTimer(done, 50, undefined)
    }
    function done(config: PinoConfig | undefined): void {
      clearTimeout(grace)
      parentPort?.off('message', onMessage)
      source.off('finish', onFinish)
      resolve(config)
    }
    parentPort?.on('message', onMessage)
    source.once('finish', onFinish)
  })
}

/**
 * The pino transport: `pino.transport({ target: 'pino-courier', options })`.
 * Options are validated at once, level names as soon as the logger's levels are known (see
 * {@link PINO_CONFIG_WAIT_MS}); a bad option fails the transport with a ConfigError naming it.
 */
export default async function courierTransport(input: TransportOptions): Promise<Transform> {
  const options = parseTransportOptions(input)
  let courier: Courier | undefined
  let statsTimer: NodeJS.Timeout | undefined
  // A port in use rejects here, before 'ready': the main thread gets the error naming metrics.port.
  const metrics = options.metrics ? await startCourierMetrics(options.metrics, () => courier) : undefined
  if (metrics) post(TRANSPORT_EVENTS.metrics, { url: metrics.url })
  const pinoSendsConfig = (workerData as { workerData?: { pinoWillSendConfig?: boolean } } | null)?.workerData
    ?.pinoWillSendConfig === true

  // pino-abstract-transport could wait for pino's config itself (expectPinoConfig), but it would hold
  // the worker's 'ready' until the logger exists, for ever if the app waits for 'ready' first.
  const source = build(() => undefined, {
    parse: 'lines',
    parseLine: () => RAW_LINE,
    metadata: false,
    expectPinoConfig: false,
    async close(err: Error | null) {
      clearInterval(statsTimer)
      if (courier) {
        const report = await courier.close().finally(() => metrics?.close())
        post(TRANSPORT_EVENTS.stats, report.stats)
        post(TRANSPORT_EVENTS.close, report)
        tellClose(report, options)
      } else await metrics?.close()
      // pino-abstract-transport hands close()'s outcome to the stream's destroy callback: rethrow,
      // or the error the stream was destroyed with (a failed start-up) would be swallowed.
      if (err) throw err
    },
  }) as Transform
  keepStrings(source)

  // Senders can only be built once pino's config (its levels) has arrived. Until then lines wait in
  // the stream: nothing reads it, so thread-stream's backpressure holds them.
  const started = (pinoSendsConfig ? pinoConfig(source) : Promise.resolve(undefined)).then((config) =>
    setUp(source, config ?? {}),
  )
  Object.assign(source, {
    // thread-stream calls this for logger.flush(cb), possibly before the senders exist.
    flush(cb: (err?: Error) => void): void {
      started.then(
        () => {
          const flushed = courier ? courier.flush() : Promise.resolve()
          // An error handed back to thread-stream would destroy the whole transport: a custom sender
          // whose flush fails is reported as a warning instead, and the other senders go on.
          flushed.then(
            () => cb(),
            (error: unknown) => {
              const message = `pino-courier: flush failed: ${errorMessage(error)}`
              if (options.stderr) writeStderr(message)
              post(TRANSPORT_EVENTS.warning, { sender: '*', kind: 'failed', records: 0, error: errorMessage(error), message })
              cb()
            },
          )
        },
        // A failed start destroys the stream and reports the error itself.
        () => cb(),
      )
    },
  })

  // Start-up errors (an unknown level name, a bad module) found while 'ready' is held back reject the
  // transport itself, so that the main thread gets the ConfigError and never sees 'ready'; found
  // later, they destroy the stream, which reaches the main thread as its 'error' event.
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<false>((resolve) => {
    timer = setTimer(resolve, PINO_CONFIG_WAIT_MS, false)
  })
  const settled = await Promise.race([started.then(() => true), waited]).finally(() => clearTimeout(timer))
  if (!settled) started.catch((error: unknown) => source.destroy(error instanceof Error ? error : new Error(String(error))))
  return source

  async function setUp(source: Transform, config: PinoConfig): Promise<void> {
    const logger = {
      levels: config.levels?.values ? new LevelMap(config.levels.values) : new LevelMap(),
      messageKey: config.messageKey,
      errorKey: config.errorKey,
    }
    const context = senderContext(options, logger)
    const senders = await buildSenders(options.senders, context)
    const active = assembleCourier(senders, options, logger, context, (warning) => post(TRANSPORT_EVENTS.warning, warning))
    courier = active
    if (options.statsIntervalMs > 0) {
      statsTimer = setRepeat(() => post(TRANSPORT_EVENTS.stats, active.stats()), options.statsIntervalMs)
      statsTimer.unref()
    }
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
