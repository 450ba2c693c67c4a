/**
 * The adaptive concurrency's limit in the metrics: a `pino_courier_concurrency_limit` sample and a
 * `pino_courier.concurrency.limit` observation for a sender whose stats carry `concurrency`, none for a
 * sender with a fixed concurrency.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { bridgeToOpenTelemetry } from '../../src/metrics/otel-bridge.js'
import { renderPrometheusText } from '../../src/metrics/prometheus-text.js'
import type { ConcurrencyStats } from '../../src/stats/delivery-stats.js'
import { useCleanups } from '../helpers/cleanups.js'
import { senderStats } from '../helpers/sender-stats.js'

const { defer } = useCleanups()

const concurrency: ConcurrencyStats = { limit: 4, max: 64, peak: 5, active: 3, ceiling: 5, baselineRttMs: 21.5, increases: 6, decreases: 2, pauses: 2 }
const stats = { lines: 0, malformed: 0, senders: [senderStats('adaptive', { concurrency }), senderStats('fixed')] }

class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe('the adaptive concurrency limit', () => {
  it('is a Prometheus gauge sample for an adaptive sender only', () => {
    const text = renderPrometheusText(stats)
    expect(text).toContain('# TYPE pino_courier_concurrency_limit gauge\npino_courier_concurrency_limit{sender="adaptive"} 4\n')
    expect(text).not.toContain('pino_courier_concurrency_limit{sender="fixed"}')
  })

  it('is observed by the OpenTelemetry bridge for an adaptive sender only', async () => {
    const reader = new ManualReader()
    const provider = new MeterProvider({ readers: [reader] })
    defer(() => provider.shutdown())
    const bridge = bridgeToOpenTelemetry({ stats: () => stats }, { meterProvider: provider })
    defer(() => bridge.close())
    const { resourceMetrics } = await reader.collect()
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'pino_courier.concurrency.limit')
    expect(metric?.descriptor.unit).toBe('{request}')
    expect(metric?.dataPoints.map((p) => [p.attributes.sender, p.value])).toEqual([['adaptive', 4]])
  })
})
