// The bench's scenarios (issue: "Benchmarks against pino's floor and peer transports"). Each runs
// every target it applies to; `quick` shrinks them for a smoke run (CI), keeping their shape.
// `sinkOnly`: only targets that ship to the sink; `targets`: only these (and a target with a
// `scenarios` list of its own runs only in those); `slow`: fewer repetitions; `concurrent`: the
// targets run side by side.
import { FANOUT_SENDERS } from './targets.mjs'

/**
 * @typedef {import('./run-one.mjs').Scenario & {
 *   title: string,
 *   sinkOnly?: boolean,
 *   slow?: boolean,
 *   concurrent?: boolean,
 *   targets?: string[],
 * }} BenchScenario
 */

/** @returns {BenchScenario[]} */
export function scenarios({ quick = false, outageSeconds = 60 } = {}) {
  const scale = quick ? 10 : 1
  // The quick fault still outlasts batch.maxWaitMs (1 s), so that batches do meet it.
  const paceMs = quick ? 3000 : 5000
  const faultMs = quick ? 2000 : 3000
  const outageMs = 1000 * (quick ? 5 : outageSeconds)
  return [
    {
      id: 'a',
      title: `(a) burst of ${fmt(100_000 / scale)} records, sink answers after 50 ms`,
      mode: 'burst',
      count: 100_000 / scale,
      latencyMs: 50,
    },
    {
      id: 'b',
      title: `(b) burst of ${fmt(200_000 / scale)} records, sink answers at once (CPU-bound)`,
      mode: 'burst',
      count: 200_000 / scale,
      latencyMs: 0,
    },
    {
      id: 'c-503',
      title: `(c) ${fmt(20_000 / scale)} records paced over ${seconds(paceMs)}, sink answers 503 for the first ${seconds(faultMs)}`,
      mode: 'paced',
      count: 20_000 / scale,
      durationMs: paceMs,
      latencyMs: 50,
      fault: '503',
      faultMs,
      sinkOnly: true,
      slow: true,
    },
    {
      id: 'c-refuse',
      title: `(c) ${fmt(20_000 / scale)} records paced over ${seconds(paceMs)}, sink refuses connections for the first ${seconds(faultMs)}`,
      mode: 'paced',
      count: 20_000 / scale,
      durationMs: paceMs,
      latencyMs: 50,
      fault: 'refuse',
      faultMs,
      sinkOnly: true,
      slow: true,
    },
    {
      id: 'd',
      title: `(d) ${seconds(outageMs)} outage (connections refused) at 5,000 records/s, default queue bounds, then recovery`,
      mode: 'paced',
      count: (5000 * outageMs) / 1000,
      durationMs: outageMs,
      latencyMs: 0,
      fault: 'refuse',
      faultMs: outageMs,
      sinkOnly: true,
      slow: true,
      // Light on CPU (5,000 records/s), long, and measured by memory and counters: the targets
      // run side by side, each against its own sink.
      concurrent: true,
    },
    {
      id: 'e',
      title: `(e) process.exit() right after ${fmt(10_000 / scale)} records, sink answers after 50 ms`,
      mode: 'burst',
      count: 10_000 / scale,
      latencyMs: 50,
      exit: 'exit',
      sinkOnly: true,
    },
    {
      id: 'f',
      title:
        `(f) fan-out: burst of ${fmt(100_000 / scale)} records to one pino-courier transport with ` +
        `${FANOUT_SENDERS.join(', ')} http senders, sink answers after 50 ms (received counts every sender's copy)`,
      mode: 'burst',
      count: 100_000 / scale,
      latencyMs: 50,
      targets: ['raw-floor', ...FANOUT_SENDERS.map((n) => `courier-fanout-${n}`)],
    },
  ]
}

function seconds(ms) {
  return `${ms / 1000} s`
}

function fmt(n) {
  return n.toLocaleString('en-US')
}
