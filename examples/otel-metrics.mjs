// pino-courier's metrics on an app's own OpenTelemetry meter provider.
//
//   npm run build && node examples/otel-metrics.mjs
//
// Needs @opentelemetry/api (pino-courier's optional peer) and an SDK, here @opentelemetry/sdk-metrics;
// a real app would put an OTLP or Prometheus exporter where the in-memory one is. The bridge runs in
// the main thread (the API's meter provider is per thread), fed by the transport's courier:stats events.
import { createServer } from 'node:http'
import { metrics } from '@opentelemetry/api'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import pino from 'pino'
import { bridgeToOpenTelemetry } from 'pino-courier'

// A local log collector that accepts everything.
const server = createServer((req, res) => req.resume().on('end', () => res.end()))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))

// The app's metrics set-up, as it was before pino-courier came along.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })] })
metrics.setGlobalMeterProvider(provider)

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [{ type: 'http', name: 'collector', url: `http://127.0.0.1:${server.address().port}/logs`, batch: { maxRecords: 100 } }],
    statsIntervalMs: 200, // how fresh the bridged values are
  },
})
// The global meter provider by default; { meterProvider } to pass one. The transport's stats do not
// carry the queue's capacity: give it by sender name to get pino_courier.queue.capacity.
const bridge = bridgeToOpenTelemetry(transport, { queueCapacities: { collector: 10_000 } })

const logger = pino(transport)
for (let i = 0; i < 1000; i++) logger.info({ i }, 'hello')
await new Promise((resolve) => logger.flush(resolve))
// The bridge reports the latest courier:stats event: wait for one that has it all.
await new Promise((resolve) => {
  const onStats = (stats) => {
    if (stats.senders[0].delivered === 1000) {
      transport.off('courier:stats', onStats)
      resolve()
    }
  }
  transport.on('courier:stats', onStats)
})

await provider.forceFlush()
const exported = exporter.getMetrics().at(-1).scopeMetrics.find((s) => s.scope.name === 'pino-courier').metrics
for (const metric of exported) {
  for (const point of metric.dataPoints) {
    const attributes = Object.entries(point.attributes).map(([k, v]) => `${k}=${v}`).join(',')
    const value = typeof point.value === 'number' ? point.value : `count=${point.value.count} sum=${point.value.sum.toFixed(3)}`
    if (typeof point.value !== 'number' || point.value !== 0) console.log(`${metric.descriptor.name}{${attributes}} ${value} ${metric.descriptor.unit}`)
  }
}
const delivered = exported.find((m) => m.descriptor.name === 'pino_courier.records.delivered')?.dataPoints[0]?.value

bridge.close()
transport.end()
await new Promise((resolve) => transport.on('close', resolve))
await provider.shutdown()
server.close()
if (delivered !== 1000) {
  console.error(`expected 1000 delivered, the bridge reported ${delivered}`)
  process.exitCode = 1
}
