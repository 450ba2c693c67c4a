// Turns the runs into medians, markdown tables and the issue's targets (met or not).

/** Median of the numbers among `values` (undefined when there are none). */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return undefined
  const mid = xs.length >> 1
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2
}

/** The floors other rows are paired with, and the column heading of the log-call ratio to each. */
export const FLOORS = [
  { name: 'pino-file', heading: '× pino/file' },
  { name: 'pat-floor', heading: '× p-a-t floor' },
  { name: 'raw-floor', heading: '× raw floor' },
]

/**
 * One row per (scenario, target): the median of each figure over the repetitions. The comparisons
 * with a floor are medians of per-repetition pairs with that floor's run of the same scenario and
 * repetition: runs close in time share the machine's mood, so pairing them cancels part of the
 * drift that a ratio of two medians would keep. `ratio[floor]` is log-call time over the floor's,
 * `rssOver[floor]` is peak RSS minus the floor's (MB).
 */
export function aggregate(runs) {
  const runOf = new Map()
  const key = (scenario, rep, target) => `${scenario}\u0000${rep}\u0000${target}`
  for (const run of runs) runOf.set(key(run.scenario, run.rep, run.target), run)
  const paired = (run, floor, f) => {
    const other = runOf.get(key(run.scenario, run.rep, floor))
    return other ? f(run, other) : undefined
  }
  const groups = new Map()
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.target}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(run)
  }
  const rows = []
  for (const group of groups.values()) {
    const pick = (f) => median(group.map(f))
    const first = group[0]
    const perFloor = (f) => Object.fromEntries(FLOORS.map(({ name }) => [name, pick((r) => paired(r, name, f))]))
    rows.push({
      scenario: first.scenario,
      target: first.target,
      reps: group.length,
      sent: first.sent,
      expected: first.expected ?? first.sent,
      syncMs: pick((r) => r.syncMs),
      ratio: perFloor((r, floor) => r.syncMs / floor.syncMs),
      rssOver: perFloor((r, floor) => r.rssMb - floor.rssMb),
      eldP50: pick((r) => r.eld.p50),
      eldP99: pick((r) => r.eld.p99),
      eldMax: pick((r) => r.eld.max),
      rssMb: pick((r) => r.rssMb),
      exitBlockMs: pick((r) => r.exitBlockMs),
      closeMs: pick((r) => r.closeMs),
      goneMs: pick((r) => r.goneMs),
      killed: group.filter((r) => r.killed).length,
      received: pick((r) => r.received),
      // The worst repetition: one lost record or one duplicate is what a user notices.
      receivedMin: Math.min(...group.map((r) => r.received ?? Number.POSITIVE_INFINITY)),
      duplicates: Math.max(...group.map((r) => r.duplicates ?? 0)),
      requests: pick((r) => r.requests),
      failedRequests: pick((r) => r.failedRequests),
      lastRecordMs: pick((r) => r.lastRecordMs),
      tailMs: pick((r) => r.tailMs),
      recordsPerSec: pick((r) => (r.received && r.lastRecordMs ? (r.received / r.lastRecordMs) * 1000 : undefined)),
      // The worst repetition's ledger, like receivedMin; unknown if any repetition's is.
      ledger: group.some((r) => r.ledger === undefined)
        ? undefined
        : group.map((r) => r.ledger).reduce((worst, l) => (l.undelivered > worst.undelivered ? l : worst)),
    })
  }
  return rows
}

const num = (v, digits = 0) =>
  v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const pct = (part, whole) => (part === undefined || !whole ? '–' : `${num((100 * part) / whole, part === whole ? 0 : 1)}%`)

/** Markdown table of one scenario's rows. */
export function scenarioTable(scenario, rows, targets) {
  const label = (name) => targets.find((t) => t.name === name)?.label ?? name
  // A ratio column per floor run in this scenario (the floor's own row shows 1.00×).
  const floors = FLOORS.filter((f) => rows.some((r) => r.target === f.name))
  const header = [
    'target',
    'log calls ms',
    ...floors.map((f) => f.heading),
    'loop delay p50 / p99 / max ms',
    'received',
    'dup',
    'last record ms',
    'after last log ms',
    'exit blocks ms',
    'gone ms',
    'peak RSS MB',
  ]
  if (scenario.id === 'b') header.push('records/s')
  if (scenario.fault && scenario.fault !== 'none') header.push('requests (503s)')
  header.push('pino-courier ledger')
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) {
    const exitBlock = row.closeMs !== undefined ? `${num(row.closeMs)} (close)` : num(row.exitBlockMs)
    const cells = [
      label(row.target),
      num(row.syncMs),
      ...floors.map((f) => (row.ratio[f.name] === undefined ? '–' : `${num(row.ratio[f.name], 2)}×`)),
      `${num(row.eldP50, 1)} / ${num(row.eldP99, 1)} / ${num(row.eldMax, 1)}`,
      row.received === undefined ? '–' : pct(row.receivedMin, row.expected),
      row.received === undefined ? '–' : num(row.duplicates),
      num(row.lastRecordMs),
      num(row.tailMs),
      row.killed ? `${exitBlock} (killed)` : exitBlock,
      num(row.goneMs),
      num(row.rssMb),
    ]
    if (scenario.id === 'b') cells.push(num(row.recordsPerSec))
    if (scenario.fault && scenario.fault !== 'none') cells.push(`${num(row.requests)} (${num(row.failedRequests)})`)
    cells.push(ledgerText(row.ledger, targets.find((t) => t.name === row.target)?.group === 'courier'))
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function ledgerText(ledger, courier) {
  if (!ledger) return courier ? 'unknown' : ''
  const spooled = ledger.spooled ? `${num(ledger.spooled)} left in the spool for the next start` : ''
  if (ledger.undelivered === 0) return spooled ? `nothing lost; ${spooled}` : 'nothing lost'
  const parts = [
    ledger.failed && `failed ${num(ledger.failed)}`,
    ledger.overflow && `dropped overflow ${num(ledger.overflow)}`,
    ledger.closed && `dropped at close ${num(ledger.closed)}`,
    ledger.oversize && `oversize ${num(ledger.oversize)}`,
    ledger.spoolFull && `spool full ${num(ledger.spoolFull)}`,
    ledger.spoolError && `spool error ${num(ledger.spoolError)}`,
  ].filter(Boolean)
  return `${num(ledger.undelivered)} counted: ${parts.join(', ')}${spooled ? `; ${spooled}` : ''}`
}

/** Default queue bound of pino-courier (queue.maxBytes), for target (d). */
const QUEUE_BOUND_MB = 32 * 1.048576

/**
 * The issues' targets for the default pino-courier row, each with the measured figure. Issue 11's
 * compare it with the floors that ship to the same sink (raw-floor, pat-floor), by per-repetition
 * pairs; a floor that did not run leaves its checks out (or unknown, for (d)).
 * @returns {{ target: string, met: boolean | undefined, measured: string }[]}
 */
export function checkTargets(rows) {
  const row = (scenario, target) => rows.find((r) => r.scenario === scenario && r.target === target)
  const checks = []
  const add = (target, met, measured) => checks.push({ target, met, measured })
  /** Met if `value` is at most `bound`; unknown (undefined) without a value. */
  const atMost = (value, bound) => (value === undefined ? undefined : value <= bound)
  const paired = 'median of paired runs'
  const courier = (s) => row(s, 'courier')

  const a = courier('a')
  const fileA = row('a', 'pino-file')
  if (a && fileA) {
    add(
      '(a) app-side cost ≤ 1.1× pino/file',
      atMost(a.ratio['pino-file'], 1.1),
      `${num(a.ratio['pino-file'], 2)}× (${paired}; medians ${num(a.syncMs)} ms vs ${num(fileA.syncMs)} ms)`,
    )
    add(
      '(a) event-loop p99 ≤ pino/file + 1 ms',
      a.eldP99 <= fileA.eldP99 + 1,
      `${num(a.eldP99, 1)} ms vs ${num(fileA.eldP99, 1)} ms`,
    )
    add('(a) peak RSS ≤ pino/file + 30 MB', a.rssMb <= fileA.rssMb + 30, `${num(a.rssMb)} MB vs ${num(fileA.rssMb)} MB`)
  }
  if (a) {
    add('(a) 100% received', a.receivedMin === a.sent, pct(a.receivedMin, a.sent))
    add('(a) last record ≤ 100 ms after the last log call', a.tailMs <= 100, `${num(a.tailMs)} ms`)
    add('(a) closing blocks ≤ 100 ms', a.exitBlockMs <= 100, `${num(a.exitBlockMs)} ms`)
  }
  // Issue 11: against the floors that ship to the same sink, paired per repetition.
  for (const id of ['a', 'b']) {
    const c = courier(id)
    if (!c) continue
    const pat = row(id, 'pat-floor')
    if (pat) {
      add(
        `(${id}) log-call cost ≤ 1.05× the pino-abstract-transport floor`,
        atMost(c.ratio['pat-floor'], 1.05),
        `${num(c.ratio['pat-floor'], 2)}× (${paired}; medians ${num(c.syncMs)} ms vs ${num(pat.syncMs)} ms)`,
      )
    }
    const raw = row(id, 'raw-floor')
    if (raw) {
      add(
        `(${id}) peak RSS ≤ raw floor + 30 MB`,
        atMost(c.rssOver['raw-floor'], 30),
        `${signed(c.rssOver['raw-floor'])} MB (${paired}; medians ${num(c.rssMb)} MB vs ${num(raw.rssMb)} MB)`,
      )
    }
  }
  const b = courier('b')
  if (b) {
    const peers = rows.filter((r) => r.scenario === 'b' && ['pino-http-send', 'pino-loki', 'axiom'].includes(r.target))
    const fastest = peers.reduce((best, r) => ((r.recordsPerSec ?? 0) > (best?.recordsPerSec ?? 0) ? r : best), undefined)
    if (fastest) {
      add(
        '(b) ≥ 2× the records/s of the fastest peer',
        b.recordsPerSec >= 2 * fastest.recordsPerSec,
        `${num(b.recordsPerSec)}/s vs ${num(fastest.recordsPerSec)}/s (${fastest.target}): ${num(b.recordsPerSec / fastest.recordsPerSec, 1)}×`,
      )
    }
  }
  for (const id of ['c-503', 'c-refuse']) {
    const c = courier(id)
    if (!c) continue
    add(`(${id}) 100% received, no duplicates`, c.receivedMin === c.sent && c.duplicates === 0, `${pct(c.receivedMin, c.sent)}, ${c.duplicates} duplicates`)
    add(`(${id}) close blocks ≤ 100 ms after recovery`, c.exitBlockMs <= 100, `${num(c.exitBlockMs)} ms`)
  }
  const d = courier('d')
  if (d) {
    const raw = row('d', 'raw-floor')
    const allowance = QUEUE_BOUND_MB + 30
    add(
      `(d) peak RSS ≤ raw floor + queue bound (32 MiB) + 30 MB`,
      raw ? atMost(d.rssOver['raw-floor'], allowance) : undefined,
      raw
        ? `${signed(d.rssOver['raw-floor'])} MB, allowed +${num(allowance)} MB (${paired}; ${num(d.rssMb)} MB vs ${num(raw.rssMb)} MB)`
        : `${num(d.rssMb)} MB (no raw floor run in (d))`,
    )
    const counted = (d.received ?? 0) + (d.ledger?.undelivered ?? 0)
    add(
      '(d) every record delivered or counted',
      counted === d.sent && d.duplicates === 0,
      `${num(d.received)} received + ${num(d.ledger?.undelivered ?? 0)} counted = ${num(counted)} of ${num(d.sent)}`,
    )
  }
  const e = courier('e')
  if (e) {
    add('(e) process.exit(): 100% received', e.receivedMin === e.sent, pct(e.receivedMin, e.sent))
    add('(e) process gone ≤ 300 ms after the last log call', e.goneMs <= 300, `${num(e.goneMs)} ms`)
  }
  // Issue 12: each backend sink delivers whole, and OTLP's protobuf encoding keeps up at a 0 ms sink.
  for (const id of ['a', 'b']) {
    for (const target of ['courier-otlp', 'courier-otlp-json', 'courier-loki', 'courier-es']) {
      const r = row(id, target)
      if (r) add(`(${id}) ${target}: 100% received, no duplicates`, r.receivedMin === r.sent && r.duplicates === 0, `${pct(r.receivedMin, r.sent)}, ${r.duplicates} duplicates`)
    }
  }
  const otlp = row('b', 'courier-otlp')
  if (otlp) add('(b) otlp protobuf ≥ 100,000 records/s', atMost(100_000, otlp.recordsPerSec ?? 0), `${num(otlp.recordsPerSec)}/s`)
  return checks
}

const signed = (v) => (v === undefined ? '–' : `${v >= 0 ? '+' : '−'}${num(Math.abs(v))}`)

export function targetsTable(checks) {
  const lines = ['| target | met | measured |', '|---|---|---|']
  for (const c of checks) lines.push(`| ${c.target} | ${c.met === undefined ? '?' : c.met ? 'yes' : '**no**'} | ${c.measured} |`)
  return lines.join('\n')
}
