/**
 * The part of `@opentelemetry/api` the OpenTelemetry bridge uses, and its loading.
 *
 * The API is an optional peer dependency: pino-courier's declarations must not name it (an app
 * without it, type-checking with `skipLibCheck: false`, would fail on `import('@opentelemetry/api')`),
 * so the shapes below are structural subsets of the API's own types. Any MeterProvider of the API
 * (the SDK's, a no-op one) fits {@link OtelMeterProvider}.
 */
import { createRequire } from 'node:module'

/** Attribute values the bridge sets on its measurements. */
export type OtelAttributes = Record<string, string | number | boolean>

/** Options of an instrument (the API's `MetricOptions`). */
export interface OtelInstrumentOptions {
  description?: string
  unit?: string
  /** The API's `ValueType`: 0 = INT, 1 = DOUBLE. */
  valueType?: number
  advice?: { explicitBucketBoundaries?: number[] }
}

/** An observable instrument (the API's `Observable`), as the bridge handles it: opaquely. */
export type OtelObservable = object

/** The API's `BatchObservableResult`. */
export interface OtelBatchObservableResult {
  observe(observable: OtelObservable, value: number, attributes?: OtelAttributes): void
}

/** The API's `BatchObservableCallback`. */
export type OtelBatchObservableCallback = (result: OtelBatchObservableResult) => void | Promise<void>

/** The API's `Histogram`. */
export interface OtelHistogram {
  record(value: number, attributes?: OtelAttributes): void
}

/** The API's `Meter`, the methods the bridge calls. */
export interface OtelMeter {
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogram
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable
  createObservableUpDownCounter(name: string, options?: OtelInstrumentOptions): OtelObservable
  addBatchObservableCallback(callback: OtelBatchObservableCallback, observables: OtelObservable[]): void
  removeBatchObservableCallback(callback: OtelBatchObservableCallback, observables: OtelObservable[]): void
}

/** The API's `MeterProvider`: the app's, e.g. the SDK's `MeterProvider`. */
export interface OtelMeterProvider {
  getMeter(name: string, version?: string, options?: { schemaUrl?: string }): OtelMeter
}

/** What the bridge takes from the API module. */
export interface OtelApi {
  readonly metrics: { getMeterProvider(): OtelMeterProvider }
  readonly ValueType: { readonly INT: number; readonly DOUBLE: number }
}

/** The package the bridge needs, as `npm install` takes it. */
export const OTEL_API_PACKAGE = '@opentelemetry/api'

// Resolved from pino-courier's own file, as the senders' optional peers are (src/sinks/shared/optional-peer.ts):
// an app's peers are installed where pino-courier's imports find them.
const require = createRequire(import.meta.url)

/**
 * Loads `@opentelemetry/api` synchronously, so that the bridge can be set up in one call at start-up.
 * `require` gets the module `import` gets too (the API's `default` export condition, CommonJS), and the
 * API keeps its globals (the global meter provider) on `globalThis` under a versioned symbol anyway, so
 * every copy of the API 1.x in a process sees the same provider.
 * @throws Error naming the package and the command that installs it, when it is not installed.
 */
export function loadOpenTelemetryApi(load: (name: string) => unknown = require): OtelApi {
  let api: Partial<OtelApi>
  try {
    api = load(OTEL_API_PACKAGE) as Partial<OtelApi>
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        `pino-courier: bridgeToOpenTelemetry needs ${OTEL_API_PACKAGE}, an optional peer dependency of pino-courier ` +
          `that is not installed: run \`npm install ${OTEL_API_PACKAGE}\` in your app`,
        { cause: error },
      )
    }
    throw new Error(`pino-courier: could not load ${OTEL_API_PACKAGE} for bridgeToOpenTelemetry: ${String(error)}`, { cause: error })
  }
  if (typeof api.metrics?.getMeterProvider !== 'function' || typeof api.ValueType?.INT !== 'number') {
    throw new Error(`pino-courier: bridgeToOpenTelemetry needs ${OTEL_API_PACKAGE} 1.x (metrics.getMeterProvider and ValueType were not found)`)
  }
  return api as OtelApi
}
