import { describe, expect, it } from 'vitest'
import { DROP_REASONS, renderPrometheusText, type CourierStats, type SenderStats } from '../../src/index.js'
import { senderLabels as senderLabelsOf } from '../../src/metrics/prometheus-text.js'
import { TimingsRecorder } from '../../src/stats/timings-recorder.js'
import { DURATION_BOUNDS_MS, type Histogram, type SenderTimings } from '../../src/stats/timings.js'
import { parsePrometheusText } from './prom-parse.js'
import { senderStats } from '../helpers/sender-stats.js'

/** Timings holding the given observations. */
function timings(observe: (t: TimingsRecorder) => void): SenderTimings {
  const recorder = new TimingsRecorder()
  observe(recorder)
  return recorder.snapshot()
}

describe('renderPrometheusText', () => {
  it('renders every family with HELP and TYPE lines and one series per sender (exact text)', () => {
    const stats: CourierStats = {
      lines: 12,
      malformed: 1,
      senders: [
        senderStats('http', {
          received: 12,
          delivered: 9,
          deliveredBytes: 900,
          failed: 1,
          deadLettered: 1,
          retried: 3,
          queued: 2,
          queuedBytes: 200,
          inFlight: 0,
          spooled: 4,
          truncated: 2,
          dropped: { overflow: 5, closed: 0, oversize: 1, spoolFull: 0, spoolError: 0 },
        }),
      ],
    }
    expect(renderPrometheusText(stats, { queueCapacities: { http: 10000 } })).toBe(
      [
        '# HELP pino_courier_received_records_total Records given to the sender at or above its level.',
        '# TYPE pino_courier_received_records_total counter',
        'pino_courier_received_records_total{sender="http"} 12',
        '# HELP pino_courier_delivered_records_total Records the sink accepted.',
        '# TYPE pino_courier_delivered_records_total counter',
        'pino_courier_delivered_records_total{sender="http"} 9',
        '# HELP pino_courier_failed_records_total Records whose batch failed for good (permanent error or retries exhausted).',
        '# TYPE pino_courier_failed_records_total counter',
        'pino_courier_failed_records_total{sender="http"} 1',
        '# HELP pino_courier_dropped_records_total Records dropped, by reason.',
        '# TYPE pino_courier_dropped_records_total counter',
        'pino_courier_dropped_records_total{sender="http",reason="overflow"} 5',
        'pino_courier_dropped_records_total{sender="http",reason="closed"} 0',
        'pino_courier_dropped_records_total{sender="http",reason="oversize"} 1',
        'pino_courier_dropped_records_total{sender="http",reason="spoolFull"} 0',
        'pino_courier_dropped_records_total{sender="http",reason="spoolError"} 0',
        '# HELP pino_courier_retries_total Record re-sends after transient failures.',
        '# TYPE pino_courier_retries_total counter',
        'pino_courier_retries_total{sender="http"} 3',
        '# HELP pino_courier_sent_bytes_total Bytes the sink accepted.',
        '# TYPE pino_courier_sent_bytes_total counter',
        'pino_courier_sent_bytes_total{sender="http"} 900',
        '# HELP pino_courier_dead_lettered_records_total Failed records written to the dead-letter file.',
        '# TYPE pino_courier_dead_lettered_records_total counter',
        'pino_courier_dead_lettered_records_total{sender="http"} 1',
        '# HELP pino_courier_truncated_records_total Delivered records the sink cut to fit its size limit.',
        '# TYPE pino_courier_truncated_records_total counter',
        'pino_courier_truncated_records_total{sender="http"} 2',
        '# HELP pino_courier_queued_records Records waiting in the queue.',
        '# TYPE pino_courier_queued_records gauge',
        'pino_courier_queued_records{sender="http"} 2',
        '# HELP pino_courier_queued_bytes Bytes waiting in the queue.',
        '# TYPE pino_courier_queued_bytes gauge',
        'pino_courier_queued_bytes{sender="http"} 200',
        '# HELP pino_courier_in_flight_records Records in batches being delivered, including ones waiting for a retry.',
        '# TYPE pino_courier_in_flight_records gauge',
        'pino_courier_in_flight_records{sender="http"} 0',
        '# HELP pino_courier_spooled_records Records waiting in the disk spool.',
        '# TYPE pino_courier_spooled_records gauge',
        'pino_courier_spooled_records{sender="http"} 4',
        // A fixed concurrency: no sample (test/metrics/concurrency-metrics.test.ts has one).
        "# HELP pino_courier_concurrency_limit Requests that may be in flight now, under pool.concurrency 'adaptive' (no series for a fixed concurrency).",
        '# TYPE pino_courier_concurrency_limit gauge',
        '# HELP pino_courier_queue_capacity_records Most records the queue holds (queue.maxRecords).',
        '# TYPE pino_courier_queue_capacity_records gauge',
        'pino_courier_queue_capacity_records{sender="http"} 10000',
        '# HELP pino_courier_request_duration_seconds Delivery attempts (requests), retries included: from the start of an attempt to its answer or timeout.',
        '# TYPE pino_courier_request_duration_seconds histogram',
        '# HELP pino_courier_delivery_duration_seconds Batches delivered or failed for good: from the dispatch of a batch to its end, retries and their waits included.',
        '# TYPE pino_courier_delivery_duration_seconds histogram',
        '# HELP pino_courier_queue_wait_seconds Batches dispatched from the queue: how long the oldest record of a batch waited in the queue.',
        '# TYPE pino_courier_queue_wait_seconds histogram',
        '# HELP pino_courier_batch_records Batches dispatched: records per batch.',
        '# TYPE pino_courier_batch_records histogram',
        // Senders without groupBy: the group families have no series.
        '# HELP pino_courier_groups Queue groups alive, for a sender with groupBy.',
        '# TYPE pino_courier_groups gauge',
        '# HELP pino_courier_group_received_records_total Records of a live queue group (groupBy) received.',
        '# TYPE pino_courier_group_received_records_total counter',
        '# HELP pino_courier_group_delivered_records_total Records of a live queue group the sink accepted.',
        '# TYPE pino_courier_group_delivered_records_total counter',
        '# HELP pino_courier_group_queued_records Records of a live queue group waiting in its queue.',
        '# TYPE pino_courier_group_queued_records gauge',
        '# HELP pino_courier_group_dropped_records_total Records of a live queue group dropped, by reason.',
        '# TYPE pino_courier_group_dropped_records_total counter',
        '# HELP pino_courier_malformed_lines_total Input lines that were not a JSON object (delivered wrapped); not per sender.',
        '# TYPE pino_courier_malformed_lines_total counter',
        'pino_courier_malformed_lines_total 1',
        '',
      ].join('\n'),
    )
  })

  it('escapes backslash, double quote and newline in sender names, and the parser reads them back', () => {
    const name = 'a\\b"c\nd'
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders: [senderStats(name, { received: 7 })] }, { queueCapacities: { [name]: 5 } })
    expect(text).toContain('pino_courier_received_records_total{sender="a\\\\b\\"c\\nd"} 7\n')
    // No raw newline inside a sample line: every line is a comment or a whole sample.
    const scrape = parsePrometheusText(text)
    expect(scrape.value('pino_courier_received_records_total', { sender: name })).toBe(7)
    expect(scrape.value('pino_courier_queue_capacity_records', { sender: name })).toBe(5)
  })

  it('lists every drop reason for every sender, zeros included; a sender without a known capacity gets no capacity series', () => {
    const scrape = parsePrometheusText(renderPrometheusText({ lines: 0, malformed: 0, senders: [senderStats('a'), senderStats('b')] }))
    for (const sender of ['a', 'b']) {
      for (const reason of DROP_REASONS) expect(scrape.value('pino_courier_dropped_records_total', { sender, reason })).toBe(0)
    }
    expect(scrape.samples.filter((s) => s.name === 'pino_courier_queue_capacity_records')).toEqual([])
    expect(scrape.types.get('pino_courier_queue_capacity_records')).toBe('gauge')
  })

  it('two senders sharing a name get distinct series (Prometheus rejects a scrape with a duplicate one)', () => {
    const senders = [senderStats('http', { received: 1 }), senderStats('http', { received: 2 }), senderStats('http-1', { received: 3 })]
    expect(senderLabelsOf(senders)).toEqual(['http', 'http-1_', 'http-1'])
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders }, { queueCapacities: { http: 5, 'http-1_': 6 } })
    const scrape = parsePrometheusText(text)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'http' })).toBe(1)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'http-1_' })).toBe(2)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'http-1' })).toBe(3)
    expect(scrape.value('pino_courier_queue_capacity_records', { sender: 'http-1_' })).toBe(6)
  })

  it('a custom sender whose stats() leave fields out: those samples are left out, never "undefined"', () => {
    const partial = { name: 'custom', received: 4, delivered: 4 } as unknown as SenderStats
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders: [partial, senderStats('http', { received: 2 })] })
    expect(text).not.toContain('undefined')
    const scrape = parsePrometheusText(text)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'custom' })).toBe(4)
    expect(scrape.value('pino_courier_failed_records_total', { sender: 'custom' })).toBeUndefined()
    expect(scrape.value('pino_courier_dropped_records_total', { sender: 'custom', reason: 'overflow' })).toBe(0)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'http' })).toBe(2)
  })

  it("renders a grouped sender's live groups, telling a key from the shared groups by kind (exact series)", () => {
    const group = (key: string, kind: 'key' | 'missing' | 'overflow', n: number) => ({
      key,
      kind,
      received: n,
      queued: 1,
      queuedBytes: 10,
      inFlight: 0,
      delivered: n - 3,
      failed: 0,
      spooled: 0,
      dropped: { overflow: 2, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 },
    })
    const groups = {
      by: 'tenant',
      live: 2,
      maxGroups: 256,
      list: [group('a"b', 'key', 9), group('(missing)', 'missing', 5)],
      pruned: { groups: 0, received: 0, delivered: 0, failed: 0, spooled: 0, dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 } },
    }
    const text = renderPrometheusText({ lines: 14, malformed: 0, senders: [senderStats('http', { groups }), senderStats('file')] })
    const series = text.split('\n').filter((line) => line.startsWith('pino_courier_group'))
    expect(series).toEqual([
      'pino_courier_groups{sender="http"} 2',
      'pino_courier_group_received_records_total{sender="http",group="a\\"b",kind="key"} 9',
      'pino_courier_group_received_records_total{sender="http",group="(missing)",kind="missing"} 5',
      'pino_courier_group_delivered_records_total{sender="http",group="a\\"b",kind="key"} 6',
      'pino_courier_group_delivered_records_total{sender="http",group="(missing)",kind="missing"} 2',
      'pino_courier_group_queued_records{sender="http",group="a\\"b",kind="key"} 1',
      'pino_courier_group_queued_records{sender="http",group="(missing)",kind="missing"} 1',
      ...['a\\"b', '(missing)'].flatMap((key) =>
        ['overflow', 'closed', 'oversize', 'spoolFull', 'spoolError'].map(
          (reason) =>
            `pino_courier_group_dropped_records_total{sender="http",group="${key}",kind="${key === '(missing)' ? 'missing' : 'key'}",reason="${reason}"} ${reason === 'overflow' ? 2 : 0}`,
        ),
      ),
    ])
  })

  it('keeps group keys that are not text (lone surrogates) apart once encoded: no duplicate series, and no entry that is not a group fails the scrape', () => {
    const group = (key: string) => ({
      key,
      kind: 'key',
      received: 1,
      queued: 0,
      queuedBytes: 0,
      inFlight: 0,
      delivered: 1,
      failed: 0,
      spooled: 0,
      dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 },
    })
    // JSON.parse reads "\ud800" as a lone surrogate: not text, each is U+FFFD once the scrape is UTF-8.
    const groups = {
      by: 'tenant',
      live: 4,
      maxGroups: 256,
      list: [group('\ud800'), group('\udc00'), group('\\ud800'), group('\ufffd'), null],
      pruned: { groups: 0, received: 0, delivered: 0, failed: 0, spooled: 0, dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 } },
    }
    const text = renderPrometheusText({ lines: 4, malformed: 0, senders: [senderStats('http', { groups } as unknown as Partial<SenderStats>)] })
    const scraped = Buffer.from(text, 'utf8').toString('utf8')
    // The parser fails on a series seen twice.
    const scrape = parsePrometheusText(scraped)
    const keys = scrape.samples.filter((s) => s.name === 'pino_courier_group_received_records_total').map((s) => s.labels.group)
    // A key that is text keeps its label; a lone surrogate is written as its escape (the same at every
    // scrape), with "_" added when a key that is text has that label.
    expect(keys).toEqual(['\\ud800_', '\\udc00', '\\ud800', '\ufffd'])
    expect(scraped).toBe(text)
  })

  it('renders histograms in seconds, with cumulative buckets up to +Inf, _sum and _count (exact text)', () => {
    const h: Histogram = { bounds: [1, 2.5, 10], counts: [1, 0, 2, 1], sum: 31.5, count: 4 }
    const stats = senderStats('http', { timings: { attemptMs: h, deliveryMs: h, queueWaitMs: h, batchRecords: h } })
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders: [stats] })
    expect(text).toContain(
      [
        '# TYPE pino_courier_request_duration_seconds histogram',
        'pino_courier_request_duration_seconds_bucket{sender="http",le="0.001"} 1',
        'pino_courier_request_duration_seconds_bucket{sender="http",le="0.0025"} 1',
        'pino_courier_request_duration_seconds_bucket{sender="http",le="0.01"} 3',
        'pino_courier_request_duration_seconds_bucket{sender="http",le="+Inf"} 4',
        'pino_courier_request_duration_seconds_sum{sender="http"} 0.0315',
        'pino_courier_request_duration_seconds_count{sender="http"} 4',
        '',
      ].join('\n'),
    )
    // Records are not durations: no conversion.
    expect(text).toContain(
      [
        'pino_courier_batch_records_bucket{sender="http",le="1"} 1',
        'pino_courier_batch_records_bucket{sender="http",le="2.5"} 1',
        'pino_courier_batch_records_bucket{sender="http",le="10"} 3',
        'pino_courier_batch_records_bucket{sender="http",le="+Inf"} 4',
        'pino_courier_batch_records_sum{sender="http"} 31.5',
        'pino_courier_batch_records_count{sender="http"} 4',
        '',
      ].join('\n'),
    )
  })

  it('renders a sender\'s real timings: the parser finds every histogram consistent', () => {
    const t = timings((r) => {
      for (const ms of [0.5, 3, 40, 40, 700, 45_000]) r.attempt(ms)
      r.delivery(120)
      r.dispatched(250, 1000)
      r.dispatched(5000, undefined)
    })
    const scrape = parsePrometheusText(renderPrometheusText({ lines: 0, malformed: 0, senders: [senderStats('http', { timings: t })] }))
    for (const name of ['pino_courier_request_duration_seconds', 'pino_courier_delivery_duration_seconds', 'pino_courier_queue_wait_seconds', 'pino_courier_batch_records']) {
      expect(scrape.types.get(name)).toBe('histogram')
    }
    const attempts = scrape.histogram('pino_courier_request_duration_seconds', { sender: 'http' })
    expect(attempts?.count).toBe(6)
    expect(attempts?.sum).toBeCloseTo(45.7835, 6)
    expect(attempts?.buckets.map((b) => b.le)).toEqual([...DURATION_BOUNDS_MS.map((ms) => ms / 1000), Number.POSITIVE_INFINITY])
    expect(attempts?.buckets.find((b) => b.le === 0.05)?.count).toBe(4)
    expect(attempts?.buckets.find((b) => b.le === 30)?.count).toBe(5)
    expect(scrape.histogram('pino_courier_queue_wait_seconds', { sender: 'http' })).toMatchObject({ count: 1, sum: 1 })
    expect(scrape.histogram('pino_courier_batch_records', { sender: 'http' })).toMatchObject({ count: 2, sum: 5250 })
    expect(scrape.histogram('pino_courier_batch_records', { sender: 'http' })?.buckets.find((b) => b.le === 250)?.count).toBe(1)
  })

  it('a sender without timings (a custom one) or with malformed ones gets no histogram series; the others do', () => {
    const odd = { attemptMs: { bounds: [1, 2], counts: [1], sum: 1, count: 1 } } as unknown as SenderTimings
    const senders = [senderStats('custom'), senderStats('odd', { timings: odd }), senderStats('http', { timings: timings((r) => r.attempt(5)) })]
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders })
    const scrape = parsePrometheusText(text)
    expect(text).not.toMatch(/_seconds_[a-z]+\{sender="(custom|odd)"/)
    expect(text).not.toMatch(/batch_records_[a-z]+\{sender="(custom|odd)"/)
    expect(scrape.histogram('pino_courier_request_duration_seconds', { sender: 'http' })?.count).toBe(1)
    expect(scrape.histogram('pino_courier_delivery_duration_seconds', { sender: 'http' })?.count).toBe(0)
  })
})

describe('parsePrometheusText on histograms', () => {
  const head = '# TYPE h histogram\n'
  it('accepts a consistent histogram', () => {
    const scrape = parsePrometheusText(`${head}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n`)
    expect(scrape.histogram('h')).toEqual({ buckets: [{ le: 1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 2 }], sum: 3, count: 2 })
  })
  it.each([
    ['buckets that are not cumulative', 'h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 3\nh_count 1\n'],
    ['a +Inf bucket that is not _count', 'h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 3\n'],
    ['no +Inf bucket', 'h_bucket{le="1"} 1\nh_sum 3\nh_count 1\n'],
    ['no _sum', 'h_bucket{le="+Inf"} 1\nh_count 1\n'],
    ['le not ascending', 'h_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 3\nh_count 1\n'],
    ['a bucket without le', 'h_bucket 1\nh_bucket{le="+Inf"} 1\nh_sum 3\nh_count 1\n'],
  ])('refuses %s', (_what, body) => {
    expect(() => parsePrometheusText(head + body)).toThrow()
  })
})
