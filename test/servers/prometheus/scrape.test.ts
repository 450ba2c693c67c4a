/**
 * Debian's real Prometheus scrapes a pino.transport() worker's `metrics` endpoint (resolved by package
 * name, so from dist/: run `npm run build` first). Prometheus parses the exposition format strictly: a
 * format error marks the whole target down, so `up == 1` with no scrape error is the check that the
 * endpoint's text (counters, gauges, histograms) is valid for the real consumer; the values queried
 * back through its HTTP API must be what was delivered.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierStats, TransportOptions } from '../../../src/index.js'
import { endIfOpen, flushLogger, nextEvent, waitUntil, type TransportStream } from '../../fixtures/integration.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { PrometheusServer } from './prometheus-server.js'

const { defer, sink } = useCleanups()

const N = 500
const JOB = 'pino-courier'
/** A sender name with every character the format escapes in a label value: `"`, `\\` and a newline. */
const WEIRD = 'we"ird\\na\nme'
/** The same name as a PromQL string literal. */
const WEIRD_PROMQL = JSON.stringify(WEIRD)

describe('Prometheus scraping the metrics endpoint', () => {
  it('scrapes the target up, with the delivered count, the gauges and the histograms matching the stats', async () => {
    const http = await sink()
    const other = await sink()
    const transport: TransportStream = pino.transport<TransportOptions>({
      target: 'pino-courier',
      options: {
        senders: [
          { type: 'http', name: 'scraped', url: http.url, batch: { maxRecords: 50 } },
          { type: 'http', name: WEIRD, url: other.url },
        ],
        metrics: { port: 0 },
        statsIntervalMs: 200,
        stderr: false,
      },
    })
    defer(() => endIfOpen(transport))
    const { url } = await nextEvent<{ url: string }>(transport, 'courier:metrics')
    let last: CourierStats | undefined
    transport.on('courier:stats', (stats: CourierStats) => (last = stats))

    const logger = pino(transport)
    for (let i = 0; i < N; i++) logger.info({ i }, 'scraped')
    logger.error('and one error')
    await flushLogger(logger)
    await waitUntil(
      () => last?.senders.every((s) => s.delivered === N + 1 && s.inFlight === 0) === true,
      'a stats event with every record delivered',
    )
    expect(http.records()).toHaveLength(N + 1)
    const stats = last?.senders[0]
    const timings = stats?.timings
    expect(timings?.attemptMs.count).toBeGreaterThan(0)

    const prometheus = await PrometheusServer.start(url, JOB)
    defer(() => prometheus.stop())
    const sender = `sender="scraped"`
    const one = async (promql: string): Promise<number | undefined> => (await prometheus.query(promql))[0]?.value
    // A scrape a second: wait for the first one that stored the series.
    await waitUntil(async () => (await one(`pino_courier_delivered_records_total{${sender}}`)) === N + 1, 'Prometheus to store the delivered count', 30_000)

    const targets = await prometheus.targets()
    expect(targets).toHaveLength(1)
    expect(targets[0]).toMatchObject({ health: 'up', lastError: '', scrapeUrl: url })
    expect(await one(`up{job="${JOB}"}`)).toBe(1)

    expect(await one(`pino_courier_received_records_total{${sender}}`)).toBe(stats?.received)
    expect(await one(`pino_courier_failed_records_total{${sender}}`)).toBe(0)
    expect(await one(`pino_courier_dropped_records_total{${sender},reason="overflow"}`)).toBe(0)
    expect(await one(`pino_courier_sent_bytes_total{${sender}}`)).toBe(stats?.deliveredBytes)
    expect(await one(`pino_courier_queued_records{${sender}}`)).toBe(0)
    expect(await one(`pino_courier_queue_capacity_records{${sender}}`)).toBeGreaterThan(0)
    expect(await one('pino_courier_malformed_lines_total')).toBe(0)
    expect(await prometheus.metricType('pino_courier_delivered_records_total')).toBe('counter')
    expect(await prometheus.metricType('pino_courier_queued_records')).toBe('gauge')

    // The histograms, as Prometheus stored them: _count, _sum and the +Inf bucket agree with the stats.
    for (const [family, histogram, divisor] of [
      ['pino_courier_request_duration_seconds', timings?.attemptMs, 1000],
      ['pino_courier_delivery_duration_seconds', timings?.deliveryMs, 1000],
      ['pino_courier_queue_wait_seconds', timings?.queueWaitMs, 1000],
      ['pino_courier_batch_records', timings?.batchRecords, 1],
    ] as const) {
      expect(await prometheus.metricType(family), family).toBe('histogram')
      expect(await one(`${family}_count{${sender}}`), family).toBe(histogram?.count)
      expect(await one(`${family}_bucket{${sender},le="+Inf"}`), family).toBe(histogram?.count)
      expect(await one(`${family}_sum{${sender}}`), family).toBeCloseTo((histogram?.sum ?? NaN) / divisor, 6)
    }
    // Every batch held at most 50 records: all of them in the buckets up to 50.
    expect(await one(`pino_courier_batch_records_bucket{${sender},le="50"}`)).toBe(timings?.batchRecords.count)
    // A quantile over the stored buckets, as a dashboard would ask.
    const p99 = await one(`histogram_quantile(0.99, pino_courier_request_duration_seconds_bucket{${sender}})`)
    expect(p99).toBeGreaterThan(0)

    // The sender whose name needs escaping: stored under its name as it is, histograms included.
    const weird = last?.senders[1]
    expect(weird?.name).toBe(WEIRD)
    expect(await one(`pino_courier_delivered_records_total{sender=${WEIRD_PROMQL}}`)).toBe(N + 1)
    expect(await one(`pino_courier_batch_records_count{sender=${WEIRD_PROMQL}}`)).toBe(weird?.timings?.batchRecords.count)
    const names = await prometheus.query('count by (sender) (pino_courier_delivered_records_total)')
    expect(names.map((sample) => sample.metric.sender).sort()).toEqual(['scraped', WEIRD].sort())
  })
})
