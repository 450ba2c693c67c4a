/**
 * The ledger checks of the fault-injection suite: every record received is delivered, failed or
 * dropped (by reason), nothing is left queued or in flight after close, and the sink's own count of
 * distinct records (deduplicated by idempotency key) equals `delivered`, with no duplicates counted
 * either by key or by record. A failed check prints the whole ledger next to the sink's tally.
 */
import { expect } from 'vitest'
import type { CourierCloseReport, CourierStats, DropReason, SenderStats } from '../../src/index.js'
import type { FaultSink, SinkTally } from './fault-sink.js'

/** One sender's books after close, from the close event or from the stderr line. */
export interface Ledger {
  readonly source: 'close event' | 'stderr'
  readonly sender: string
  readonly received: number
  readonly queued: number
  readonly inFlight: number
  readonly delivered: number
  readonly failed: number
  readonly dropped: Readonly<Record<DropReason, number>>
  /** Not on the stderr line (undefined there). */
  readonly retried: number | undefined
  readonly attempts: number | undefined
  readonly undelivered: number
  readonly abandonedAtDeadline: number
  readonly timedOut: boolean
  /** The full stats (close event only). */
  readonly stats: SenderStats | undefined
}

/** The ledger of one sender in a close report. */
export function ledgerOf(report: CourierCloseReport, sender = 'http'): Ledger {
  const found = report.senders.find((s) => s.name === sender)
  if (!found) throw new Error(`no sender "${sender}" in the close report: ${JSON.stringify(report)}`)
  const s = found.stats
  return {
    source: 'close event',
    sender,
    received: s.received,
    queued: s.queued,
    inFlight: s.inFlight,
    delivered: s.delivered,
    failed: s.failed,
    dropped: s.dropped,
    retried: s.retried,
    attempts: s.attempts,
    undelivered: found.undelivered,
    abandonedAtDeadline: found.abandonedAtDeadline,
    timedOut: found.timedOut,
    stats: s,
  }
}

const CLOSE_LINE =
  /^pino-courier: closed; (\d+) of (\d+) records could not be delivered( \(close deadline passed, (\d+) abandoned\))?(?: - (.*))?$/m

/**
 * The ledger of one sender from the transport's stderr close report (written only when something
 * was not delivered; the only report that survives `process.exit()`). The line has no `delivered`:
 * it is `received - undelivered`, which holds once close has settled every queued and in-flight
 * record (queued and inFlight are taken as 0). With one sender, its `received` is the line's total.
 */
export function ledgerFromStderr(stderr: string, sender = 'http'): Ledger | undefined {
  const line = CLOSE_LINE.exec(stderr)
  if (!line) return undefined
  const [, undelivered, received, deadline, abandoned, parts = ''] = line
  const part = new RegExp(
    `(?:^|; )${sender}: (\\d+) \\(failed (\\d+), dropped overflow (\\d+), closed (\\d+), oversize (\\d+)[;)]`,
  ).exec(parts)
  const [, senderUndelivered = '0', failed = '0', overflow = '0', closed = '0', oversize = '0'] = part ?? []
  return {
    source: 'stderr',
    sender,
    received: Number(received),
    queued: 0,
    inFlight: 0,
    delivered: Number(received) - Number(undelivered),
    failed: Number(failed),
    // The stderr line names the spool's reasons only when they happened; these scenarios have no spool.
    dropped: { overflow: Number(overflow), closed: Number(closed), oversize: Number(oversize), spoolFull: 0, spoolError: 0 },
    retried: undefined,
    attempts: undefined,
    undelivered: Number(senderUndelivered),
    abandonedAtDeadline: deadline ? Number(abandoned) : 0,
    timedOut: deadline !== undefined,
    stats: undefined,
  }
}

function droppedTotal(d: Readonly<Partial<Record<DropReason, number>>>): number {
  // Every reason, the spool's included (these scenarios run without one: they stay 0).
  return (d.overflow ?? 0) + (d.closed ?? 0) + (d.oversize ?? 0) + (d.spoolFull ?? 0) + (d.spoolError ?? 0)
}

/** One readable line of a ledger. */
export function describeLedger(l: Ledger): string {
  const d = l.dropped
  return (
    `${l.sender} (${l.source}): received ${l.received} = delivered ${l.delivered} + failed ${l.failed}` +
    ` + dropped overflow ${d.overflow} / closed ${d.closed} / oversize ${d.oversize}` +
    ` (+ queued ${l.queued}, inFlight ${l.inFlight}); retried ${l.retried ?? '?'}, attempts ${l.attempts ?? '?'};` +
    ` undelivered ${l.undelivered}, abandoned at deadline ${l.abandonedAtDeadline}, timedOut ${l.timedOut}`
  )
}

/** One readable line of a sink tally. */
export function describeTally(t: SinkTally): string {
  const outcomes = Object.entries(t.outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')
  const statuses = Object.entries(t.statuses)
    .map(([s, n]) => `${s}×${n}`)
    .join(', ')
  return (
    `sink: ${t.requests} requests (${outcomes || 'none'}${statuses ? `; statuses ${statuses}` : ''}),` +
    ` ${t.distinctKeys} distinct keys, ${t.distinctRecords} distinct records,` +
    ` duplicates: ${t.duplicateKeys} by key, ${t.duplicateRecords} by record, ${t.acceptedWithoutKey} without key`
  )
}

function tallyOf(sink: FaultSink | SinkTally): SinkTally {
  return 'tally' in sink ? sink.tally() : sink
}

/**
 * Checks the books after close: nothing queued or in flight, `received = delivered + failed +
 * dropped.*`, the report's `undelivered` agrees, and the sink kept exactly `delivered` distinct
 * records with no duplicate (by idempotency key or by record). `received`, when given, is what the
 * sender must have received. Returns the ledger; prints ledger and tally on failure.
 */
export function expectLedger(
  report: CourierCloseReport | Ledger,
  sink: FaultSink | SinkTally,
  expected: { received?: number; sender?: string } = {},
): Ledger {
  const ledger = 'senders' in report ? ledgerOf(report, expected.sender) : report
  const tally = tallyOf(sink)
  const problems: string[] = []
  const check = (ok: boolean, what: string): void => void (ok || problems.push(what))
  const settled = ledger.delivered + ledger.failed + droppedTotal(ledger.dropped)

  check(ledger.queued === 0, `queued is ${ledger.queued} after close, not 0`)
  check(ledger.inFlight === 0, `inFlight is ${ledger.inFlight} after close, not 0`)
  check(
    ledger.received === settled + ledger.queued + ledger.inFlight,
    `received ${ledger.received} != delivered + failed + dropped + queued + inFlight = ${settled + ledger.queued + ledger.inFlight}`,
  )
  check(
    ledger.undelivered === ledger.failed + droppedTotal(ledger.dropped),
    `undelivered ${ledger.undelivered} != failed + dropped = ${ledger.failed + droppedTotal(ledger.dropped)}`,
  )
  check(
    ledger.abandonedAtDeadline <= ledger.dropped.closed,
    `abandonedAtDeadline ${ledger.abandonedAtDeadline} > dropped.closed ${ledger.dropped.closed}`,
  )
  check(ledger.abandonedAtDeadline === 0 || ledger.timedOut, `${ledger.abandonedAtDeadline} records abandoned at the deadline, but timedOut is false`)
  if (expected.received !== undefined) {
    check(ledger.received === expected.received, `received ${ledger.received}, expected ${expected.received}`)
  }
  check(
    tally.distinctRecords === ledger.delivered,
    `the sink kept ${tally.distinctRecords} distinct records, the sender counts ${ledger.delivered} delivered`,
  )
  check(tally.duplicateKeys === 0, `${tally.duplicateKeys} batches accepted twice (same idempotency key)`)
  check(tally.duplicateRecords === 0, `${tally.duplicateRecords} records accepted more than once`)
  check(tally.acceptedWithoutKey === 0, `${tally.acceptedWithoutKey} accepted requests had no idempotency-key`)

  const summary = `${describeLedger(ledger)}\n${describeTally(tally)}`
  expect(problems, `ledger check failed:\n${summary}\n`).toEqual([])
  note(summary)
  return ledger
}

/** Every `courier:stats` snapshot balances: received = queued + inFlight + delivered + failed + dropped. */
export function expectSnapshotsBalance(snapshots: readonly CourierStats[], sender = 'http'): void {
  const unbalanced = snapshots.flatMap((snapshot, k) => {
    const s = snapshot.senders.find((x) => x.name === sender)
    if (!s) return [`snapshot ${k}: no sender "${sender}"`]
    const sum = s.queued + s.inFlight + s.delivered + s.failed + droppedTotal(s.dropped)
    return sum === s.received ? [] : [`snapshot ${k}: received ${s.received} != ${sum} (${JSON.stringify(s)})`]
  })
  expect(unbalanced, `${snapshots.length} 'courier:stats' snapshots`).toEqual([])
}

/** Writes a line to stderr when FAULTS_VERBOSE is set: the observed numbers of a scenario. */
export function note(text: string): void {
  if (process.env.FAULTS_VERBOSE) process.stderr.write(`[faults] ${expect.getState().currentTestName ?? ''}\n  ${text.replace(/\n/g, '\n  ')}\n`)
}
