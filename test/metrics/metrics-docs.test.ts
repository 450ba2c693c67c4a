/**
 * docs/metrics.md and docs/opentelemetry.md against the code: their tables name exactly the families
 * the Prometheus endpoint renders (with their types) and the instruments the bridge registers, and the
 * bucket bounds they list are the senders' bounds.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderPrometheusText } from '../../src/metrics/prometheus-text.js'
import { otelInstrumentNames } from '../../src/metrics/otel-instruments.js'
import { BATCH_RECORDS_BOUNDS, DURATION_BOUNDS_MS } from '../../src/stats/timings.js'
import { PROJECT_ROOT } from '../helpers/child-process.js'

const read = (path: string): string => readFileSync(join(PROJECT_ROOT, path), 'utf8')

/**
 * The first column (a name in backticks) and the second of every row naming `prefix…` in the tables of
 * five columns (name, type, …: the series and instruments tables, not the bounds table).
 */
function tableRows(markdown: string, prefix: string): [string, string][] {
  const rows: [string, string][] = []
  for (const line of markdown.split('\n')) {
    const match = /^\| `([^`]+)` \| ([^|]+?) \|/.exec(line)
    const cells = line.split(' | ').length
    if (match && cells >= 5 && (match[1] as string).startsWith(prefix)) rows.push([match[1] as string, (match[2] as string).trim()])
  }
  return rows
}

describe('docs/metrics.md', () => {
  const doc = read('docs/metrics.md')

  it('lists every family the endpoint renders, with its type, and no other', () => {
    const text = renderPrometheusText({ lines: 0, malformed: 0, senders: [] })
    const rendered = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]).sort()
    const listed = tableRows(doc, 'pino_courier_').sort()
    expect(listed).toEqual(rendered)
  })

  it('gives the bucket bounds the senders use, in seconds and records', () => {
    expect(doc).toContain(`| ${DURATION_BOUNDS_MS.map((ms) => ms / 1000).join(', ')} seconds, then +Inf |`)
    expect(doc).toContain(`| ${BATCH_RECORDS_BOUNDS.join(', ')} records, then +Inf |`)
  })
})

describe('docs/opentelemetry.md', () => {
  it('lists every instrument the bridge registers, and no other', () => {
    const listed = tableRows(read('docs/opentelemetry.md'), 'pino_courier.').map(([name]) => name)
    expect(listed.sort()).toEqual(otelInstrumentNames().sort())
  })
})
