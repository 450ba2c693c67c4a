import type { SenderStats } from '../../src/stats/delivery-stats.js'

/** A SenderStats with every counter at 0 (no timings, as a custom sender's may be); `overrides` set some. */
export function senderStats(name: string, overrides: Partial<SenderStats> = {}): SenderStats {
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
