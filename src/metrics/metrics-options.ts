/**
 * The `metrics` option: where the Prometheus endpoint (metrics-server.ts) listens.
 */
import { z } from 'zod'

/** Host the metrics endpoint binds to unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1'
/** Path the metrics endpoint answers on. */
export const DEFAULT_METRICS_PATH = '/metrics'

/**
 * A Prometheus endpoint serving the courier's counters, gauges and histograms (text format 0.0.4).
 *
 * The address it listens on, useful with `port: 0`, is posted to the main thread as a
 * `courier:metrics` event `{ url }` by the transport, and is `stream.metricsUrl` (and what
 * `stream.metricsReady()` resolves with) on the in-process stream. A port in use fails the start with
 * an error naming `metrics.port` and the address.
 * @example
 * pino.transport({ target: 'pino-courier', options: { senders, metrics: { port: 9464 } } })
 * // curl http://127.0.0.1:9464/metrics
 */
export interface MetricsOptions {
  /** TCP port; 0 picks any free port (see the `courier:metrics` event for the one chosen). */
  port: number
  /** Address to bind; exposing the endpoint beyond this machine (`'0.0.0.0'`, `'::'`) is your choice. @default '127.0.0.1' */
  host?: string
  /** Path answering GET and HEAD; other paths get 404. @default '/metrics' */
  path?: string
}

export const metricsOptionsSchema = z.strictObject({
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1).optional(),
  // Compared with the request's path as it arrives (percent-encoded, query cut off): a `?`, `#`, space
  // or non-ASCII character here would never match, and every scrape would get 404.
  path: z
    .string()
    .startsWith('/', 'must start with "/"')
    .regex(/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/, 'must be a URL path as sent on the wire: no "?", "#", spaces or non-ASCII (percent-encode them)')
    .optional(),
})
