import { describe, expect, it } from 'vitest'
import { DROP_REASONS, renderPrometheusText, type CourierStats, type SenderStats } from '../../src/index.js'
import { senderLabels as senderLabelsOf } from '../../src/metrics/prometheus-text.js'
import { parsePrometheusText } from './prom-parse.js'

function senderStats(name: string, overrides: Partial<SenderStats> = {}): SenderStats {
  return {
    name,
    received: 0,
    queued: 0,
    queuedBytes: 0,
    inFlight: 0,
    spooled: 0,
    spooledBytes: 0,
    recovered: 0,
    delivered: 0,
    deliveredBytes: 0,
    retried: 0,
    failed: 0,
    deadLettered: 0,
    dropped: { overflow: 0, closed: 0, oversize: 0, spoolFull: 0, spoolError: 0 },
    attempts: 0,
    recentFailures: [],
    ...overrides,
  }
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
        '# HELP pino_courier_queue_capacity_records Most records the queue holds (queue.maxRecords).',
        '# TYPE pino_courier_queue_capacity_records gauge',
        'pino_courier_queue_capacity_records{sender="http"} 10000',
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
})
