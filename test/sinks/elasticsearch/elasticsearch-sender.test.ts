import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import {
  createElasticsearchSender,
  type ElasticsearchSender,
  type ElasticsearchSenderOptions,
} from '../../../src/sinks/elasticsearch/elasticsearch-sender.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { configErrorOf as configError } from '../../helpers/config-error.js'
import { startFakeElasticsearch, type FakeElasticsearch, type FakeOptions } from './fake-elasticsearch.js'

type FailureEvent = SenderEvents['failure'][0]
type RetryEvent = SenderEvents['retry'][0]

const { defer, tempDir } = useCleanups()

afterEach(() => {
  vi.useRealTimers()
})

/** 2023-11-14T22:13:20.000Z */
const T0 = 1_700_000_000_000

async function fake(options: FakeOptions = {}): Promise<FakeElasticsearch> {
  const started = await startFakeElasticsearch(options)
  defer(() => started.close())
  return started
}

/** A sender whose batches leave only on flush() (or a full batch), with fast retries. */
function sender(options: ElasticsearchSenderOptions): ElasticsearchSender {
  const created = createElasticsearchSender({ batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options })
  defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

function send(target: ElasticsearchSender, lines: readonly string[]): void {
  for (const text of lines) expect(target.send(createRecord(text))).toBe(true)
}

const line = (i: number, extra = ''): string => `{"level":30,"time":${T0 + i},"msg":"m${i}","i":${i}${extra}}`
const lines = (n: number): string[] => Array.from({ length: n }, (_, i) => line(i))

/** Every record the sender received is delivered, failed, dropped, queued or in flight. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

/** The action/document pairs of a bulk body. */
function pairs(body: string): { action: Record<string, Record<string, unknown>>; doc: Record<string, unknown> }[] {
  const all = body.trimEnd().split('\n')
  const out = []
  for (let k = 0; k < all.length; k += 2) {
    out.push({ action: JSON.parse(all[k] as string) as Record<string, Record<string, unknown>>, doc: JSON.parse(all[k + 1] as string) as Record<string, unknown> })
  }
  return out
}

function failures(target: ElasticsearchSender): FailureEvent[] {
  const seen: FailureEvent[] = []
  target.on('failure', (failure) => seen.push(failure))
  return seen
}

function retries(target: ElasticsearchSender): RetryEvent[] {
  const seen: RetryEvent[] = []
  target.on('retry', (retry) => seen.push(retry))
  return seen
}

describe('ElasticsearchSender', () => {
  describe('request', () => {
    it('POSTs NDJSON to /_bulk: an action line and the record line per record, a trailing newline, filter_path', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs' })
      send(s, lines(3))
      await s.flush()

      expect(es.requests).toHaveLength(1)
      const request = es.requests[0]
      expect(request?.method).toBe('POST')
      expect(request?.path).toBe('/_bulk')
      expect(request?.query.get('filter_path')).toBe('errors,items.*.status,items.*.error')
      expect(request?.headers['content-type']).toBe('application/x-ndjson')
      expect(request?.body.endsWith('}\n')).toBe(true)
      const sent = pairs(request?.body ?? '')
      expect(sent.map((p) => Object.keys(p.action))).toEqual([['create'], ['create'], ['create']])
      expect(sent.map((p) => p.action.create?._index)).toEqual(['logs', 'logs', 'logs'])
      expect(sent.map((p) => p.doc.i)).toEqual([0, 1, 2])
      expect(s.stats()).toMatchObject({ received: 3, delivered: 3, failed: 0 })
      expect([...es.docs.values()].map((d) => d.source.msg)).toEqual(['m0', 'm1', 'm2'])
    })

    it('keeps the record line as it came, the @timestamp spliced after its opening brace', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs' })
      const original = '{"level":30,"time":1700000000000,"msg":"caf\u00e9 \\"q\\" \\u2028","nested":{"a":[1,2,{"b":null}]}}'
      send(s, [original])
      await s.flush()

      const body = es.requests[0]?.body ?? ''
      expect(body.split('\n')[1]).toBe(`{"@timestamp":"2023-11-14T22:13:20.000Z",${original.slice(1)}`)
    })

    it.each([
      { base: '', path: '/_bulk' },
      { base: '/', path: '/_bulk' },
      { base: '/logs-x/_bulk', path: '/logs-x/_bulk' },
    ])('sends to $path when the URL path is "$base"', async ({ base, path }) => {
      const es = await fake()
      const s = sender({ url: `http://127.0.0.1:${es.port}${base}`, index: 'logs' })
      send(s, lines(1))
      await s.flush()
      expect(es.requests[0]?.path).toBe(path)
      expect(s.stats().delivered).toBe(1)
    })

    it('uses a path behind a proxy as given, keeping its query', async () => {
      const es = await fake({ prefix: '/es' })
      const s = sender({ url: `${es.url}/_bulk?refresh=false`, index: 'logs' })
      send(s, lines(2))
      await s.flush()
      expect(es.requests[0]?.path).toBe('/_bulk')
      expect(es.requests[0]?.query.get('refresh')).toBe('false')
      expect(s.stats().delivered).toBe(2)
    })

    it('names the pipeline in each action and uses opType index when asked', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs', pipeline: 'geoip-v1', opType: 'index' })
      send(s, lines(2))
      await s.flush()
      const sent = pairs(es.requests[0]?.body ?? '')
      expect(sent.map((p) => p.action.index?.pipeline)).toEqual(['geoip-v1', 'geoip-v1'])
      expect([...es.docs.values()].map((d) => d.pipeline)).toEqual(['geoip-v1', 'geoip-v1'])
    })

    it('gzips the body when asked', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs', gzip: true })
      send(s, lines(50))
      await s.flush()
      expect(es.requests[0]?.headers['content-encoding']).toBe('gzip')
      expect(es.requests[0]?.raw.length).toBeLessThan(Buffer.byteLength(es.requests[0]?.body ?? ''))
      expect(es.docs.size).toBe(50)
    })

    it('sends extra headers, and may replace the content type', async () => {
      const es = await fake()
      const s = sender({
        url: es.url,
        index: 'logs',
        headers: { 'X-Opaque-Id': 'app-1', 'Content-Type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8' },
      })
      send(s, lines(1))
      await s.flush()
      expect(es.requests[0]?.headers['x-opaque-id']).toBe('app-1')
      expect(es.requests[0]?.headers['content-type']).toBe('application/vnd.elasticsearch+x-ndjson; compatible-with=8')
      expect(s.stats().delivered).toBe(1)
    })
  })

  describe('_id', () => {
    it('gives each record the identity of its record, unique in the batch and across batches', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs' })
      send(s, lines(3))
      await s.flush()
      send(s, lines(3))
      await s.flush()
      const ids = es.requests.flatMap((r) => pairs(r.body).map((p) => p.action.create?._id as string))
      expect(new Set(ids).size).toBe(6)
      for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}:\d+$/)
      expect(es.docs.size).toBe(6)
    })

    it('keeps the _ids of the records a part retry sends again (not their new positions)', async () => {
      const es = await fake({
        item: ({ doc, seen }) => ((doc.i as number) % 3 === 1 && seen === 1 ? { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' } : undefined),
      })
      const s = sender({ url: es.url, index: 'logs' })
      send(s, lines(9))
      await s.flush()

      expect(es.requests).toHaveLength(2)
      const first = pairs(es.requests[0]?.body ?? '')
      const second = pairs(es.requests[1]?.body ?? '')
      expect(second.map((p) => p.doc.i)).toEqual([1, 4, 7])
      const firstIds = new Map(first.map((p) => [p.doc.i, p.action.create?._id]))
      for (const p of second) expect(p.action.create?._id).toBe(firstIds.get(p.doc.i))
      expect(s.stats()).toMatchObject({ received: 9, delivered: 9, failed: 0, retried: 3 })
      expect(es.writes).toHaveLength(9)
    })
  })

  describe('index names and time', () => {
    it.each([
      { form: 'epoch ms (pino default)', record: `{"level":30,"time":${Date.UTC(2024, 1, 29, 23, 59, 59, 999)},"msg":"x"}`, index: 'logs-2024.02.29', ts: '2024-02-29T23:59:59.999Z' },
      { form: 'epoch seconds (unixTime)', record: `{"level":30,"time":${Date.UTC(2024, 0, 1, 0, 0, 1) / 1000},"msg":"x"}`, index: 'logs-2024.01.01', ts: '2024-01-01T00:00:01.000Z' },
      { form: 'ISO (isoTime)', record: '{"level":30,"time":"2024-03-10T01:02:03.456Z","msg":"x"}', index: 'logs-2024.03.10', ts: '2024-03-10T01:02:03.456Z' },
      { form: 'ISO with nanoseconds (isoTimeNano)', record: '{"level":30,"time":"2024-03-10T01:02:03.456789123Z","msg":"x"}', index: 'logs-2024.03.10', ts: '2024-03-10T01:02:03.456Z' },
      { form: 'ISO with an offset', record: '{"level":30,"time":"2024-03-10T01:02:03+05:00","msg":"x"}', index: 'logs-2024.03.09', ts: '2024-03-09T20:02:03.000Z' },
      { form: 'a numeric string', record: `{"level":30,"time":"${Date.UTC(2024, 4, 5)}","msg":"x"}`, index: 'logs-2024.05.05', ts: '2024-05-05T00:00:00.000Z' },
      { form: 'a time after nested fields', record: `{"level":30,"req":{"time":1},"msg":"x","time":${Date.UTC(2024, 6, 7)}}`, index: 'logs-2024.07.07', ts: '2024-07-07T00:00:00.000Z' },
      { form: 'a custom level key first', record: `{"severity":"INFO","time":${Date.UTC(2024, 7, 8)},"msg":"x"}`, index: 'logs-2024.08.08', ts: '2024-08-08T00:00:00.000Z' },
      { form: 'whitespace in the line', record: `{ "level": 30, "time": ${Date.UTC(2024, 8, 9)} }`, index: 'logs-2024.09.09', ts: '2024-09-09T00:00:00.000Z' },
      { form: 'a nested value after a spaced colon first', record: '{"ctx": {"a": 1}, "time": 1600000000000}', index: 'logs-2020.09.13', ts: '2020-09-13T12:26:40.000Z' },
      { form: 'a brace in a string first', record: '{"msg": "user {id} logged in", "time": 1600000000000}', index: 'logs-2020.09.13', ts: '2020-09-13T12:26:40.000Z' },
      { form: 'leading whitespace', record: `  {"level":30,"time":${Date.UTC(2024, 9, 10)}}`, index: 'logs-2024.10.10', ts: '2024-10-10T00:00:00.000Z' },
    ])('dates the index and @timestamp from the record time: $form', async ({ record, index, ts }) => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs-%{yyyy.MM.dd}' })
      send(s, [record])
      await s.flush()
      const [sent] = pairs(es.requests[0]?.body ?? '')
      expect(sent?.action.create?._index).toBe(index)
      expect(sent?.doc['@timestamp']).toBe(ts)
      expect(s.stats().delivered).toBe(1)
    })

    it('uses the arrival time for a record without time (nullTime), in UTC whatever the local zone', async () => {
      const zone = process.env.TZ
      process.env.TZ = 'Pacific/Kiritimati' // UTC+14: the local date is a day ahead
      defer(() => (zone === undefined ? delete process.env.TZ : (process.env.TZ = zone)))
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.UTC(2024, 11, 31, 13, 0, 0))
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs-%{yyyy.MM.dd.HH}' })
      send(s, ['{"level":30,"msg":"no time"}', '{"level":30,"msg":"null time","time":null}'])
      vi.useRealTimers()
      await s.flush()
      const sent = pairs(es.requests[0]?.body ?? '')
      expect(sent.map((p) => p.action.create?._index)).toEqual(['logs-2024.12.31.13', 'logs-2024.12.31.13'])
      expect(sent.map((p) => p.doc['@timestamp'])).toEqual(['2024-12-31T13:00:00.000Z', '2024-12-31T13:00:00.000Z'])
    })

    it('renders yyyy, yy, MM, dd and HH, and Logstash\'s %{+…}, in UTC', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'app-%{yy}-%{+yyyy.MM}.%{dd}t%{HH}' })
      send(s, [`{"level":30,"time":${Date.UTC(2009, 0, 2, 3, 4, 5)}}`])
      await s.flush()
      expect(pairs(es.requests[0]?.body ?? '')[0]?.action.create?._index).toBe('app-09-2009.01.02t03')
    })

    it('spreads a batch over the days its records were logged', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs-%{yyyy.MM.dd}' })
      const day = 86_400_000
      send(s, [0, 1, 2, 0].map((d, i) => `{"level":30,"time":${Date.UTC(2024, 0, 31) + d * day + i},"i":${i}}`))
      await s.flush()
      expect(pairs(es.requests[0]?.body ?? '').map((p) => p.action.create?._index)).toEqual([
        'logs-2024.01.31',
        'logs-2024.02.01',
        'logs-2024.02.02',
        'logs-2024.01.31',
      ])
    })

    it('dates an ECS record (an @timestamp, no time) by its @timestamp and adds no second one', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'ecs-%{yyyy.MM.dd}' })
      const ecs = '{"@timestamp":"2024-06-01T10:00:00.000Z","log.level":"info","message":"hi","ecs.version":"8.10.0"}'
      send(s, [ecs])
      await s.flush()
      const body = es.requests[0]?.body ?? ''
      expect(body.split('\n')[1]).toBe(ecs)
      expect(pairs(body)[0]?.action.create?._index).toBe('ecs-2024.06.01')
      expect(s.stats().delivered).toBe(1)
    })

    it('adds no @timestamp when the record has one, however it is spelt, and one when only the text mentions it', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs' })
      send(s, [
        `{"level":30,"time":${T0},"@timestamp":"2020-01-01T00:00:00Z"}`,
        `{"level":30,"time":${T0},"\\u0040timestamp":"2020-01-01T00:00:00Z"}`,
        `{"level":30,"time":${T0},"@timest\\u0061mp":"2020-01-01T00:00:00Z"}`,
        `{"level":30,"time":${T0},"msg":"the timestamp","nested":{"@timestamp":"x"}}`,
        '{}',
      ])
      await s.flush()
      // The fake refuses a repeated field, as Elasticsearch does: all five went.
      expect(s.stats()).toMatchObject({ delivered: 5, failed: 0 })
      const docs = pairs(es.requests[0]?.body ?? '').map((p) => p.doc)
      expect(docs.map((d) => d['@timestamp'])).toEqual(['2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z', '2023-11-14T22:13:20.000Z', expect.any(String)])
      expect(es.requests[0]?.body.split('\n')[9]).toMatch(/^\{"@timestamp":"[^"]+"\}$/)
    })

    it('adds no @timestamp with addTimestamp: false', async () => {
      const es = await fake()
      const s = sender({ url: es.url, index: 'logs', addTimestamp: false })
      send(s, [line(0)])
      await s.flush()
      expect(es.requests[0]?.body.split('\n')[1]).toBe(line(0))
    })
  })

  describe('per-item outcomes', () => {
    it('fails a record the mapping refuses (400) with its reason, dead-letters it, and delivers the rest', async () => {
      const es = await fake()
      const dir = await tempDir()
      const deadLetter = join(dir, 'dead.ndjson')
      const s = sender({ url: es.url, index: 'logs', deadLetter: { path: deadLetter } })
      const seen = failures(s)
      const bad = `{"level":30,"time":${T0},"n":"not a number"}`
      send(s, [`{"level":30,"time":${T0},"n":1}`, bad, `{"level":30,"time":${T0},"n":2}`])
      await s.flush()

      expect(s.stats()).toMatchObject({ received: 3, delivered: 2, failed: 1, deadLettered: 1, retried: 0 })
      expectLedger(s.stats())
      expect(es.requests).toHaveLength(1)
      expect(seen).toHaveLength(1)
      expect(seen[0]?.status).toBe(400)
      expect(seen[0]?.error).toMatch(
        /document_parsing_exception: \[1:2\] failed to parse field \[n\] of type \[long\] in document with id '[^']+'\. Preview of field's value: 'not a number' \(caused by illegal_argument_exception: For input string: "not a number"\) \(400\)/,
      )
      expect((await readFile(deadLetter, 'utf8')).trim()).toBe(bad)
    })

    it('retries only the 429 and 5xx items, alone, and counts the rest delivered once', async () => {
      const es = await fake({
        item: ({ doc, seen }) => {
          const i = doc.i as number
          if (seen > 1) return undefined
          if (i === 1) return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [queue capacity = 200]' }
          if (i === 3) return { status: 503, type: 'unavailable_shards_exception', reason: '[logs][0] primary shard is not active' }
          return undefined
        },
      })
      const s = sender({ url: es.url, index: 'logs' })
      const retried = retries(s)
      send(s, lines(5))
      await s.flush()

      expect(s.stats()).toMatchObject({ received: 5, delivered: 5, failed: 0, retried: 2 })
      expect(pairs(es.requests[1]?.body ?? '').map((p) => p.doc.i)).toEqual([1, 3])
      expect(retried[0]?.error).toMatch(/es_rejected_execution_exception/)
      expect(es.writes.map((w) => w.source.i).sort()).toEqual([0, 1, 2, 3, 4])
    })

    it('fails every other 4xx item for good: an invalid index name from a pattern, a 404, a 403', async () => {
      const es = await fake({
        item: ({ doc }) => {
          if (doc.i === 1) return { status: 404, type: 'index_not_found_exception', reason: 'no such index [logs]' }
          if (doc.i === 2) return { status: 403, type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' }
          return undefined
        },
      })
      const s = sender({ url: es.url, index: 'logs' })
      const seen = failures(s)
      send(s, lines(4))
      await s.flush()
      expect(s.stats()).toMatchObject({ received: 4, delivered: 2, failed: 2, retried: 0 })
      expect(seen[0]?.error).toMatch(/index_not_found_exception: no such index \[logs\] \(404\)/)
      expect(seen[0]?.error).toMatch(/security_exception: .* \(403\)/)
    })

    it('counts a 409 on a replay as delivered: the answer was lost, the whole batch went again', async () => {
      const es = await fake({ request: (_request, index) => (index === 0 ? { lose: true } : undefined) })
      const s = sender({ url: es.url, index: 'logs' })
      const retried = retries(s)
      send(s, lines(20))
      await s.flush()

      expect(es.requests).toHaveLength(2)
      expect(retried).toHaveLength(1)
      expect(es.statuses.get(409)).toBe(20)
      expect(s.stats()).toMatchObject({ received: 20, delivered: 20, failed: 0 })
      // Written once each: the replay's creates found them there.
      expect(es.writes).toHaveLength(20)
      expect([...es.docs.values()].every((d) => d.version === 1)).toBe(true)
    })

    it('with opType index, a replay overwrites (a second version) rather than answering 409', async () => {
      const es = await fake({ request: (_request, index) => (index === 0 ? { lose: true } : undefined) })
      const s = sender({ url: es.url, index: 'logs', opType: 'index' })
      send(s, lines(5))
      await s.flush()
      expect(s.stats()).toMatchObject({ delivered: 5, failed: 0 })
      expect(es.docs.size).toBe(5)
      expect([...es.docs.values()].every((d) => d.version === 2)).toBe(true)
    })

    it('fails a 409 for good with opType index (a conflict it did not cause)', async () => {
      const es = await fake({ item: () => ({ status: 409, type: 'version_conflict_engine_exception', reason: '[x]: version conflict' }) })
      const s = sender({ url: es.url, index: 'logs', opType: 'index' })
      send(s, lines(2))
      await s.flush()
      expect(s.stats()).toMatchObject({ delivered: 0, failed: 2 })
    })

    it.each([
      { what: 'not JSON', body: '<html>proxy says hi</html>' },
      { what: 'no items', body: '{"errors":true}' },
      { what: 'fewer items than records', body: '{"errors":true,"items":[{"create":{"status":201}}]}' },
      { what: 'an item without a status', body: '{"errors":true,"items":[{"create":{}},{"create":{"status":201}},{"create":{"status":201}}]}' },
    ])('sends the whole batch again when the answer does not line up: $what', async ({ body }) => {
      const es = await fake({ request: (_request, index) => (index === 0 ? { status: 200, body } : undefined) })
      const s = sender({ url: es.url, index: 'logs' })
      const retried = retries(s)
      send(s, lines(3))
      await s.flush()
      expect(retried).toHaveLength(1)
      expect(retried[0]?.error).toMatch(/outcome unknown/)
      expect(retried[0]?.records).toBe(3)
      expect(s.stats()).toMatchObject({ received: 3, delivered: 3, failed: 0 })
      expect(es.writes).toHaveLength(3)
    })

    it('takes the whole answer when the server ignores filter_path, and OpenSearch answers alike', async () => {
      for (const flavor of ['elasticsearch', 'opensearch'] as const) {
        const es = await fake({ flavor, item: ({ doc }) => (doc.i === 0 ? { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse' } : undefined) })
        es.respond((request) => {
          request.query.delete('filter_path')
          return undefined
        })
        const s = sender({ url: es.url, index: 'logs' })
        send(s, lines(3))
        await s.flush()
        expect(s.stats(), flavor).toMatchObject({ delivered: 2, failed: 1 })
      }
    })
  })

  describe('whole-request answers', () => {
    it('splits a batch the server finds too large (413) and sends the halves', async () => {
      const es = await fake({ maxContentLength: 3000 })
      const s = sender({ url: es.url, index: 'logs' })
      send(s, lines(40))
      await s.flush()
      expect(es.requests.length).toBeGreaterThan(2)
      expect(s.stats()).toMatchObject({ received: 40, delivered: 40, failed: 0 })
      expect(es.writes).toHaveLength(40)
    })

    it('fails a record that alone is too large for the server, and delivers the others', async () => {
      const es = await fake({ maxContentLength: 2000 })
      const s = sender({ url: es.url, index: 'logs' })
      const seen = failures(s)
      send(s, [line(0), line(1, `,"big":"${'x'.repeat(3000)}"`), line(2)])
      await s.flush()
      expect(s.stats()).toMatchObject({ received: 3, delivered: 2, failed: 1 })
      expect(seen[0]?.error).toMatch(/record too large for the server: HTTP 413/)
    })

    it('retries a 429 and a 503 for the whole request, honouring Retry-After', async () => {
      const es = await fake({
        request: (_request, index) =>
          index === 0
            ? { status: 429, headers: { 'retry-after': '0' }, body: '{"error":{"type":"es_rejected_execution_exception","reason":"rejected"},"status":429}' }
            : index === 1
              ? { status: 503, body: '{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"},"status":503}' }
              : undefined,
      })
      const s = sender({ url: es.url, index: 'logs' })
      const retried = retries(s)
      send(s, lines(4))
      await s.flush()
      expect(retried.map((r) => r.error)).toEqual([expect.stringMatching(/HTTP 429/), expect.stringMatching(/HTTP 503 .*cluster_block_exception/)])
      expect(s.stats()).toMatchObject({ delivered: 4, failed: 0, retried: 8 })
    })

    it.each([
      { status: 400, type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' },
      { status: 401, type: 'security_exception', reason: 'missing authentication credentials for REST request [/_bulk]' },
      { status: 403, type: 'security_exception', reason: 'action [indices:data/write/bulk] is unauthorized' },
      { status: 404, type: 'index_not_found_exception', reason: 'no such index [logs]' },
    ])('fails the batch for good on a $status, with the server\'s reason', async ({ status, type, reason }) => {
      const es = await fake({ request: () => ({ status, body: `{"error":{"type":"${type}","reason":"${reason}"},"status":${status}}` }) })
      const s = sender({ url: es.url, index: 'logs' })
      const seen = failures(s)
      send(s, lines(2))
      await s.flush()
      expect(es.requests).toHaveLength(1)
      expect(s.stats()).toMatchObject({ delivered: 0, failed: 2, retried: 0 })
      expect(seen[0]).toMatchObject({ reason: 'permanent', status })
      expect(seen[0]?.error).toContain(type)
    })

    it('retries a hung request after its timeout and a reset connection', async () => {
      const es = await fake({ request: (_request, index) => (index === 0 ? { hang: true } : index === 1 ? { destroy: true } : undefined) })
      const s = sender({ url: es.url, index: 'logs', pool: { timeoutMs: 300 } })
      const retried = retries(s)
      send(s, lines(3))
      await s.flush()
      expect(retried.map((r) => r.error)).toEqual([expect.stringMatching(/timed out/), expect.stringMatching(/request to http:\/\/127\.0\.0\.1:\d+ failed/)])
      expect(s.stats()).toMatchObject({ delivered: 3, failed: 0 })
      expect(es.writes).toHaveLength(3)
    })
  })

  describe('data streams', () => {
    it('writes to a data stream with the defaults (create, @timestamp added)', async () => {
      const es = await fake({ dataStreams: ['logs-app-default'] })
      const s = sender({ url: es.url, index: 'logs-app-default' })
      send(s, lines(3))
      await s.flush()
      expect(s.stats()).toMatchObject({ delivered: 3, failed: 0 })
    })

    it('fails every record, with the server\'s reason, with opType index or without @timestamp', async () => {
      const es = await fake({ dataStreams: ['logs-app-default'] })
      const withIndex = sender({ url: es.url, index: 'logs-app-default', opType: 'index' })
      const noTimestamp = sender({ url: es.url, index: 'logs-app-default', addTimestamp: false })
      const seenIndex = failures(withIndex)
      const seenTimestamp = failures(noTimestamp)
      send(withIndex, lines(2))
      send(noTimestamp, lines(2))
      await withIndex.flush()
      await noTimestamp.flush()
      expect(withIndex.stats()).toMatchObject({ delivered: 0, failed: 2 })
      expect(noTimestamp.stats()).toMatchObject({ delivered: 0, failed: 2 })
      expect(seenIndex[0]?.error).toMatch(/only write ops with an op_type of create are allowed in data streams/)
      expect(seenTimestamp[0]?.error).toMatch(/data stream timestamp field \[@timestamp\] is missing/)
    })
  })

  describe('credentials', () => {
    const KEY_ID = 'VuaCfGcBCdbkQm-e5aOx'
    const KEY_SECRET = 'ui2lp2axTNmsyakw9tvNnw'
    const ENCODED = Buffer.from(`${KEY_ID}:${KEY_SECRET}`).toString('base64')

    it('sends an encoded apiKey as Authorization: ApiKey', async () => {
      const es = await fake({ auth: { apiKey: ENCODED } })
      const s = sender({ url: es.url, index: 'logs', apiKey: ENCODED })
      send(s, lines(1))
      await s.flush()
      expect(es.requests[0]?.headers.authorization).toBe(`ApiKey ${ENCODED}`)
      expect(s.stats().delivered).toBe(1)
    })

    it('encodes an { id, api_key } pair as the official client does, and prefers it to URL credentials', async () => {
      const es = await fake({ auth: { apiKey: ENCODED } })
      const s = sender({ url: `http://elastic:changeme@127.0.0.1:${es.port}`, index: 'logs', apiKey: { id: KEY_ID, api_key: KEY_SECRET } })
      send(s, lines(1))
      await s.flush()
      expect(es.requests[0]?.headers.authorization).toBe(`ApiKey ${ENCODED}`)
      expect(s.stats().delivered).toBe(1)
    })

    it('cuts the raw api_key of an { id, api_key } out of a whole-request error that names it', async () => {
      const es = await fake({
        request: () => ({
          status: 401,
          body: JSON.stringify({ error: { type: 'security_exception', reason: `unable to authenticate API key [${KEY_ID}] with key [${KEY_SECRET}]` }, status: 401 }),
        }),
      })
      const s = sender({ url: es.url, index: 'logs', apiKey: { id: KEY_ID, api_key: KEY_SECRET } })
      const seen = failures(s)
      send(s, lines(2))
      await s.flush()
      expect(seen).toHaveLength(1)
      expect(seen[0]?.error).toMatch(/HTTP 401 from .*security_exception.*unable to authenticate API key/)
      expect(JSON.stringify([seen, s.stats()])).not.toContain(KEY_SECRET)
      expect(s.stats()).toMatchObject({ received: 2, failed: 2, delivered: 0 })
    })

    it('sends Basic auth from the URL credentials', async () => {
      const es = await fake({ auth: { basic: { user: 'elastic', pass: 'p@ss word' } } })
      const s = sender({ url: `http://elastic:p%40ss%20word@127.0.0.1:${es.port}`, index: 'logs' })
      send(s, lines(1))
      await s.flush()
      expect(s.stats().delivered).toBe(1)
    })

    it('never shows a credential in messages, stats or the dead-letter file, even from a server that echoes them', async () => {
      for (const auth of [
        { options: { apiKey: ENCODED }, secrets: [ENCODED] },
        { options: { apiKey: { id: KEY_ID, api_key: KEY_SECRET } }, secrets: [ENCODED, KEY_SECRET] },
        { options: { url: 'basic' }, secrets: ['s3cr3t-pass', Buffer.from('elastic:s3cr3t-pass').toString('base64')] },
        { options: { headers: { authorization: 'Bearer tok-0123456789abcdef' } }, secrets: ['tok-0123456789abcdef'] },
      ]) {
        // First a 401 echoing the header, then item errors echoing it.
        const es = await fake({ auth: { apiKey: 'something-else' }, echoCredentials: true })
        const dir = await tempDir()
        const deadLetter = join(dir, 'dead.ndjson')
        const { url, ...rest } = auth.options as { url?: string }
        const s = sender({
          url: url === 'basic' ? `http://elastic:s3cr3t-pass@127.0.0.1:${es.port}` : es.url,
          index: 'logs',
          deadLetter: { path: deadLetter },
          ...rest,
        })
        const seen = failures(s)
        send(s, lines(2))
        await s.flush()
        es.respond(() => undefined)
        // Item errors: the fake refuses the field type and echoes the authorization in the reason.
        const open = await fake({ echoCredentials: true, item: () => ({ status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse' }) })
        const s2 = sender({ url: url === 'basic' ? `http://elastic:s3cr3t-pass@127.0.0.1:${open.port}` : open.url, index: 'logs', deadLetter: { path: deadLetter }, ...rest })
        const seen2 = failures(s2)
        send(s2, lines(2))
        await s2.flush()

        expect(seen, JSON.stringify(auth.options)).toHaveLength(1)
        expect(seen2).toHaveLength(1)
        expect(seen[0]?.error).toMatch(/HTTP 401/)
        expect(seen2[0]?.error).toMatch(/mapper_parsing_exception: failed to parse/)
        const shown = JSON.stringify([seen, seen2, s.stats(), s2.stats()]) + (await readFile(deadLetter, 'utf8'))
        for (const secret of auth.secrets) expect(shown, `${secret} shown`).not.toContain(secret)
        // The server did receive it: the fake echoed it, and the quote cut it out.
        expect(open.requests[0]?.headers.authorization).toBeDefined()
      }
    })
  })

  describe('options', () => {
    it.each([
      { what: 'an uppercase index', options: { index: 'Logs' }, message: /index: invalid index name "Logs": must be lowercase/ },
      { what: 'a forbidden character', options: { index: 'logs*' }, message: /index: invalid index name "logs\*": must not contain "\*"/ },
      { what: 'a space', options: { index: 'my logs' }, message: /index: invalid index name "my logs": must not contain spaces/ },
      { what: 'a leading dash', options: { index: '-logs' }, message: /index: invalid index name "-logs": must not start with "_", "-" or "\+"/ },
      { what: 'a colon', options: { index: 'a:b' }, message: /index: invalid index name "a:b": must not contain ":"/ },
      { what: 'an unknown date token', options: { index: 'logs-%{yyyy.MM.DD}' }, message: /index: unknown date token "DD" in "logs-%\{yyyy\.MM\.DD\}" \(known: yyyy, yy, MM, dd, HH, in UTC\)/ },
      { what: 'an unclosed pattern', options: { index: 'logs-%{yyyy' }, message: /index: unclosed "%\{" in "logs-%\{yyyy"/ },
      { what: 'a long name', options: { index: 'x'.repeat(256) }, message: /index: invalid index name "x+": is too long \(256 > 255 bytes\)/ },
      { what: 'an unknown opType', options: { opType: 'upsert' }, message: /opType: Invalid option: expected one of "create"\|"index"/ },
      { what: 'an id:key apiKey', options: { apiKey: 'myid:mysecret' }, message: /apiKey: looks like "id:api_key"/ },
      { what: 'an apiKey with its scheme', options: { apiKey: 'ApiKey abc' }, message: /apiKey: give the key alone/ },
      { what: 'an apiKey pair missing its key', options: { apiKey: { id: 'x' } }, message: /apiKey\.api_key/ },
      { what: 'an apiKey and an authorization header', options: { apiKey: 'abc', headers: { Authorization: 'Basic eA==' } }, message: /apiKey: set either apiKey or an authorization header, not both/ },
      { what: 'an empty pipeline', options: { pipeline: '' }, message: /pipeline:/ },
      { what: 'a misspelt option', options: { indexName: 'x' }, message: /indexName: unknown option/ },
      { what: 'a URL that is no URL', options: { url: 'es:9200' }, message: /url: Invalid URL/ },
    ])('refuses $what at start-up with a ConfigError naming the option', async ({ options, message }) => {
      const { createSenders } = await import('../../../src/sinks/registry.js')
      const spec = { type: 'elasticsearch', url: 'http://127.0.0.1:9', ...options }
      await expect(createSenders([spec], {})).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(new RegExp(`senders\\[0\\]\\.${message.source}`)) })
      const direct = { url: 'http://127.0.0.1:9', ...options } as unknown as ElasticsearchSenderOptions
      const error = configError(() => createElasticsearchSender(direct))
      expect(error.message).toMatch(new RegExp(`^pino-courier: invalid options: ${message.source}`))
      expect(error.paths[0]).toBe(/^[\w.]+/.exec(message.source.replaceAll('\\', ''))?.[0])
      // Never the key itself in the message.
      expect(error.message).not.toContain('mysecret')
    })

    it('has the type\'s defaults: index pino-%{yyyy.MM.dd}, 5 MiB batches, 4 requests in flight, 30 s attempts', async () => {
      const es = await fake()
      const s = createElasticsearchSender({ url: es.url })
      defer(() => s.close({ timeoutMs: 1000 }))
      expect(s.index).toBe('pino-%{yyyy.MM.dd}')
      expect(s.name).toBe('elasticsearch')
      expect(s.options.batch).toMatchObject({ maxBytes: 5 * 1024 * 1024, maxRecords: 5000 })
      expect(s.options.pool).toMatchObject({ concurrency: 4, timeoutMs: 30_000 })
      send(s, [line(0)])
      await s.flush()
      expect(pairs(es.requests[0]?.body ?? '')[0]?.action.create?._index).toBe('pino-2023.11.14')
    })
  })
})
