/**
 * The Prometheus endpoint: a node:http server answering GET/HEAD on one path with the courier's
 * stats in the text format. It never keeps the process alive and is closed with the courier.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError } from '../config/config-error.js'
import type { Courier } from '../input/courier.js'
import { QueuedSender } from '../senders/queued-sender.js'
import { setTimer } from '../timers.js'
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PATH, type MetricsOptions } from './metrics-options.js'
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText, senderLabels } from './prometheus-text.js'

/** Longest time {@link MetricsServer.close} waits for the server to let go of its connections. */
export const METRICS_CLOSE_TIMEOUT_MS = 1000

/**
 * Longest a client may take to send its request headers (and its whole request): a scraper sends a
 * few hundred bytes at once, so a slow or stalled client is dropped well before Node's 60 s default.
 */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000

/** How often the server looks for requests past {@link METRICS_REQUEST_TIMEOUT_MS}. */
const METRICS_TIMEOUT_CHECK_MS = 2000

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** Where it answers, e.g. `http://127.0.0.1:9464/metrics` (the real port when `port: 0`). */
  readonly url: string
  /** Stops listening and drops open connections. Idempotent, bounded by {@link METRICS_CLOSE_TIMEOUT_MS}. */
  close(): Promise<void>
}

/**
 * Starts the endpoint; `render` is called on every scrape. Rejects with a ConfigError naming
 * `metrics.port` (or `metrics.host`) and the address when it cannot listen.
 */
export async function startMetricsServer(options: MetricsOptions, render: () => string): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST
  const path = options.path ?? DEFAULT_METRICS_PATH
  // Node checks the request timeouts below only this often (30 s by default); its timer is unref'd.
  const server = createServer({ connectionsCheckingInterval: METRICS_TIMEOUT_CHECK_MS }, (request, response) => {
    const url = request.url ?? '/'
    const query = url.indexOf('?')
    if ((query < 0 ? url : url.slice(0, query)) !== path) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      return
    }
    let body: string
    try {
      body = render()
    } catch {
      // The endpoint answers anyone who can reach it: no error text (a custom sender's) in the body.
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('could not render the metrics\n')
      return
    }
    response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) })
    response.end(request.method === 'HEAD' ? undefined : body)
  })
  server.headersTimeout = METRICS_REQUEST_TIMEOUT_MS
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS
  // server.unref() covers the listening socket only: a connected scraper (keep-alive) or a stalled
  // client would otherwise hold an app that is done open until it hangs up.
  server.on('connection', (socket) => socket.unref())
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const address = `${formatHost(host)}:${options.port}`
      const option = error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'metrics.port' : 'metrics.host'
      reject(
        new ConfigError(`pino-courier: ${option}: cannot listen on ${address} for metrics (${error.code ?? 'error'}: ${error.message})`, {
          paths: [option],
          cause: error,
        }),
      )
    }
    server.once('error', onError)
    server.listen(options.port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  // A scrape endpoint must never hold an exiting app open.
  server.unref()
  // Errors after listening (a client resetting) are the client's business.
  server.on('error', () => undefined)
  const port = (server.address() as AddressInfo).port
  const url = `http://${formatHost(host)}:${port}${path}`
  let closing: Promise<void> | undefined
  return {
    url,
    close: () => (closing ??= closeServer(server)),
  }
}

/** The endpoint over a courier: its stats, and the queue capacity of its queued senders. */
export function startCourierMetrics(options: MetricsOptions, courier: () => Courier | undefined): Promise<MetricsServer> {
  return startMetricsServer(options, () => {
    const active = courier()
    if (!active) return renderPrometheusText({ lines: 0, malformed: 0, senders: [] })
    return renderPrometheusText(active.stats(), { queueCapacities: queueCapacities(active) })
  })
}

/** `queue.maxRecords` of each queued sender, by its `sender` label (its name, made unique). */
function queueCapacities(courier: Courier): Record<string, number> {
  const capacities: Record<string, number> = {}
  const labels = senderLabels(courier.senders)
  courier.senders.forEach((sender, index) => {
    if (sender instanceof QueuedSender) capacities[labels[index] as string] = sender.options.queue.maxRecords
  })
  return capacities
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimer(resolve, METRICS_CLOSE_TIMEOUT_MS)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    // Keep-alive scrapers would hold close() until they hang up.
    server.closeAllConnections()
  })
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
