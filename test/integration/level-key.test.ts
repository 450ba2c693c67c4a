/**
 * Levels through a real pino.transport() worker (issue 10, item 8): a logger whose formatters.level
 * writes `severity`, a logger with only custom levels and no `error`, and an app that waits for the
 * transport's 'ready' before it creates the logger. Resolved by package name: `npm run build` first.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { TransportOptions } from '../../src/index.js'
import { endIfOpen, flushLogger, nextEvent, waitUntil, type TransportStream } from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const { defer, sink } = useCleanups()

function courierTransport(options: TransportOptions): TransportStream {
  const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
  defer(() => endIfOpen(transport))
  return transport
}

/** Batches that never leave on their own: only a flushLevel record, flush or close send them. */
const QUIET = { batch: { maxWaitMs: 3_600_000 }, pool: { concurrency: 1 } }

describe('levelKey: formatters.level writing { severity: "ERROR" } (Google Cloud convention)', () => {
  it('routes by severity: a sender at error gets only ERROR and FATAL, and an ERROR record flushes its batch at once', async () => {
    const all = await sink()
    const errors = await sink()
    const transport = courierTransport({
      levelKey: 'severity',
      senders: [
        { type: 'http', url: all.url, name: 'all', ...QUIET },
        { type: 'http', url: errors.url, name: 'errors', level: 'error', ...QUIET },
      ],
    })
    const logger = pino({ level: 'debug', formatters: { level: (label) => ({ severity: label.toUpperCase() }) } }, transport)

    logger.debug({ i: 0 }, 'debug')
    logger.info({ i: 1 }, 'info')
    logger.warn({ i: 2 }, 'warn')
    logger.error({ i: 3 }, 'error')
    // No flush: the default flushLevel ('error') must see the ERROR record and send both batches now.
    await all.waitFor(() => all.records().length >= 4)
    await errors.waitFor(() => errors.records().length >= 1)
    logger.fatal({ i: 4 }, 'fatal')
    await flushLogger(logger)

    expect(all.records().map((r) => [r.i, r.severity])).toEqual([
      [0, 'DEBUG'],
      [1, 'INFO'],
      [2, 'WARN'],
      [3, 'ERROR'],
      [4, 'FATAL'],
    ])
    expect(errors.records().map((r) => r.i)).toEqual([3, 4])
  })
})

describe('useOnlyCustomLevels without an error level', () => {
  const customLevels = { low: 10, mid: 30, high: 55 }

  it("starts with the default flushLevel ('error' falls back to pino's 50): a high (55) record flushes at once", async () => {
    const http = await sink()
    const transport = courierTransport({ senders: [{ type: 'http', url: http.url, ...QUIET }] })
    const errors: Error[] = []
    transport.on('error', (error: Error) => errors.push(error))
    const logger = pino({ level: 'low', customLevels, useOnlyCustomLevels: true }, transport)

    logger.low({ i: 0 }, 'low')
    logger.mid({ i: 1 }, 'mid')
    logger.high({ i: 2 }, 'high')
    await http.waitFor(() => http.records().length >= 3)

    expect(http.records().map((r) => [r.i, r.level])).toEqual([
      [0, 10],
      [1, 30],
      [2, 55],
    ])
    expect(errors).toEqual([])
  })

  it('still fails the transport with a ConfigError naming the path for a level the user wrote that the logger lacks', async () => {
    const transport = courierTransport({ senders: [{ type: 'http', url: 'http://127.0.0.1:9/', batch: { flushLevel: 'error' } }] })
    const errors: Error[] = []
    transport.on('error', (error: Error) => errors.push(error))
    pino({ level: 'low', customLevels, useOnlyCustomLevels: true }, transport)

    await waitUntil(() => errors.length > 0, "the transport's 'error' event")
    expect(errors[0]?.message).toBe(
      'pino-courier: invalid options: senders[0].batch.flushLevel: unknown level "error" (known: low, mid, high)',
    )
  })
})

describe("waiting for 'ready'", () => {
  it("reports 'ready' before the logger exists, and delivers once it does (it used to wait for ever)", async () => {
    const http = await sink()
    const transport = courierTransport({ senders: [{ type: 'http', url: http.url, level: 'audit', pool: { concurrency: 1 } }] })

    await nextEvent(transport, 'ready', 10_000)
    // Created after 'ready': its levels reach the worker now, and the sender's 'audit' is resolved then.
    const logger = pino({ level: 'info', customLevels: { audit: 35 } }, transport)
    logger.info({ i: 0 }, 'info')
    logger.audit({ i: 1 }, 'audit')
    logger.error({ i: 2 }, 'error')
    await flushLogger(logger)

    expect(http.records().map((r) => r.i)).toEqual([1, 2])
  })

  it("still fails on an unknown level name when the logger comes after 'ready', naming the path", async () => {
    const transport = courierTransport({ senders: [{ type: 'http', url: 'http://127.0.0.1:9/', level: 'verbose' }] })
    const errors: Error[] = []
    transport.on('error', (error: Error) => errors.push(error))

    await nextEvent(transport, 'ready', 10_000)
    pino(transport).info('never delivered')

    await waitUntil(() => errors.length > 0, "the transport's 'error' event")
    expect(errors[0]?.message).toMatch(/^pino-courier: invalid options: senders\[0\]\.level: unknown level "verbose" \(known: /)
  })

  it("never reports 'ready' with an unknown level name when the logger is created at once (the usual order)", async () => {
    const transport = courierTransport({ senders: [{ type: 'http', url: 'http://127.0.0.1:9/', level: 'verbose' }] })
    const events: string[] = []
    transport.on('error', (error: Error) => events.push(`error: ${error.message}`))
    transport.on('ready', () => events.push('ready'))
    pino(transport)

    await waitUntil(() => events.length > 0, "the transport's 'error' event")
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(events).toEqual([expect.stringMatching(/^error: pino-courier: invalid options: senders\[0\]\.level: unknown level "verbose"/)])
  })
})
