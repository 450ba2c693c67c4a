import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type pino from 'pino'
import { ConfigError } from '../config/config-error.js'
import { parseTransportOptions, type TransportOptions } from '../config/transport-options.js'
import type { CourierWarning } from '../stats/warner.js'
import type { CourierCloseReport, CourierStats } from './courier.js'
import { countLinesAfterEnd } from './lines-after-end.js'
import { handleSignals, parseSignalOptions, type HandleSignalsOptions, type ResolvedSignalOptions } from './signals.js'

// createCourierTransport(): pino.transport() for pino-courier from the main thread, with its options
// checked there, signals handled on request, lines written after the end counted, and typed events.

/** Options of {@link createCourierTransport}: the transport's options plus `handleSignals`. */
export interface CourierTransportOptions extends TransportOptions {
  /**
   * Install {@link handleSignals} on the transport (`true` for its defaults). Stays in the main
   * thread: it is removed from the options before they cross to the worker.
   * @default false
   */
  handleSignals?: boolean | HandleSignalsOptions
}

/** pino.transport()'s options besides `target` and `options` (e.g. `worker`). */
export type CourierPinoTransportOptions = Omit<pino.TransportSingleOptions, 'target' | 'options'>

/**
 * A stream as `pino.transport()` returns it (a thread-stream), as {@link createCourierTransport}
 * returns it: with a count of the log lines written after it ended.
 */
export type CourierTransportStream = CourierTransportListeners & ReturnType<typeof pino.transport> & {
  /**
   * Log lines written after the transport ended (`transport.end()`, or pino's exit hook) or after its
   * worker exited. They never reach the worker, so no sender counts them: they are lost, counted
   * here, and reported on stderr (the first at once, then at most one summary per `warnIntervalMs`,
   * and the rest when the process exits; not with `stderr: false`).
   */
  readonly linesAfterEnd: number
}

/**
 * The events pino-courier's transport posts to the main thread, with their payloads (names in
 * `TRANSPORT_EVENTS`). On a plain `pino.transport()` stream they arrive the same, untyped.
 */
export interface CourierTransportEvents {
  /** Every `statsIntervalMs`, and once at close. */
  'courier:stats': [stats: CourierStats]
  /** Throttled warnings (retries, drops, a sink that cannot be reached). */
  'courier:warning': [warning: CourierWarning]
  /** Once, when the transport has closed: what it could not deliver. */
  'courier:close': [report: CourierCloseReport]
  /** Once the `metrics` endpoint listens: its URL (the real port with `metrics.port: 0`). */
  'courier:metrics': [endpoint: { url: string }]
}

/** Typed listeners for {@link CourierTransportEvents}; other events keep the stream's own signatures. */
export interface CourierTransportListeners {
  on<E extends keyof CourierTransportEvents>(event: E, listener: (...args: CourierTransportEvents[E]) => void): this
  once<E extends keyof CourierTransportEvents>(event: E, listener: (...args: CourierTransportEvents[E]) => void): this
  off<E extends keyof CourierTransportEvents>(event: E, listener: (...args: CourierTransportEvents[E]) => void): this
}

/**
 * `pino.transport({ target: 'pino-courier', options })` from the main thread, with signal handling
 * when `options.handleSignals` is set. A plain `pino.transport()` cannot handle signals by itself:
 * its worker thread receives none. The options are validated here first, so a bad one throws a
 * ConfigError at once. Listeners are removed when the transport closes.
 *
 * Log lines written after the transport ended (`transport.end()`, pino's exit hook) or after its worker
 * exited are lost: the returned stream counts them in `linesAfterEnd` and says so on stderr, and such a
 * write no longer crashes an app that has no 'error' listener (thread-stream emits 'error' for it). A
 * plain `pino.transport()` runs none of pino-courier's code in the main thread: there, such lines are
 * counted nowhere, and the first one raises thread-stream's 'error'.
 * @example
 * const transport = createCourierTransport({ senders: [{ type: 'http', url }], handleSignals: true })
 * const logger = pino(transport)
 */
export function createCourierTransport(
  options: CourierTransportOptions,
  pinoTransportOptions: CourierPinoTransportOptions = {},
): CourierTransportStream {
  const { handleSignals: signalOption, ...transportOptions } = options ?? ({} as CourierTransportOptions)
  let signalOptions: ResolvedSignalOptions | undefined
  if (signalOption === true) signalOptions = parseSignalOptions({})
  else if (typeof signalOption === 'object' && signalOption !== null && !Array.isArray(signalOption)) {
    signalOptions = parseSignalOptions(signalOption, 'handleSignals')
  } else if (signalOption !== undefined && signalOption !== false) {
    throw new ConfigError('pino-courier: invalid options: handleSignals: expected true, false or an options object', {
      paths: ['handleSignals'],
    })
  }
  const resolved = parseTransportOptions(transportOptions)
  // pino is a CommonJS peer dependency, loaded here only: the worker imports this package too.
  const pinoModule = createRequire(import.meta.url)('pino') as typeof pino
  const transport = pinoModule.transport({
    ...pinoTransportOptions,
    // This package's own entry by absolute path: it does not depend on where the caller's file is.
    target: fileURLToPath(new URL('../index.js', import.meta.url)),
    options: transportOptions,
  })
  countLinesAfterEnd(transport, {
    stderr: resolved.stderr,
    warnIntervalMs: resolved.warnIntervalMs,
  })
  if (signalOptions) {
    handleSignals(transport, { signals: [...signalOptions.signals], timeoutMs: signalOptions.timeoutMs })
  }
  return transport as CourierTransportStream
}
