/**
 * The in-process destination, `pino(createCourierStream(...))`: the same senders, queues and stats
 * as the transport, on this thread's event loop, against a real HTTP server.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  createCourierStream,
  createMemorySender,
  type CourierCloseReport,
  type CourierStream,
  type CourierStreamOptions,
  type CourierWarning,
} from '../../src/index.js'
import { flushLogger, nextEvent, receivedOnce, summarizeSequence } from '../fixtures/integration.js'
import { useCleanups } from '../helpers/cleanups.js'

const { defer, sink } = useCleanups()

/** A stream closed after the test (close is idempotent, so tests may close it themselves). */
function courierStream(options: CourierStreamOptions): CourierStream {
  const stream = createCourierStream(options)
  defer(() => stream.close())
  return stream
}

/** Catches what `fn` throws, for several assertions on one error. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('createCourierStream', () => {
  describe('delivery', () => {
    it('delivers 10,000 records from pino to an HTTP sink, once each and in order', async () => {
      const n = 10_000
      const http = await sink()
      const stream = courierStream({ senders: [{ type: 'http', url: http.url }] })
      const logger = pino(stream)

      for (let i = 0; i < n; i++) logger.info({ i }, 'in-process')
      await flushLogger(logger)
      expect(summarizeSequence(http.records(), n)).toMatchObject(receivedOnce(n))

      const closed = nextEvent<CourierCloseReport>(stream, 'close')
      const report = await stream.close()
      expect(await closed).toBe(report)
      expect(report).toMatchObject({ undelivered: 0, abandonedAtDeadline: 0, timedOut: false })
      expect(report.stats).toMatchObject({ lines: n, malformed: 0 })
      expect(report.senders[0]?.stats).toMatchObject({ name: 'http', received: n, delivered: n, queued: 0, inFlight: 0 })
      expect(summarizeSequence(http.records(), n)).toMatchObject(receivedOnce(n))
      // close() runs once.
      expect(await stream.close()).toBe(report)
    })

    it('logger.flush(cb) calls back only after the sink has answered', async () => {
      const http = await sink(() => ({ delayMs: 100 }))
      const stream = courierStream({
        senders: [{ type: 'http', url: http.url }],
        batch: { maxWaitMs: 600_000, maxRecords: 100_000 },
      })
      const logger = pino(stream)

      for (let i = 0; i < 30; i++) logger.info({ i }, 'before flush')
      await flushLogger(logger)
      const calledBackAt = Date.now()

      expect(summarizeSequence(http.records(), 30)).toMatchObject(receivedOnce(30))
      expect(calledBackAt - (http.requests.at(-1)?.at ?? Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(90)
      expect(stream.stats().senders[0]).toMatchObject({ delivered: 30, queued: 0, inFlight: 0 })
    })

    it('takes Sender instances next to built-in specs, each with its own level', async () => {
      const http = await sink()
      const memory = createMemorySender({ name: 'memory', level: 'warn' })
      const stream = courierStream({ senders: [memory, { type: 'http', url: http.url, pool: { concurrency: 1 } }] })
      const logger = pino(stream)

      logger.info({ i: 0 }, 'info')
      logger.warn({ i: 1 }, 'warn')
      logger.error({ i: 2 }, 'error')
      await flushLogger(logger)

      expect(stream.senders[0]).toBe(memory)
      expect(memory.values().map((v) => v.i)).toEqual([1, 2])
      expect(http.records().map((r) => r.i)).toEqual([0, 1, 2])
      const report = await stream.close()
      expect(report.senders.map((s) => s.name)).toEqual(['memory', 'http'])
      expect(memory.stats()).toMatchObject({ received: 2, delivered: 2 })
    })

    it("routes by the logger's custom levels given as customLevels, with level labels too", async () => {
      const http = await sink()
      const stream = courierStream({
        // One connection: the records are compared in order.
        senders: [{ type: 'http', url: http.url, level: 'audit', pool: { concurrency: 1 } }],
        customLevels: { audit: 35 },
      })
      const logger = pino(
        { customLevels: { audit: 35 }, formatters: { level: (label) => ({ level: label }) } },
        stream,
      )

      logger.info({ i: 0 }, 'info')
      logger.audit({ i: 1 }, 'audit')
      logger.error({ i: 2 }, 'error')
      await flushLogger(logger)

      expect(http.records().map((r) => r.i)).toEqual([1, 2])
      expect(http.records().map((r) => r.level)).toEqual(['audit', 'error'])
    })
  })

  describe('malformed input', () => {
    it('delivers a line that is not JSON as a record holding the raw text, marked malformed and counted', async () => {
      const http = await sink()
      const stream = courierStream({ senders: [{ type: 'http', url: http.url }] })

      stream.write('{"level":30,"time":1,"msg":"fine","i":0}\n')
      stream.write('not json\n')
      stream.write('{"level":40,"time":2,"msg":"after","i":2}\n')
      await stream.flush()

      const [first, wrapped, third] = http.records()
      expect(http.records()).toHaveLength(3)
      expect(first).toMatchObject({ msg: 'fine', i: 0 })
      expect(wrapped).toMatchObject({ level: 30, msg: 'not json', malformed: true })
      expect(typeof wrapped?.time).toBe('number')
      expect(third).toMatchObject({ level: 40, msg: 'after', i: 2 })
      expect(stream.stats()).toMatchObject({ lines: 3, malformed: 1 })
    })

    it('joins lines split across writes and delivers a last line without its newline at close', async () => {
      const memory = createMemorySender()
      const stream = courierStream({ senders: [memory] })

      stream.write('{"level":30,"msg":"spl')
      stream.write(Buffer.from('it","i":0}\n{"level":30,"msg":"two","i":1}\n{"level":50,"msg":"tail'))
      await stream.flush()
      expect(memory.values().map((v) => v.i)).toEqual([0, 1])

      stream.write('","i":2}')
      await stream.flush()
      // Still a partial line: nothing more until the newline or close.
      expect(memory.values()).toHaveLength(2)

      const report = await stream.close()
      expect(memory.values().map((v) => v.i)).toEqual([0, 1, 2])
      expect(memory.values()[2]).toMatchObject({ level: 50, msg: 'tail' })
      expect(report.stats).toMatchObject({ lines: 3, malformed: 0 })
      expect(report.undelivered).toBe(0)
    })

    it('delivers a non-JSON partial line at close as malformed', async () => {
      const memory = createMemorySender()
      const stream = courierStream({ senders: [memory] })

      stream.write('{"level":30,"msg":"ok"}\nSegmentation fault')
      const report = await stream.close()

      expect(memory.values()).toMatchObject([{ msg: 'ok' }, { msg: 'Segmentation fault', malformed: true, level: 30 }])
      expect(report.stats).toMatchObject({ lines: 2, malformed: 1 })
    })
  })

  describe('warnings and close', () => {
    it('reports drops through onWarning and the warning event, and counts every record at close', async () => {
      const http = await sink(() => ({ hang: true }))
      const fromOption: CourierWarning[] = []
      const stream = courierStream({
        senders: [{ type: 'http', url: http.url }],
        queue: { maxRecords: 5 },
        closeTimeoutMs: 500,
        stderr: false,
        onWarning: (warning) => fromOption.push(warning),
      })
      const fromEvent: CourierWarning[] = []
      stream.on('warning', (warning) => fromEvent.push(warning))
      const logger = pino(stream)

      for (let i = 0; i < 50; i++) logger.info({ i }, 'overflowing')
      // The first warning of a kind goes out at once.
      expect(fromOption.map((w) => w.kind)).toEqual(['dropped'])
      expect(fromEvent).toEqual(fromOption)

      const report = await stream.close()
      expect(report.timedOut).toBe(true)
      expect(report.undelivered).toBe(50)
      const stats = report.senders[0]?.stats
      expect(stats?.received).toBe(50)
      expect((stats?.dropped.overflow ?? 0) + (stats?.dropped.closed ?? 0)).toBe(50)
      expect(fromOption.filter((w) => w.kind === 'dropped').reduce((n, w) => n + w.records, 0)).toBe(50)
    })
  })

  describe('options', () => {
    it("rejects the 'block' overflow policy of a sender spec with a ConfigError naming its path", () => {
      const error = thrownBy(() =>
        createCourierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:9/logs', queue: { overflow: 'block' } }] }),
      )
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toMatch(/senders\[0\]\.queue\.overflow: "block" needs the worker transport/)
      expect((error as ConfigError).paths).toEqual(['senders[0].queue.overflow'])
    })

    it("rejects 'block' given as a default for all senders, and on a Sender instance", () => {
      const asDefault = thrownBy(() =>
        createCourierStream({
          senders: [createMemorySender(), { type: 'http', url: 'http://127.0.0.1:9/logs' }],
          queue: { overflow: 'block' },
        }),
      )
      expect(asDefault).toBeInstanceOf(ConfigError)
      expect((asDefault as ConfigError).paths).toEqual(['senders[1].queue.overflow'])

      const instance = createMemorySender({ queue: { overflow: 'block' } })
      const onInstance = thrownBy(() => createCourierStream({ senders: [createMemorySender({ name: 'ok' }), instance] }))
      expect(onInstance).toBeInstanceOf(ConfigError)
      expect((onInstance as ConfigError).paths).toEqual(['senders[1].queue.overflow'])
    })

    it("rejects a 'module' sender spec with a ConfigError naming its path", () => {
      const error = thrownBy(() =>
        createCourierStream({
          // Not part of the in-process type, but plain JavaScript callers can still pass it.
          senders: [{ type: 'module', module: '/abs/sender.mjs' } as unknown as CourierStreamOptions['senders'][number]],
        }),
      )
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toMatch(/senders\[0\]\.type: "module" senders are for the transport/)
      expect((error as ConfigError).paths).toEqual(['senders[0].type'])
    })

    it('names the path of a bad built-in spec and of a bad top-level option', () => {
      const badUrl = thrownBy(() =>
        createCourierStream({ senders: [createMemorySender(), { type: 'http', url: 'not a url' }] }),
      )
      expect(badUrl).toBeInstanceOf(ConfigError)
      expect((badUrl as ConfigError).message).toMatch(/senders\[1\]\.url: Invalid URL/)

      const badLevel = thrownBy(() =>
        createCourierStream({ senders: [{ type: 'http', url: 'http://127.0.0.1:9/logs', level: 'verbose' }] }),
      )
      expect(badLevel).toBeInstanceOf(ConfigError)
      expect((badLevel as ConfigError).message).toMatch(/senders\[0\]\.level: unknown level "verbose"/)

      const badTop = thrownBy(() => createCourierStream({ senders: [createMemorySender()], closeTimeoutMs: -1 }))
      expect(badTop).toBeInstanceOf(ConfigError)
      expect((badTop as ConfigError).paths).toContain('closeTimeoutMs')
    })
  })
})
