// OTLP sender: pino records as OpenTelemetry logs (OTLP/HTTP, protobuf), to any OpenTelemetry
// Collector, Vector, Loki 3, Grafana Cloud or vendor OTLP endpoint.
//
//   npm run build && node examples/otlp.mjs
//
// A local HTTP server stands in for a collector's OTLP/HTTP receiver (port 4318 in real life): it
// decodes each request with the official OpenTelemetry .proto files (vendored for the tests, read
// with protobufjs, a devDependency) and prints what arrived.
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import pino from 'pino'
import protobuf from 'protobufjs'

// ---- a local collector -----------------------------------------------------------------------------
const protoRoot = fileURLToPath(new URL('../vendor/opentelemetry-proto/', import.meta.url))
const root = new protobuf.Root()
root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : protoRoot + target)
root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto')
const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest')

const received = []
let resource
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const raw = Buffer.concat(chunks)
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
    const request = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(body), { longs: String, enums: Number, bytes: String })
    const resourceLogs = request.resourceLogs[0]
    resource ??= resourceLogs.resource
    const records = resourceLogs.scopeLogs.flatMap((scope) => scope.logRecords)
    received.push(...records)
    console.log(
      `collector: ${req.method} ${req.url}  ${req.headers['content-type']}  content-encoding=${req.headers['content-encoding']}  ` +
        `x-api-key=${req.headers['x-api-key']}  ${raw.length} bytes -> ${records.length} log records`,
    )
    // An empty ExportLogsServiceResponse: everything accepted (a partialSuccess would name rejections).
    res.writeHead(200, { 'content-type': 'application/x-protobuf' })
    res.end()
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
// The base URL: /v1/logs is added to an empty path. Any other path is used as given, so an endpoint
// under a prefix needs its full logs path (a 404 from one that does not end in /v1/logs says so):
//   OpenTelemetry Collector  http://collector:4318            (-> /v1/logs)
//   Loki 3                   http://loki:3100/otlp/v1/logs
//   Grafana Cloud            https://otlp-gateway-<zone>.grafana.net/otlp/v1/logs
//                            (with headers: { authorization: 'Basic <base64 of instanceId:token>' })
const url = `http://127.0.0.1:${server.address().port}`

// ---- the logger ------------------------------------------------------------------------------------
const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'otlp',
        url, // or leave it out and set OTEL_EXPORTER_OTLP_ENDPOINT
        gzip: true,
        headers: { 'x-api-key': 'example-key' },
        resource: { 'service.name': 'checkout', 'deployment.environment.name': 'dev' },
        batch: { maxRecords: 100, maxWaitMs: 200 },
      },
    ],
  },
})
const logger = pino(transport)

for (let i = 0; i < 250; i++) logger.info({ orderId: `o-${1000 + i}`, amount: 12.5 + i, items: ['book', 'pen'] }, 'order placed')
logger.warn(
  { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', trace_flags: '01', user: { id: 42, plan: 'pro' } },
  'slow checkout',
)
logger.error({ err: Object.assign(new Error('card declined'), { code: 'E_DECLINED' }) }, 'payment failed')

// Wait until everything logged so far has been delivered (or counted as failed), then close the
// transport. Flushing first matters here because the collector lives in this thread and
// transport.end() blocks this thread until the worker has closed; ref() keeps the process alive
// until 'close'.
await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed
server.close()

// The OTLP shapes, flattened for reading: AnyValues as plain values, ids as hex.
const plain = (v = {}) =>
  v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ??
  (v.arrayValue ? (v.arrayValue.values ?? []).map(plain) : v.kvlistValue ? attributes(v.kvlistValue.values) : null)
const attributes = (list = []) => Object.fromEntries(list.map((kv) => [kv.key, plain(kv.value)]))
const hex = (base64) => (base64 ? Buffer.from(base64, 'base64').toString('hex') : undefined)
const view = (r) => ({
  time: r.timeUnixNano,
  severity: `${r.severityText} (${r.severityNumber})`,
  body: plain(r.body),
  attributes: attributes(r.attributes),
  ...(r.traceId ? { traceId: hex(r.traceId), spanId: hex(r.spanId), flags: r.flags } : {}),
})
console.log(`\nresource: ${JSON.stringify(attributes(resource?.attributes))}`)
// Batches go 8 at a time and may arrive out of order: pick one record of each level.
console.log(`collector received ${received.length} log records; one of each level:`)
for (const severity of [9, 13, 17]) console.log(JSON.stringify(view(received.find((r) => r.severityNumber === severity)), null, 2))
if (received.length !== 252) process.exitCode = 1
