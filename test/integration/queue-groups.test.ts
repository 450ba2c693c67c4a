/**
 * Queue groups through the real transport: pino in a worker thread, a real HTTP server answering
 * slowly. A noisy tenant's burst must not cost a quiet tenant any record, and the stats that reach
 * the app say whose records were dropped.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError, type CourierCloseReport, type CourierStats, type CourierWarning, type TransportOptions } from '../../src/index.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { endIfOpen, endTransport, flushLogger, nextEvent, waitUntil, type TransportStream } from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const { defer, sink } = useCleanups()

function courierTransport(options: TransportOptions): TransportStream {
  const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
  defer(() => endIfOpen(transport))
  return transport
}

describe('queue groups through the transport', () => {
  it("delivers every record of a quiet tenant during a noisy tenant's burst, and counts the noisy one's drops under its key", async () => {
    const noisyCount = 20_000
    const quietCount = 100
    const http = await sink(() => ({ status: 204, delayMs: 50 }))
    const transport = courierTransport({
      stderr: false,
      statsIntervalMs: 50,
      closeTimeoutMs: 9000,
      senders: [
        {
          type: 'http',
          url: http.url,
          groupBy: 'tenant',
          queue: { maxRecords: 1000 },
          pool: { concurrency: 1 },
          batch: { maxRecords: 100, maxWaitMs: 20 },
        },
      ],
    })
    const stats: CourierStats[] = []
    transport.on('courier:stats', (s: CourierStats) => stats.push(s))
    const warnings: CourierWarning[] = []
    transport.on('courier:warning', (w: CourierWarning) => warnings.push(w))
    const logger = pino(transport)
    const every = noisyCount / quietCount
    for (let i = 0, q = 0; i < noisyCount; i++) {
      logger.info({ tenant: 'noisy', i }, 'noisy')
      if (i % every === every - 1) logger.info({ tenant: 'quiet', q: q++ }, 'quiet')
    }
    await flushLogger(logger)
    // A stats event during the run already names the groups, the most-dropping first.
    await waitUntil(() => (stats.at(-1)?.senders[0]?.groups?.list.length ?? 0) === 2, 'a courier:stats event with both groups')
    expect(stats.at(-1)?.senders[0]?.groups?.list[0]?.key).toBe('noisy')

    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    await endTransport(transport)
    const report = await closed
    const records = http.records()
    const quiet = records.filter((r) => r.tenant === 'quiet').map((r) => r.q)
    const noisy = records.filter((r) => r.tenant === 'noisy')
    expect(quiet.sort((a, b) => (a as number) - (b as number))).toEqual([...Array(quietCount).keys()])

    const sender = report.senders[0]?.stats
    const groups = sender?.groups
    expect(groups?.by).toBe('tenant')
    const byKey = Object.fromEntries((groups?.list ?? []).map((g) => [g.key, g]))
    expect(byKey.quiet).toMatchObject({ received: quietCount, delivered: quietCount, queued: 0, inFlight: 0 })
    expect(byKey.quiet?.dropped.overflow).toBe(0)
    expect(byKey.noisy).toMatchObject({ received: noisyCount, delivered: noisy.length })
    expect(byKey.noisy?.dropped.overflow).toBe(noisyCount - noisy.length)
    expect(sender?.dropped.overflow).toBe(noisyCount - noisy.length)
    expect(noisy.length).toBeLessThan(noisyCount)
    // The warnings say whose records were dropped: the noisy tenant's only.
    const drops = warnings.filter((w) => w.kind === 'dropped')
    expect(drops.length).toBeGreaterThan(0)
    expect(drops.reduce((n, w) => n + (w.groups?.noisy ?? 0), 0)).toBe(noisyCount - noisy.length)
    expect(drops.every((w) => w.groups?.quiet === undefined)).toBe(true)
    expect(drops[0]?.message).toContain('by group: "noisy"')
  })

  it('names the option path of a bad group option at start-up', () => {
    const parse = (sender: Record<string, unknown>): ConfigError => {
      try {
        parseTransportOptions({ senders: [{ type: 'http', url: 'http://127.0.0.1:1', ...sender }] })
      } catch (error) {
        if (error instanceof ConfigError) return error
        throw error
      }
      throw new Error('expected a ConfigError')
    }
    expect(parse({ groupBy: 5 }).paths).toEqual(['senders[0].groupBy'])
    expect(parse({ groupBy: 't', group: { maxGroups: -1 } }).paths).toEqual(['senders[0].group.maxGroups'])
    expect(parse({ groupBy: 't', group: { maxTotalBytes: 100 } }).paths).toEqual(['senders[0].group.maxTotalBytes'])
  })
})
