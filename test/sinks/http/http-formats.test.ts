/**
 * The http sender's bodies beyond plain NDJSON/JSON (added fields, Splunk HEC events), the answers it
 * reads (HEC's 400, a count of refused records) and the 413 split, against real servers on 127.0.0.1.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { LevelMap } from '../../../src/config/levels.js'
import { createRecord, LogRecord } from '../../../src/input/record.js'
import { createHttpSender, type HttpSender, type HttpSenderOptions } from '../../../src/sinks/http/http-sender.js'
import { HttpSink } from '../../../src/sinks/http/http-sink.js'
import { hecTime } from '../../../src/sinks/http/record-body.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'
import type { Batch, DeliveryResult } from '../../../src/sinks/sink.js'
import type { SenderEvents, SenderContext } from '../../../src/senders/sender.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { useCleanups } from '../../helpers/cleanups.js'
import type { ReceivedRequest } from '../../helpers/http-sink.js'

const cleanups = useCleanups()

function sender(options: HttpSenderOptions, context?: SenderContext): HttpSender {
  const created = createHttpSender({ batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options }, context)
  cleanups.defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

function send(target: HttpSender, lines: readonly string[]): void {
  for (const line of lines) expect(target.send(createRecord(line))).toBe(true)
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

const T = 1_700_000_000_123
const line = (i: number, extra = ''): string => `{"level":30,"time":${T + i},"msg":"m${i}","i":${i}${extra}}`
const bodyLines = (request: ReceivedRequest): string[] => request.body.split('\n').filter((l) => l !== '')
const iOf = (request: ReceivedRequest): number[] => bodyLines(request).map((l) => (JSON.parse(l) as { i: number }).i)

/** A hand-made batch over the log's own bytes, counting how often its records are made. */
function batchOf(lines: readonly string[]): Batch & { made: number } {
  const records = lines.map((l) => createRecord(l))
  const batch = {
    id: 'batch-1',
    bytes: records.reduce((n, r) => n + r.bytes, 0),
    made: 0,
    get records() {
      batch.made++
      return records
    },
    ndjson: () => [Buffer.from(lines.map((l) => `${l}\n`).join(''))],
  }
  return batch
}

describe('413: the batch is split and sent again', () => {
  it('delivers every record once when the server takes at most 3 per request', async () => {
    const server = await cleanups.sink((request) => (bodyLines(request).length > 3 ? { status: 413, body: 'too large' } : undefined))
    const http = sender({ url: server.url })
    send(http, Array.from({ length: 10 }, (_, i) => line(i)))
    await http.flush()
    const taken = server.requests.filter((r) => bodyLines(r).length <= 3)
    expect(taken.flatMap(iOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 10, delivered: 10, failed: 0, retried: 0, attempts: 1 })
    expectLedger(stats)
  })

  it('fails the one record too large for the server, with its 413, and delivers the rest', async () => {
    const server = await cleanups.sink((request) => (request.body.length > 500 ? { status: 413, body: 'Request Entity Too Large' } : undefined))
    const http = sender({ url: server.url, format: 'json' })
    const failures: SenderEvents['failure'][0][] = []
    http.on('failure', (f) => failures.push(f))
    send(http, Array.from({ length: 6 }, (_, i) => line(i, i === 4 ? `,"pad":"${'x'.repeat(600)}"` : '')))
    await http.flush()
    const taken = server.requests.filter((r) => r.body.length <= 500).flatMap((r) => (JSON.parse(r.body) as { i: number }[]).map((x) => x.i))
    expect(taken.sort()).toEqual([0, 1, 2, 3, 5])
    expect(http.stats()).toMatchObject({ received: 6, delivered: 5, failed: 1 })
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ records: 1, reason: 'permanent', status: 413 })
    expect(failures[0]?.error).toMatch(/record too large for the server: HTTP 413/)
    expectLedger(http.stats())
  })

  it('sends the whole NDJSON batch as the record log\'s bytes without making its records; a 413 makes them once', async () => {
    let refuse = false
    const server = await cleanups.sink((request) => (refuse && bodyLines(request).length > 1 ? { status: 413 } : undefined))
    const sink = new HttpSink({ url: server.url })
    cleanups.defer(() => sink.close())
    const lines = [line(1), line(2), line(3)]
    const whole = batchOf(lines)
    await sink.deliver(whole, { signal: AbortSignal.timeout(10_000), attempt: 1 })
    expect(whole.made).toBe(0)
    expect(server.requests[0]?.body).toBe(`${lines.join('\n')}\n`)
    refuse = true
    const split = batchOf(lines)
    expect(await sink.deliver(split, { signal: AbortSignal.timeout(10_000), attempt: 1 })).toMatchObject({ rejected: [], retry: [] })
    expect(server.requests.slice(1).map(iOf)).toEqual([[1, 2, 3], [1], [2, 3], [2], [3]])
    expect(split.made).toBeGreaterThan(0)
  })

  it('gives each part of a split batch an idempotency key of its own, the same when that part goes again', async () => {
    const server = await cleanups.sink((request) => (bodyLines(request).length > 2 ? { status: 413 } : undefined))
    const sink = new HttpSink({ url: server.url })
    cleanups.defer(() => sink.close())
    const lines = [line(1), line(2), line(3), line(4)]
    await sink.deliver(batchOf(lines), { signal: AbortSignal.timeout(10_000), attempt: 1 })
    await sink.deliver(batchOf(lines), { signal: AbortSignal.timeout(10_000), attempt: 2 })
    const keys = server.requests.map((r) => r.headers['idempotency-key'])
    expect(keys.slice(0, 3)).toEqual(['batch-1', 'batch-1/0-1', 'batch-1/2-3'])
    expect(keys.slice(3)).toEqual(keys.slice(0, 3))
  })
})

describe('addFields', () => {
  it('writes the record\'s time (RFC 3339, UTC) and level name first, the rest of the line as received', async () => {
    const server = await cleanups.sink()
    const http = sender({ url: server.url, addFields: { time: 'dt', level: 'status' } })
    const lines = [line(0), '{"level":50,"time":1700000000,"msg":"unix seconds"}', '{ "level" : 40 , "msg":"spaced" }', '{}']
    send(http, lines)
    await http.flush()
    const now = Date.now()
    // The error record is a flush level: it sends its batch at once; the rest comes in a second one.
    const sent = server.requests.flatMap(bodyLines)
    expect(sent[0]).toBe(`{"dt":"2023-11-14T22:13:20.123Z","status":"info",${line(0).slice(1)}`)
    expect(sent[1]).toBe('{"dt":"2023-11-14T22:13:20.000Z","status":"error","level":50,"time":1700000000,"msg":"unix seconds"}')
    // No time in the record: its arrival time.
    const spaced = JSON.parse(sent[2] as string) as { dt: string; status: string; msg: string }
    expect(Math.abs(Date.parse(spaced.dt) - now)).toBeLessThan(60_000)
    expect(sent[2]).toMatch(/^\{"dt":"[^"]+","status":"warn", "level" : 40 , "msg":"spaced" \}$/)
    // An empty record (the parser gives it the fallback level 30).
    expect(sent[3]).toMatch(/^\{"dt":"[^"]+","status":"info"\}$/)
    for (const l of sent) JSON.parse(l)
  })

  it('reads every time form pino writes, and names custom levels as the logger does', async () => {
    const server = await cleanups.sink()
    const levels = new LevelMap({ trace: 10, debug: 20, info: 30, audit: 35, warn: 40, error: 50, fatal: 60 })
    const http = sender({ url: server.url, format: 'json', addFields: { time: '_time', level: 'lvl' } }, { levels })
    const lines: string[] = []
    for (const timestamp of [pino.stdTimeFunctions.epochTime, pino.stdTimeFunctions.unixTime, pino.stdTimeFunctions.isoTime, pino.stdTimeFunctions.isoTimeNano, pino.stdTimeFunctions.nullTime]) {
      const logger = pino({ timestamp, customLevels: { audit: 35 } }, { write: (l: string) => void lines.push(l.trim()) })
      logger.audit('x')
    }
    const before = Date.now() - 2000
    send(http, lines)
    await http.flush()
    const sent = JSON.parse(server.requests[0]?.body ?? '[]') as { _time: string; lvl: string; time?: unknown }[]
    expect(sent).toHaveLength(5)
    for (const record of sent) {
      expect(record.lvl).toBe('audit')
      expect(record._time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(Date.parse(record._time)).toBeGreaterThanOrEqual(before)
      expect(Date.parse(record._time)).toBeLessThanOrEqual(Date.now() + 1000)
    }
    expect(sent[2]?._time).toBe(sent[2]?.time)
  })

  it('writes the fields after the opening brace of a line that starts with whitespace (valid JSON, as the parser keeps it)', async () => {
    const server = await cleanups.sink()
    const http = sender({ url: server.url, format: 'json', addFields: { time: 'dt', level: 'status' } })
    send(http, ['  {"level":30,"time":1700000000123,"msg":"indented"}', '\t{ }'])
    await http.flush()
    // The whole request is one JSON array: a record spliced wrong would make it all a 400.
    const sent = JSON.parse(server.requests[0]?.body ?? '') as Record<string, unknown>[]
    expect(sent[0]).toEqual({ dt: '2023-11-14T22:13:20.123Z', status: 'info', level: 30, time: 1_700_000_000_123, msg: 'indented' })
    expect(sent[1]).toMatchObject({ status: 'info' })
    expect(server.requests[0]?.body).toMatch(/^\[\{"dt":"2023-11-14T22:13:20\.123Z","status":"info","level":30,/)
    expect(http.stats()).toMatchObject({ delivered: 2, failed: 0 })
  })

  it('leaves a record\'s own field of the same name after the added one (parsers keeping the last take the record\'s)', async () => {
    const server = await cleanups.sink()
    const http = sender({ url: server.url, addFields: { time: 'dt' } })
    send(http, ['{"level":30,"time":1700000000123,"dt":"mine"}'])
    await http.flush()
    expect(server.requests[0]?.body).toBe('{"dt":"2023-11-14T22:13:20.123Z","level":30,"time":1700000000123,"dt":"mine"}\n')
    expect((JSON.parse(server.requests[0]?.body ?? '') as { dt: string }).dt).toBe('mine')
  })
})

describe('the time the http sender reads (the shared RecordFields.recordTimeMs) and hecTime', () => {
  const fields = new RecordFields()
  const arrival = 1_111_111_111_111
  const at = (l: string): number => fields.recordTimeMs(new LogRecord(l, 30, false, undefined, undefined, undefined, arrival))

  it('reads pino\'s time where pino writes it, and elsewhere from the parsed record, alike', () => {
    expect(at('{"level":30,"time":1700000000123,"msg":"x"}')).toBe(1_700_000_000_123)
    expect(at('{"time":1700000000,"level":30}')).toBe(1_700_000_000_000)
    expect(at('{"level":"info","time":"2023-11-14T22:13:20.123Z"}')).toBe(1_700_000_000_123)
    expect(at('{"msg":"x","nested":{"time":5},"time":1700000000123}')).toBe(1_700_000_000_123)
    expect(at('{"level":30,"time":"1700000000123"}')).toBe(1_700_000_000_123)
    expect(at('{"level":30,"msg":"no time"}')).toBe(arrival)
    expect(at('{"level":30,"time":"garbage 2020"}')).toBe(arrival)
    expect(at('{"level":30,"time":-5}')).toBe(arrival)
  })

  it('writes HEC\'s time as epoch seconds with three digits of ms', () => {
    expect(hecTime(1_700_000_000_123)).toBe('1700000000.123')
    expect(hecTime(1_700_000_000_000)).toBe('1700000000.000')
    expect(hecTime(1_700_000_000_007.9)).toBe('1700000000.007')
    expect(hecTime(999)).toBe('0.999')
  })
})

describe("format: 'splunk-hec'", () => {
  const token = 'Splunk 11111111-2222-3333-4444-555555555555'

  it('posts one {"time","event"} envelope per record to /services/collector/event, the record spliced in as received', async () => {
    const server = await cleanups.sink(() => ({ status: 200, body: '{"text":"Success","code":0}' }))
    const base = server.url.replace('/logs', '')
    const http = sender({
      url: base,
      format: 'splunk-hec',
      splunk: { source: 'checkout', sourcetype: '_json', index: 'main', host: 'web-1' },
      headers: { authorization: token },
    })
    const lines = [line(0), '{"level":30,"time":"2023-11-14T22:13:20.5Z","msg":"iso", "spaced" : [1, 2.50]}', '{"level":30,"msg":"no time"}']
    send(http, lines)
    await http.flush()
    const request = server.requests[0] as ReceivedRequest
    expect(request.url).toBe('/services/collector/event')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers.authorization).toBe(token)
    const sent = bodyLines(request)
    expect(sent[0]).toBe(`{"time":1700000000.123,"host":"web-1","source":"checkout","sourcetype":"_json","index":"main","event":${lines[0]}}`)
    expect(sent[1]).toBe(`{"time":1700000000.500,"host":"web-1","source":"checkout","sourcetype":"_json","index":"main","event":${lines[1]}}`)
    const third = JSON.parse(sent[2] as string) as { time: number }
    expect(Math.abs(third.time * 1000 - Date.now())).toBeLessThan(60_000)
    expect(http.stats()).toMatchObject({ delivered: 3, failed: 0 })
  })

  it('keeps a URL path of its own, and sends no metadata it was not given', async () => {
    const server = await cleanups.sink()
    const http = sender({ url: `${server.url.replace('/logs', '')}/splunk/services/collector?channel=x`, format: 'splunk-hec', headers: { authorization: token } })
    send(http, [line(0)])
    await http.flush()
    expect(server.requests[0]?.url).toBe('/splunk/services/collector?channel=x')
    expect(server.requests[0]?.body).toBe(`{"time":1700000000.123,"event":${line(0)}}\n`)
  })

  it('400 naming invalid-event-number N: the events before N delivered, N failed with HEC\'s reason, the rest retried once', async () => {
    const server = await cleanups.sink((request, index) =>
      index === 0
        ? { status: 400, body: '{"text":"Invalid data format","code":6,"invalid-event-number":2}' }
        : { status: 200, body: '{"text":"Success","code":0}' },
    )
    const http = sender({ url: server.url, format: 'splunk-hec', headers: { authorization: token } })
    const failures: SenderEvents['failure'][0][] = []
    http.on('failure', (f) => failures.push(f))
    send(http, Array.from({ length: 5 }, (_, i) => line(i)))
    await http.flush()
    const events = (request: ReceivedRequest): number[] => bodyLines(request).map((l) => (JSON.parse(l) as { event: { i: number } }).event.i)
    expect(server.requests.map(events)).toEqual([
      [0, 1, 2, 3, 4],
      [3, 4],
    ])
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 5, delivered: 4, failed: 1, retried: 2 })
    expect(failures[0]).toMatchObject({ records: 1, reason: 'permanent', status: 400 })
    expect(failures[0]?.error).toContain('HEC code 6: Invalid data format')
    expectLedger(stats)
  })

  it('400 "Incorrect index" (code 7) at N: the events from N on failed, none retried (they share the index)', async () => {
    const server = await cleanups.sink(() => ({ status: 400, body: '{"text":"Incorrect index","code":7,"invalid-event-number":0}' }))
    const http = sender({ url: server.url, format: 'splunk-hec', splunk: { index: 'not-allowed' }, headers: { authorization: token } })
    send(http, Array.from({ length: 4 }, (_, i) => line(i)))
    await http.flush()
    expect(server.requests).toHaveLength(1)
    expect(http.stats()).toMatchObject({ delivered: 0, failed: 4, retried: 0 })
    expect(http.stats().recentFailures[0]?.error).toContain('HEC code 7: Incorrect index')
  })

  it('a 400 without an event number, or with one out of range, fails the whole request; a 403 too; a 503 is retried whole', async () => {
    const answers = [
      { status: 400, body: '{"text":"No data","code":5}' },
      { status: 400, body: '{"text":"Invalid data format","code":6,"invalid-event-number":9}' },
      { status: 403, body: '{"text":"Invalid token","code":4}' },
      { status: 503, body: '{"text":"Server is busy","code":9,"invalid-event-number":1}' },
    ]
    const server = await cleanups.sink((_request, index) => answers[index] ?? { status: 200, body: '{"text":"Success","code":0}' })
    const http = sender({ url: server.url, format: 'splunk-hec', headers: { authorization: token }, batch: { maxRecords: 2, maxWaitMs: 60_000 }, pool: { concurrency: 1 } })
    send(http, Array.from({ length: 8 }, (_, i) => line(i)))
    await http.flush()
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 8, delivered: 2, failed: 6, retried: 2 })
    expect(stats.recentFailures.map((f) => f.status)).toEqual([400, 400, 403])
    expect(stats.recentFailures[0]?.error).toContain('No data')
    // The retried 503 went whole: both its events again.
    expect(bodyLines(server.requests[4] as ReceivedRequest)).toHaveLength(2)
    expectLedger(stats)
  })
})

describe('rejectedCountField', () => {
  it('counts the records a 2xx answer says it refused as failed, not delivered, and does not send them again', async () => {
    const server = await cleanups.sink((request) => {
      const n = bodyLines(request).length
      return { status: 200, body: JSON.stringify({ ingested: n - 2, failed: 2, failures: [{ timestamp: '2024-01-01T00:00:00Z', error: 'field limit reached' }] }) }
    })
    const http = sender({ url: server.url, rejectedCountField: 'failed' })
    send(http, Array.from({ length: 10 }, (_, i) => line(i)))
    await http.flush()
    const stats = http.stats()
    expect(server.requests).toHaveLength(1)
    expect(stats).toMatchObject({ received: 10, delivered: 8, failed: 2, retried: 0 })
    expect(stats.recentFailures[0]?.error).toContain('field limit reached')
    expectLedger(stats)
  })

  it('quotes the whole answer as the reason when it lists no failures', async () => {
    const server = await cleanups.sink(() => ({ status: 200, body: '{"accepted":1,"dropped":2}' }))
    const http = sender({ url: server.url, rejectedCountField: 'dropped' })
    send(http, Array.from({ length: 3 }, (_, i) => line(i)))
    await http.flush()
    expect(http.stats()).toMatchObject({ delivered: 1, failed: 2 })
    expect(http.stats().recentFailures[0]?.error).toContain('{"accepted":1,"dropped":2}')
  })

  it('takes a 2xx answer that is not JSON, or has no such count, as the whole batch accepted', async () => {
    const server = await cleanups.sink((_request, index) => (index === 0 ? { status: 202, body: 'ok' } : { status: 200, body: '{"ingested":3}' }))
    const http = sender({ url: server.url, rejectedCountField: 'failed', batch: { maxRecords: 3, maxWaitMs: 60_000 }, pool: { concurrency: 1 } })
    send(http, Array.from({ length: 6 }, (_, i) => line(i)))
    await http.flush()
    expect(http.stats()).toMatchObject({ delivered: 6, failed: 0 })
  })
})

describe('options', () => {
  it('refuses splunk metadata without format splunk-hec, and bad new options, naming the option', () => {
    const url = 'http://127.0.0.1:9/x'
    const refused = (options: Record<string, unknown>): ConfigError => {
      try {
        createHttpSender({ url, ...options } as HttpSenderOptions)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return error as ConfigError
      }
      throw new Error('accepted')
    }
    expect(refused({ splunk: { index: 'main' } }).paths).toEqual(['splunk'])
    expect(refused({ format: 'splunk-hec', splunk: { indx: 'main' } }).paths).toEqual(['splunk.indx'])
    expect(refused({ format: 'splunk-hec', splunk: { index: '' } }).paths).toEqual(['splunk.index'])
    expect(refused({ addFields: { time: '' } }).paths).toEqual(['addFields.time'])
    expect(refused({ addFields: { when: 'dt' } }).paths).toEqual(['addFields.when'])
    expect(refused({ rejectedCountField: 3 }).paths).toEqual(['rejectedCountField'])
    const hec = refused({ format: 'splunk-hec', rejectedCountField: 'failed' })
    expect(hec.paths).toEqual(['rejectedCountField'])
    expect(hec.message).toMatch(/^pino-courier: invalid options: rejectedCountField: not with format 'splunk-hec'/)
    expect(refused({ format: 'xml' }).paths).toEqual(['format'])
  })

  it('leaves a result of the sink untouched when it is a whole-batch success (no partial outcome)', async () => {
    const server = await cleanups.sink()
    const sink = new HttpSink({ url: server.url, format: 'splunk-hec' })
    cleanups.defer(() => sink.close())
    const result: void | DeliveryResult = await sink.deliver(batchOf([line(1)]), { signal: AbortSignal.timeout(10_000), attempt: 1 })
    expect(result).toBeUndefined()
  })
})
