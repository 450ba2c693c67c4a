/**
 * Several senders inside one real `pino.transport()` worker: fan-out past a stalled sink, and
 * custom senders loaded with `{ type: 'module' }` from test/fixtures/append-sender.mjs.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  createSenders,
  type CourierCloseReport,
  type CourierStats,
  type CourierWarning,
  type SenderSpec,
  type TransportOptions,
} from '../../src/index.js'
import {
  endIfOpen,
  endTransport,
  fixture,
  flushLogger,
  nextEvent,
  perfectSequence,
  receivedOnce,
  readNdjson,
  summarizeSequence,
  waitUntil,
  type TransportStream,
} from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const APPEND_SENDER = fixture('append-sender.mjs')

const { defer, sink, tempDir } = useCleanups()

function courierTransport(options: TransportOptions): TransportStream {
  const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
  defer(() => endIfOpen(transport))
  return transport
}

function senderReport(report: CourierCloseReport, name: string): CourierCloseReport['senders'][number] {
  const found = report.senders.find((s) => s.name === name)
  if (!found) throw new Error(`no sender "${name}" in the close report`)
  return found
}

describe('fan-out', () => {
  it('a hung HTTP sink does not hold back the file sender; close reports what the HTTP sender could not deliver', async () => {
    const n = 1000
    const http = await sink(() => ({ hang: true }))
    const path = join(await tempDir(), 'app.log')
    const transport = courierTransport({
      senders: [
        // One connection, so that the first hung request holds back every later batch.
        { type: 'http', url: http.url, batch: { maxWaitMs: 50 }, pool: { concurrency: 1 } },
        { type: 'file', path },
      ],
      closeTimeoutMs: 1000,
      statsIntervalMs: 100,
      stderr: false,
    })
    const stats: CourierStats[] = []
    transport.on('courier:stats', (s: CourierStats) => stats.push(s))
    const logger = pino(transport)

    // The HTTP sender gets stuck on its first request before the bulk of the records comes.
    logger.info({ i: 0 }, 'fan-out')
    await http.waitFor(() => http.requests.length === 1)
    for (let i = 1; i < n; i++) logger.info({ i }, 'fan-out')

    await waitUntil(async () => (await readNdjson(path)).length >= n, `${n} lines in the file`)
    expect(summarizeSequence(await readNdjson(path), n)).toEqual(perfectSequence(n))

    // Meanwhile the HTTP sender is stuck on its first request, with every record still pending.
    await waitUntil(() => stats.at(-1)?.senders[1]?.delivered === n, "a 'courier:stats' after the file's delivery")
    const during = stats.at(-1) as CourierStats
    expect(during.senders[0]).toMatchObject({ name: 'http', received: n, delivered: 0 })
    expect((during.senders[0]?.queued ?? 0) + (during.senders[0]?.inFlight ?? 0)).toBe(n)
    expect(http.requests).toHaveLength(1)
    expect(http.records()).toHaveLength(0)

    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    await endTransport(transport)
    const report = await closed

    expect(report.timedOut).toBe(true)
    expect(report.undelivered).toBe(n)
    expect(report.abandonedAtDeadline).toBe(n)
    expect(senderReport(report, 'http')).toMatchObject({ undelivered: n, abandonedAtDeadline: n, timedOut: true })
    expect(senderReport(report, 'http').stats.dropped.closed).toBe(n)
    expect(senderReport(report, 'file')).toMatchObject({ undelivered: 0, timedOut: false })
    expect(senderReport(report, 'file').stats.delivered).toBe(n)
    // Nothing reached the file twice while closing.
    expect(summarizeSequence(await readNdjson(path), n)).toEqual(perfectSequence(n))
  })
})

describe("{ type: 'module' } senders", () => {
  it('loads createSender from an absolute path and feeds it through the worker, with its level and options', async () => {
    const dir = await tempDir()
    const path = join(dir, 'custom.log')
    const callsPath = join(dir, 'calls.log')
    const spec: SenderSpec = {
      type: 'module',
      module: APPEND_SENDER,
      name: 'custom',
      level: 'audit',
      options: { path, tag: 'from-test', callsPath },
    }
    const transport = courierTransport({ senders: [spec] })
    const logger = pino({ customLevels: { audit: 35 } }, transport)

    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) logger.info({ i }, 'below the sender level')
      else logger.audit({ i }, 'audited')
    }
    await flushLogger(logger)

    const lines = await readNdjson(path)
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 100 }, (_, k) => 2 * k + 1))
    expect(lines[0]).toMatchObject({ tag: 'from-test', via: 'queued', level: 35, msg: 'audited' })

    // Plain data crossed the thread boundary, merged with name and level; the logger's custom
    // levels reached the factory's context.
    const calls = await readNdjson(callsPath)
    expect(calls).toEqual([
      { optionKeys: ['callsPath', 'level', 'name', 'path', 'tag'], name: 'custom', level: 'audit', auditLevel: 35 },
    ])

    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    await endTransport(transport)
    const report = await closed
    expect(senderReport(report, 'custom')).toMatchObject({ undelivered: 0, timedOut: false })
    expect(senderReport(report, 'custom').stats).toMatchObject({ received: 100, delivered: 100 })
  })

  it('uses the named export, next to a built-in sender: a hand-written Sender gets every record', async () => {
    const n = 1000
    const http = await sink()
    const path = join(await tempDir(), 'plain.log')
    const transport = courierTransport({
      senders: [
        { type: 'module', module: APPEND_SENDER, export: 'createPlainSender', name: 'plain', options: { path, tag: 'p' } },
        { type: 'http', url: http.url },
      ],
    })
    const logger = pino(transport)

    for (let i = 0; i < n; i++) logger.info({ i }, 'both')
    await flushLogger(logger)

    expect(summarizeSequence(await readNdjson(path), n)).toEqual(perfectSequence(n))
    expect(summarizeSequence(http.records(), n)).toMatchObject(receivedOnce(n))
    expect((await readFile(path, 'utf8')).split('\n')[0]).toContain('"via":"plain"')

    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    await endTransport(transport)
    const report = await closed
    expect(report.undelivered).toBe(0)
    expect(senderReport(report, 'plain').stats.delivered).toBe(n)
  })

  it("turns a custom sender's failed flush into a warning: logger.flush(cb) succeeds and the worker lives on", async () => {
    const http = await sink()
    const path = join(await tempDir(), 'plain.log')
    const transport = courierTransport({
      senders: [
        { type: 'module', module: APPEND_SENDER, export: 'createPlainSender', name: 'plain', options: { path, tag: 'p', failFlush: 'disk gone' } },
        { type: 'http', url: http.url },
      ],
      stderr: false,
    })
    const logger = pino(transport)
    const warning = nextEvent<CourierWarning>(transport, 'courier:warning')

    for (let i = 0; i < 10; i++) logger.info({ i }, 'first')
    await flushLogger(logger)
    expect((await warning).message).toBe('pino-courier: flush failed: AggregateError: 1 sender(s) failed to flush: disk gone')
    expect(http.records()).toHaveLength(10)

    // An error given back to thread-stream would have destroyed the stream: it still delivers.
    for (let i = 10; i < 20; i++) logger.info({ i }, 'second')
    await flushLogger(logger)
    expect(summarizeSequence(http.records(), 20)).toMatchObject(receivedOnce(20))
    expect(summarizeSequence(await readNdjson(path), 20)).toEqual(perfectSequence(20))
  })

  it.each([
    {
      what: 'a module that cannot be imported',
      spec: { type: 'module', module: '/nonexistent/pino-courier-sender.mjs' } satisfies SenderSpec,
      message: /senders\[0\]\.module: cannot import "\/nonexistent\/pino-courier-sender\.mjs"/,
    },
    {
      what: 'a missing export',
      spec: { type: 'module', module: APPEND_SENDER, export: 'noSuchFactory' } satisfies SenderSpec,
      message: /senders\[0\]\.export: ".*append-sender\.mjs" has no function export "noSuchFactory"/,
    },
  ])('fails the transport in the main thread with a ConfigError for $what', async ({ spec, message }) => {
    const transport = courierTransport({ senders: [spec] })
    const errors: Error[] = []
    transport.on('error', (error: Error) => errors.push(error))
    const logger = pino(transport)
    logger.info('never delivered')

    await waitUntil(() => errors.length > 0, "the transport's 'error' event")
    expect(errors[0]?.message).toMatch(/^pino-courier: invalid options: /)
    expect(errors[0]?.message).toMatch(message)
  })

  it('names the failing spec in the ConfigError paths when the senders are built in process', async () => {
    const goodFirst: SenderSpec = { type: 'module', module: APPEND_SENDER, options: { path: '/dev/null' } }
    const cases: [SenderSpec, string][] = [
      [{ type: 'module', module: '/nonexistent/pino-courier-sender.mjs' }, 'senders[1].module'],
      [{ type: 'module', module: APPEND_SENDER, export: 'noSuchFactory' }, 'senders[1].export'],
      [{ type: 'module', module: APPEND_SENDER, export: 'createNotASender' }, 'senders[1].export'],
    ]
    for (const [bad, path] of cases) {
      const error = await createSenders([goodFirst, bad], {}).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).paths).toEqual([path])
      expect((error as ConfigError).message).toContain(`pino-courier: invalid options: ${path}: `)
    }
  })
})

describe('encoding', () => {
  it('passes multi-byte UTF-8 through the worker intact, across many reads of pino\'s ring buffer', async () => {
    // ~8 MB of 2-, 3- and 4-byte characters: far more than thread-stream's 4 MiB ring holds at once, so
    // lines reach the transport in many chunks, and chunk ends fall inside lines.
    const n = 3000
    const text = 'é☃𝄞日本語'.repeat(200)
    const path = join(await tempDir(), 'utf8.log')
    const transport = courierTransport({ senders: [{ type: 'file', path }] })
    const logger = pino(transport)

    for (let i = 0; i < n; i++) logger.info({ i, text: `${i}:${text}` }, 'utf8')
    await flushLogger(logger)

    const records = await readNdjson(path)
    expect(summarizeSequence(records, n)).toEqual(perfectSequence(n))
    for (const record of records) expect(record.text).toBe(`${String(record.i)}:${text}`)
    await endTransport(transport)
  })
})
