// What the bench measures: how each target builds its logger. Peers run with their defaults, only
// pointed at the bench's sink, because their defaults are what users get.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

const require = createRequire(import.meta.url)
const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/**
 * @typedef {object} TargetInfo
 * @property {string} name         key used on the command line and in the JSON results
 * @property {string} label        row label in the tables
 * @property {boolean} sink        whether it ships to the bench's HTTP sink
 * @property {'floor'|'courier'|'peer'|'reference'} group
 * @property {number} [copies]    senders each record goes to (the sink expects this many of each); 1 if unset
 * @property {string[]} [scenarios] the only scenarios it runs in; all that apply if unset
 */

/** Scenarios the backend rows (issue 12) run in: a 50 ms sink and a 0 ms one. */
const BACKEND_SCENARIOS = ['a', 'b']

/** Sender counts of the fan-out rows. */
export const FANOUT_SENDERS = [1, 5, 20]

/** @type {TargetInfo[]} */
export const TARGETS = [
  { name: 'pino-devnull', label: 'floor: pino → /dev/null', sink: false, group: 'floor' },
  { name: 'pino-file', label: 'worker floor: pino/file → /dev/null', sink: false, group: 'floor' },
  // Issue 11's floors: what shipping to the sink costs at the least, without and with
  // pino-abstract-transport. Each record goes to the sink exactly once; no retries.
  { name: 'raw-floor', label: 'raw shipping floor (worker → 1 MiB POSTs)', sink: true, group: 'floor' },
  { name: 'pat-floor', label: 'pino-abstract-transport floor', sink: true, group: 'floor' },
  { name: 'courier', label: 'pino-courier http (defaults)', sink: true, group: 'courier' },
  { name: 'courier-big-batches', label: 'pino-courier http (bigger batches)', sink: true, group: 'courier' },
  { name: 'courier-inprocess', label: 'pino-courier in-process', sink: true, group: 'courier' },
  { name: 'courier-spool', label: 'pino-courier http + disk spool', sink: true, group: 'courier' },
  { name: 'naive', label: 'naive 15-line transport', sink: true, group: 'reference' },
  { name: 'pino-http-send', label: 'pino-http-send 0.4', sink: true, group: 'peer' },
  { name: 'pino-loki', label: 'pino-loki 3', sink: true, group: 'peer' },
  { name: 'axiom', label: '@axiomhq/pino 2', sink: true, group: 'peer' },
  // Issue 12's backends, each next to the peer transport for the same backend, at a 50 ms sink (a)
  // and a 0 ms one (b). (pino-loki runs in every scenario above.)
  { name: 'courier-otlp', label: 'pino-courier otlp (protobuf)', sink: true, group: 'courier', scenarios: BACKEND_SCENARIOS },
  { name: 'courier-otlp-json', label: 'pino-courier otlp (json)', sink: true, group: 'courier', scenarios: BACKEND_SCENARIOS },
  { name: 'pino-otel', label: 'pino-opentelemetry-transport 4', sink: true, group: 'peer', scenarios: BACKEND_SCENARIOS },
  { name: 'courier-loki', label: 'pino-courier loki', sink: true, group: 'courier', scenarios: BACKEND_SCENARIOS },
  { name: 'courier-es', label: 'pino-courier elasticsearch', sink: true, group: 'courier', scenarios: BACKEND_SCENARIOS },
  { name: 'pino-elasticsearch', label: 'pino-elasticsearch 9', sink: true, group: 'peer', scenarios: BACKEND_SCENARIOS },
  // Fan-out (scenario f): one transport whose senders hold N http senders to the same sink.
  ...FANOUT_SENDERS.map((n) => ({
    name: `courier-fanout-${n}`,
    label: `pino-courier, ${n} http sender${n === 1 ? '' : 's'}`,
    sink: true,
    group: /** @type {const} */ ('courier'),
    copies: n,
    scenarios: ['f'],
  })),
]

/** Options of the bigger-batches pino-courier row: twice the default records, four times the bytes. */
export const BIG_BATCH_HTTP_OPTIONS = {
  batch: { maxRecords: 10_000, maxBytes: 4 * 1024 * 1024 },
}

const courierTransport = here('../dist/index.js')

function transport(target, options = {}) {
  const stream = pino.transport({ target, options })
  return { stream, ready: new Promise((resolve) => stream.once('ready', resolve)) }
}

/**
 * Builds the logger of one target.
 * @param {string} name
 * @param {string} url the sink's URL (unused by pino-devnull and pino-file)
 * @returns {Promise<{ logger: import('pino').Logger, stream: any, ready: Promise<unknown>, close?: () => Promise<unknown> }>}
 */
export async function createTarget(name, url) {
  switch (name) {
    case 'pino-devnull': {
      const stream = pino.destination({ dest: '/dev/null', sync: false })
      return { logger: pino(stream), stream, ready: new Promise((resolve) => stream.once('ready', resolve)) }
    }
    case 'pino-file':
      return withLogger(transport('pino/file', { destination: '/dev/null' }))
    case 'courier':
      return withLogger(transport(courierTransport, { senders: [{ type: 'http', url: `${url}/logs` }] }))
    case 'courier-big-batches':
      return withLogger(
        transport(courierTransport, { senders: [{ type: 'http', url: `${url}/logs`, ...BIG_BATCH_HTTP_OPTIONS }] }),
      )
    case 'courier-spool': {
      // A fresh spool per run, removed when the app exits. pino registers its exit hook (which closes
      // the transport) when the worker is ready; ours goes in after it, so that it runs after the
      // transport has closed: removed earlier, the closing transport would find its spool gone.
      const dir = mkdtempSync(join(tmpdir(), 'courier-bench-spool-'))
      const target = withLogger(transport(courierTransport, { senders: [{ type: 'http', url: `${url}/logs`, spool: { dir } }] }))
      void target.ready.then(() => process.on('exit', () => rmSync(dir, { recursive: true, force: true })))
      return target
    }
    case 'courier-inprocess': {
      const { createCourierStream } = await import(courierTransport)
      const stream = createCourierStream({ senders: [{ type: 'http', url: `${url}/logs` }] })
      return { logger: pino(stream), stream, ready: Promise.resolve(), close: () => stream.close() }
    }
    case 'raw-floor':
      return withLogger(transport(here('./raw-floor-transport.mjs'), { url: `${url}/logs` }))
    case 'pat-floor':
      return withLogger(transport(here('./pat-floor-transport.mjs'), { url: `${url}/logs` }))
    case 'naive':
      return withLogger(transport(here('./naive-transport.mjs'), { url: `${url}/logs` }))
    case 'pino-http-send':
      // It exports createWriteStream rather than a transport function: a 3-line adapter.
      return withLogger(transport(here('./pino-http-send-transport.cjs'), { url: `${url}/logs` }))
    case 'pino-loki':
      return withLogger(transport(require.resolve('pino-loki'), { host: url }))
    case 'courier-otlp':
      return withLogger(transport(courierTransport, { senders: [{ type: 'otlp', url }] }))
    case 'courier-otlp-json':
      return withLogger(transport(courierTransport, { senders: [{ type: 'otlp', url, protocol: 'http/json' }] }))
    case 'courier-loki':
      return withLogger(transport(courierTransport, { senders: [{ type: 'loki', url, labels: { app: 'bench' } }] }))
    case 'courier-es':
      return withLogger(transport(courierTransport, { senders: [{ type: 'elasticsearch', url }] }))
    case 'pino-otel':
      // Its documented way to name the collector; the worker thread inherits the app's environment.
      process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = `${url}/v1/logs`
      return withLogger(transport(require.resolve('pino-opentelemetry-transport')))
    case 'pino-elasticsearch':
      return withLogger(transport(require.resolve('pino-elasticsearch'), { node: url, esVersion: 8 }))
    // Issue 13's senders against real local servers (bench/servers.mjs passes the server's address).
    case 'courier-redis':
      return withLogger(transport(courierTransport, { senders: [{ type: 'redis', url, key: 'bench' }] }))
    case 'courier-redis-list':
      return withLogger(transport(courierTransport, { senders: [{ type: 'redis', url, key: 'bench', mode: 'list' }] }))
    case 'courier-nats':
      return withLogger(transport(courierTransport, { senders: [{ type: 'nats', servers: url, subject: 'bench.app' }] }))
    case 'courier-kafka':
      return withLogger(transport(courierTransport, { senders: [{ type: 'kafka', brokers: [url], topic: 'bench' }] }))
    case 'courier-syslog':
      return withLogger(transport(courierTransport, { senders: [{ type: 'syslog', url }] }))
    case 'axiom':
      return withLogger(transport(require.resolve('@axiomhq/pino'), { dataset: 'bench', token: 'xaat-bench', url }))
    default: {
      const fanout = /^courier-fanout-(\d+)$/.exec(name)
      if (fanout) {
        // Each sender posts to a path of its own, so that the sink counts every copy of a record
        // once per sender (and a duplicate as a duplicate) rather than taking one sender's copy for
        // another's.
        const senders = Array.from({ length: Number(fanout[1]) }, (_, i) => ({
          type: 'http',
          url: `${url}/logs/http-${i}`,
          name: `http-${i}`,
        }))
        return withLogger(transport(courierTransport, { senders }))
      }
      throw new Error(`unknown target ${name}`)
    }
  }
}

function withLogger({ stream, ready }) {
  return { logger: pino(stream), stream, ready }
}
