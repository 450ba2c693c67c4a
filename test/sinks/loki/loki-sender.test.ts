import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LevelMap } from '../../../src/config/levels.js'
import { createRecord, LogRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { createLokiSender, type LokiSender, type LokiSenderOptions } from '../../../src/sinks/loki/loki-sender.js'
import { createSenders } from '../../../src/sinks/registry.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { configErrorOf } from '../../helpers/config-error.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { PUSH_PATH, rateLimitedBody, startFakeLoki, type FakeLoki, type FakeLokiOptions } from './fake-loki.js'

type FailureEvent = SenderEvents['failure'][0]

const { defer, tempDir, sink } = useCleanups()

const T0 = 1_700_000_000_000

/** Every record the sender received is delivered, failed, dropped, queued or in flight. */
function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

async function loki(options: FakeLokiOptions = {}): Promise<FakeLoki> {
  const started = await startFakeLoki(options)
  defer(() => started.close())
  return started
}

const senders: LokiSender[] = []
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ timeoutMs: 1000 })))
})

/** A sender whose batches leave on flush() (or a full batch), with fast retries. */
function sender(options: LokiSenderOptions, context?: Parameters<typeof createLokiSender>[1]): LokiSender {
  const created = createLokiSender({ batch: { maxWaitMs: 60_000 }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options }, context)
  senders.push(created)
  return created
}

function send(target: LokiSender, lines: readonly string[]): void {
  for (const text of lines) expect(target.send(createRecord(text))).toBe(true)
}

const line = (i: number, extra = '', level = 30): string => `{"level":${level},"time":${T0 + i},"msg":"m${i}","i":${i}${extra}}`

/** The push bodies the fake received, parsed. */
function bodies(fake: FakeLoki): { streams: { stream: Record<string, string>; values: unknown[][] }[] }[] {
  return fake.requests.map((r) => JSON.parse(r.text) as { streams: { stream: Record<string, string>; values: unknown[][] }[] })
}

describe('LokiSender', () => {
  describe('push body', () => {
    it('posts JSON to /loki/api/v1/push: static labels and the level as labels, the raw line, ns timestamps as strings', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, labels: { app: 'api', env: 'prod' } })
      const lines = [line(1), line(2, '', 40), line(3, ',"text":"quote \\" and é"')]
      send(lokiSender, lines)
      await lokiSender.flush()

      expect(fake.requests).toHaveLength(1)
      const request = fake.requests[0]!
      expect(request.url).toBe(PUSH_PATH)
      expect(request.status).toBe(204)
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBeUndefined()
      expect(request.headers['x-scope-orgid']).toBeUndefined()
      const body = bodies(fake)[0]!
      expect(body.streams).toEqual([
        { stream: { app: 'api', env: 'prod', level: 'info' }, values: [[`${T0 + 1}000000`, lines[0]], [`${T0 + 3}000000`, lines[2]]] },
        { stream: { app: 'api', env: 'prod', level: 'warn' }, values: [[`${T0 + 2}000000`, lines[1]]] },
      ])
      // Loki 3 adds service_name (here from app) to the streams it stores.
      expect(fake.streams.get('{app="api", env="prod", level="info", service_name="api"}')?.map((e) => e.line)).toEqual([lines[0], lines[2]])
      expect(lokiSender.stats()).toMatchObject({ received: 3, delivered: 3, failed: 0, attempts: 1 })
      expectLedger(lokiSender.stats())
    })

    it('sends the tenant as X-Scope-OrgID and gzips when asked', async () => {
      const fake = await loki({ tenant: 'team-a' })
      const lokiSender = sender({ url: fake.url, tenant: 'team-a', gzip: true, labels: { app: 'api' } })
      send(lokiSender, [line(1), line(2)])
      await lokiSender.flush()

      const request = fake.requests[0]!
      expect(request.headers['x-scope-orgid']).toBe('team-a')
      expect(request.headers['content-encoding']).toBe('gzip')
      expect(gunzipSync(request.raw).toString('utf8')).toBe(request.text)
      expect(request.status).toBe(204)
      expect(fake.records().map((r) => r.i)).toEqual([1, 2])
    })

    it('keeps a URL path other than / as given (a gateway prefix)', async () => {
      const server = await sink(() => ({ status: 204 }))
      const lokiSender = sender({ url: `${server.url.replace('/logs', '')}/tenant-a/loki/api/v1/push?x=1` })
      send(lokiSender, [line(1)])
      await lokiSender.flush()
      expect(server.requests[0]?.url).toBe('/tenant-a/loki/api/v1/push?x=1')
      expect(lokiSender.stats().delivered).toBe(1)
    })

    it('sends each stream in time order within a request, keeping arrival order among equal times', async () => {
      const fake = await loki({ order: 'strict' })
      const lokiSender = sender({ url: fake.url })
      const at = (i: number, time: number): string => `{"level":30,"time":${time},"i":${i}}`
      send(lokiSender, [at(0, T0 + 5), at(1, T0 + 1), at(2, T0 + 3), at(3, T0 + 1), at(4, T0 + 9)])
      await lokiSender.flush()

      const values = bodies(fake)[0]!.streams[0]!.values
      expect(values.map((v) => (JSON.parse(v[1] as string) as { i: number }).i)).toEqual([1, 3, 2, 0, 4])
      expect(lokiSender.stats()).toMatchObject({ delivered: 5, failed: 0 })
    })

    it('reads the time in every form pino writes; no time means the arrival time', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url })
      const before = Date.now()
      send(lokiSender, [
        '{"level":30,"time":1700000000123,"form":"ms"}',
        '{"level":30,"time":1700000000,"form":"unixTime"}',
        '{"level":30,"time":"2023-11-14T22:13:20.456Z","form":"isoTime"}',
        '{"level":30,"time":"2023-11-14T22:13:20.456789123Z","form":"isoTimeNano"}',
        '{"level":30,"time":1700000000123.5,"form":"fraction"}',
        '{"level":30,"form":"nullTime"}',
        '{"msg":"no level first","time":1700000000999,"form":"second key"}',
        '{"level":30,"req":{"time":5},"time":1700000000777,"form":"time after an object"}',
      ])
      await lokiSender.flush()
      const after = Date.now()
      const byForm = new Map<string, string>()
      for (const stream of bodies(fake)[0]!.streams) {
        for (const [ns, text] of stream.values) byForm.set((JSON.parse(text as string) as { form: string }).form, ns as string)
      }
      expect(byForm.get('ms')).toBe('1700000000123000000')
      expect(byForm.get('unixTime')).toBe('1700000000000000000')
      expect(byForm.get('isoTime')).toBe('1700000000456000000')
      // Past the µs, a time in ms as a double is not exact: the ns digits come out within a fraction of a µs.
      expect(Math.abs(Number(BigInt(byForm.get('isoTimeNano')!) - 1700000000456789123n))).toBeLessThan(1000)
      expect(byForm.get('fraction')).toBe('1700000000123500000')
      expect(byForm.get('second key')).toBe('1700000000999000000')
      expect(byForm.get('time after an object')).toBe('1700000000777000000')
      const arrival = Number(BigInt(byForm.get('nullTime')!) / 1_000_000n)
      expect(arrival).toBeGreaterThanOrEqual(before)
      expect(arrival).toBeLessThanOrEqual(after)
    })

    it("takes pino's own time over a logged field named time, with labelKeys or metadata too (pino 10 writes both)", async () => {
      for (const options of [{ labelKeys: ['s'] }, { structuredMetadataKeys: ['s'] }, {}]) {
        const fake = await loki()
        const lokiSender = sender({ url: fake.url, ...options })
        send(lokiSender, [`{"level":30,"time":${T0 + 1},"s":"a","time":"2001-01-01T00:00:00.000Z","i":1}`])
        await lokiSender.flush()
        expect(bodies(fake)[0]?.streams[0]?.values[0]?.[0], JSON.stringify(options)).toBe(`${T0 + 1}000000`)
      }
    })

    it('sends a malformed line as its raw text', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url })
      send(lokiSender, ['not json at all', line(1)])
      await lokiSender.flush()
      const lines = [...fake.streams.values()].flat().map((e) => e.line)
      expect(lines).toContain('not json at all')
      expect(lines).toContain(line(1))
    })
  })

  describe('labels', () => {
    it('labelKeys as paths: dotted paths become underscored names; absent, empty and object values give no label', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, labels: { app: 'api' }, labelKeys: ['env', 'req.method', 'status'] })
      send(lokiSender, [
        line(1, ',"env":"prod","req":{"method":"GET"},"status":200'),
        line(2, ',"env":"prod","req":{"method":"GET"},"status":200'),
        line(3, ',"env":"","req":{"method":{"x":1}}'),
        line(4, ',"req.method":"PUT","status":true'),
      ])
      await lokiSender.flush()
      expect([...fake.streams.keys()].sort()).toEqual(
        [
          '{app="api", env="prod", level="info", req_method="GET", service_name="api", status="200"}',
          '{app="api", level="info", service_name="api"}',
          '{app="api", level="info", req_method="PUT", service_name="api", status="true"}',
        ].sort(),
      )
      expect(fake.streams.get('{app="api", env="prod", level="info", req_method="GET", service_name="api", status="200"}')).toHaveLength(2)
    })

    it('labelKeys as an object names the labels; levelLabel renames or drops the level label', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, labelKeys: { method: 'req.method', req_id: 'req-id' }, levelLabel: 'severity' })
      send(lokiSender, [line(1, ',"req":{"method":"GET"},"req-id":"r1"')])
      await lokiSender.flush()
      expect([...fake.streams.keys()]).toEqual(['{method="GET", req_id="r1", service_name="unknown_service", severity="info"}'])

      const fake2 = await loki()
      const noLevel = sender({ url: fake2.url, labels: { app: 'api' }, levelLabel: false })
      send(noLevel, [line(1), line(2, '', 50)])
      await noLevel.flush()
      expect([...fake2.streams.keys()]).toEqual(['{app="api", service_name="api"}'])
    })

    it("names the level with the logger's levels (custom levels, an unnamed number)", async () => {
      const fake = await loki()
      const levels = new LevelMap({ trace: 10, debug: 20, info: 30, audit: 35, warn: 40, error: 50, fatal: 60 })
      const lokiSender = sender({ url: fake.url }, { levels })
      send(lokiSender, [line(1, '', 35), line(2, '', 42)])
      await lokiSender.flush()
      expect([...fake.streams.keys()].sort()).toEqual(['{level="42", service_name="unknown_service"}', '{level="audit", service_name="unknown_service"}'])
    })

    it('sends structuredMetadataKeys as the third element of an entry, objects as JSON, none when absent', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, structuredMetadataKeys: ['trace_id', 'user'] })
      send(lokiSender, [line(1, ',"trace_id":"abc","user":{"id":7}'), line(2)])
      await lokiSender.flush()
      const values = bodies(fake)[0]!.streams[0]!.values
      expect(values[0]).toEqual([`${T0 + 1}000000`, line(1, ',"trace_id":"abc","user":{"id":7}'), { trace_id: 'abc', user: '{"id":7}' }])
      expect(values[1]).toHaveLength(2)
      expect(fake.streams.get('{level="info", service_name="unknown_service"}')?.[0]?.metadata).toEqual({ trace_id: 'abc', user: '{"id":7}' })
    })
  })

  describe('options', () => {
    it('refuses label names Loki refuses, at start-up, naming the option path', () => {
      const cases: [Partial<LokiSenderOptions>, string, RegExp][] = [
        [{ labelKeys: ['app', 'req-id'] }, 'labelKeys[1]', /"req-id" is not a Loki label name.*\{ req_id: 'req-id' \}/],
        [{ labelKeys: ['9lives'] }, 'labelKeys[0]', /"9lives" is not a Loki label name/],
        [{ labelKeys: { 'bad-name': 'x' } }, 'labelKeys.bad-name', /"bad-name" is not a Loki label name/],
        [{ labels: { 'my-app': 'x' } }, 'labels.my-app', /"my-app" is not a Loki label name/],
        [{ labels: { __name__: 'x' } }, 'labels.__name__', /reserves/],
        [{ labels: { app: '' } }, 'labels.app', /must not be empty/],
        [{ levelLabel: 'lev el' }, 'levelLabel', /not a Loki label name/],
        [{ structuredMetadataKeys: ['a.b-c'] }, 'structuredMetadataKeys[0]', /"a_b-c" is not a Loki label name/],
        [{ maxStreams: 0 }, 'maxStreams', /./],
        [{ url: 'loki:3100' }, 'url', /Invalid URL/],
        // Tenant IDs as Loki checks them (dskit's ValidTenantID): a 400 on every push otherwise.
        [{ tenant: 'team a' }, 'tenant', /Loki refuses the character ' ' in a tenant ID/],
        [{ tenant: 'a|b' }, 'tenant', /character '\|'/],
        [{ tenant: 'x'.repeat(151) }, 'tenant', /over 150 characters/],
        [{ tenant: '..' }, 'tenant', /'\.' and '\.\.'/],
        [{ tenant: '' }, 'tenant', /./],
        [{ maxLabelNames: 0 }, 'maxLabelNames', /./],
      ]
      for (const [options, path, message] of cases) {
        const error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', ...options }))
        expect(error.paths, JSON.stringify(options)).toEqual([path])
        expect(error.message).toMatch(message)
      }
    })

    it('refuses a label set twice, and streams that could have no label at all', () => {
      let error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', labels: { level: 'x' } }))
      expect(error.paths).toEqual(['levelLabel'])
      expect(error.message).toMatch(/the label "level" is set by labels.level already/)
      error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', labels: { app: 'a' }, labelKeys: { app: 'service' } }))
      expect(error.paths).toEqual(['labelKeys.app'])
      error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', levelLabel: false, labelKeys: ['app'] }))
      expect(error.paths).toEqual(['labels'])
    })

    it("refuses streams with more label names than Loki's default 15 (service_name not counted), unless maxLabelNames is raised", () => {
      const labels = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']))
      const keys = ['k1', 'k2', 'k3', 'k4', 'k5']
      let error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', labels: labels(10), labelKeys: keys }))
      expect(error.paths).toEqual(['labelKeys'])
      expect(error.message).toMatch(/streams would have up to 16 label names \(labels: 10, labelKeys: 5, levelLabel: 1\), more than 15: .*max_label_names_per_series is 15/)
      error = configErrorOf(() => createLokiSender({ url: 'http://127.0.0.1:1', labels: labels(16), levelLabel: false }))
      expect(error.paths).toEqual(['labels'])
      // 15 and a service_name: as Loki 3 counts them, 15.
      expect(() => sender({ url: 'http://127.0.0.1:1', labels: { ...labels(14), service_name: 'api' } })).not.toThrow()
      expect(() => sender({ url: 'http://127.0.0.1:1', labels: labels(10), labelKeys: keys, maxLabelNames: 16 })).not.toThrow()
    })

    it('names the sender in the path through the registry', async () => {
      await expect(createSenders([{ type: 'loki', url: 'http://127.0.0.1:1', labelKeys: ['ok', 'not-ok'] }], {})).rejects.toMatchObject({
        paths: ['senders[0].labelKeys[1]'],
      })
      await expect(createSenders([{ type: 'loki', url: 'http://127.0.0.1:1', labels: { level: 'x' } }], {})).rejects.toMatchObject({
        paths: ['senders[0].levelLabel'],
      })
    })

    it('has its own pool default (1 in flight, which keeps retries in order) and the general 1 MiB batches', () => {
      const lokiSender = sender({ url: 'http://127.0.0.1:1' })
      expect(lokiSender.options.pool.concurrency).toBe(1)
      expect(lokiSender.options.batch.maxBytes).toBe(1024 * 1024)
      expect(lokiSender.name).toBe('loki')
      expect(lokiSender.endpoint).toBe('http://127.0.0.1:1')
    })
  })

  describe('stream cap', () => {
    it('refuses records that would open a stream past maxStreams, for good, named, dead-lettered; known streams go on', async () => {
      const fake = await loki()
      const dir = await tempDir()
      const deadLetter = join(dir, 'dead.ndjson')
      const lokiSender = sender({ url: fake.url, labelKeys: ['user'], maxStreams: 2, deadLetter: { path: deadLetter } })
      const failures: FailureEvent[] = []
      lokiSender.on('failure', (f) => failures.push(f))
      send(lokiSender, [line(1, ',"user":"a"'), line(2, ',"user":"b"'), line(3, ',"user":"c"'), line(4, ',"user":"a"')])
      await lokiSender.flush()
      send(lokiSender, [line(5, ',"user":"d"'), line(6, ',"user":"b"')])
      await lokiSender.flush()

      expect(fake.records().map((r) => r.i)).toEqual([1, 4, 2, 6])
      const stats = lokiSender.stats()
      expect(stats).toMatchObject({ received: 6, delivered: 4, failed: 2, deadLettered: 2 })
      expectLedger(stats)
      expect(failures[0]?.error).toMatch(/stream limit reached: this sender has sent to its maxStreams \(2\) distinct streams within the last hour, and \{level="info", user="c"\}/)
      expect(failures[0]?.error).toMatch(/check the labelKeys \(user\)/)
      const dead = (await readFile(deadLetter, 'utf8')).trim().split('\n')
      expect(dead.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([3, 5])
    })

    it('forgets a stream idle for an hour: a new one may take its place (slowly changing label values)', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      defer(() => vi.useRealTimers())
      vi.setSystemTime(T0)
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, labelKeys: ['version'], maxStreams: 2 })
      send(lokiSender, [line(1, ',"version":"1"'), line(2, ',"version":"2"')])
      await lokiSender.flush()
      vi.setSystemTime(T0 + 30 * 60_000)
      // Version 2 is in use half an hour later; version 3 is refused, as both streams are active.
      send(lokiSender, [line(3, ',"version":"2"'), line(4, ',"version":"3"')])
      await lokiSender.flush()
      expect(lokiSender.stats()).toMatchObject({ delivered: 3, failed: 1 })
      vi.setSystemTime(T0 + 60 * 60_000 + 1)
      // Version 1 has been idle for an hour: forgotten. Version 2 is not (used half an hour ago).
      send(lokiSender, [line(5, ',"version":"3"'), line(6, ',"version":"4"'), line(7, ',"version":"2"')])
      await lokiSender.flush()
      expect(lokiSender.stats()).toMatchObject({ delivered: 5, failed: 2 })
      expect(fake.records().map((r) => r.i).sort()).toEqual([1, 2, 3, 5, 7])
    })

    it('a batch with only capped records sends no request', async () => {
      const fake = await loki()
      const lokiSender = sender({ url: fake.url, labelKeys: ['user'], maxStreams: 1 })
      send(lokiSender, [line(1, ',"user":"a"')])
      await lokiSender.flush()
      send(lokiSender, [line(2, ',"user":"b"'), line(3, ',"user":"c"')])
      await lokiSender.flush()
      expect(fake.requests).toHaveLength(1)
      expect(lokiSender.stats()).toMatchObject({ delivered: 1, failed: 2 })
    })
  })

  describe('outcomes', () => {
    it("a 400 with Loki's count: those entries failed with Loki's reason, the rest delivered, nothing sent again (Loki 2 and 3.6+ wording)", async () => {
      for (const [version, max] of [
        ['2', 'Max'],
        ['3.7', 'max'],
      ] as const) {
        const fake = await loki({ maxLineBytes: 200, version })
        const lokiSender = sender({ url: fake.url })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        const long = (i: number, size: number): string => line(i, `,"pad":"${'x'.repeat(size)}"`)
        send(lokiSender, [line(1), long(2, 300), line(3), long(4, 310), line(5)])
        await lokiSender.flush()

        expect(fake.requests).toHaveLength(1)
        expect(fake.requests[0]?.status).toBe(400)
        expect(fake.requests[0]?.answer).toMatch(new RegExp(`^1 errors like: ${max} entry size '200' bytes exceeded .*; 1 errors like: ${max} entry size`))
        expect(fake.records().map((r) => r.i)).toEqual([1, 3, 5])
        const stats = lokiSender.stats()
        expect(stats).toMatchObject({ received: 5, delivered: 3, failed: 2, retried: 0, attempts: 1 })
        expectLedger(stats)
        expect(failures[0]?.error).toMatch(
          new RegExp(`2 of 5 records refused by the sink \\(not named\\): Loki refused 2 entries: line too long x2 \\("${max} entry size '200' bytes exceeded`),
        )
      }
    })

    it("counts the ingester's 'entry out of order' refusals (strict order) and 'too far behind' (the 1 h window), Loki 2 and 3 wording", async () => {
      for (const [options, reason] of [
        [{ order: 'strict' }, /entry out of order x2/],
        [{ order: 'strict', version: '2' }, /entry out of order x2/],
        [{ order: 'window' }, /entry too far behind x2/],
      ] as const) {
        const fake = await loki(options)
        const lokiSender = sender({ url: fake.url })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        // The stream's newest entry is 2 h ahead of what follows.
        send(lokiSender, [line(7_200_000)])
        await lokiSender.flush()
        send(lokiSender, [line(1), line(2), line(7_200_001)])
        await lokiSender.flush()
        expect(fake.requests[1]?.answer).toMatch(/total ignored: 2 out of 3/)
        expect(lokiSender.stats()).toMatchObject({ received: 4, delivered: 2, failed: 2, attempts: 2 })
        expect(failures[0]?.error).toMatch(reason)
        expect(fake.records().map((r) => r.i)).toEqual([7_200_000, 7_200_001])
      }
    })

    it("counts a stream-level refusal by the entries of the stream Loki names, service_name (Loki 3) and Go's quoting included", async () => {
      // Values Go quotes otherwise than JSON does: Loki's names of their streams differ from ours.
      const odd = 'b\u00a0\u2028 "q"'
      for (const version of ['2', '3.5', '3.7'] as const) {
        // Loki's own label value limit (2048 characters) refuses the streams of user `odd + long`.
        const fake = await loki({ version })
        const lokiSender = sender({ url: fake.url, labelKeys: ['user'] })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        const long = `${odd}${'x'.repeat(2048)}`
        send(lokiSender, [line(1, ',"user":"a"'), line(2, `,"user":${JSON.stringify(long)}`), line(3, `,"user":${JSON.stringify(long)}`), line(4, ',"user":"a"')])
        await lokiSender.flush()
        expect(fake.requests[0]?.answer, version).toMatch(/^stream '\{level="info", (service_name="unknown_service", )?user="b\\u00a0\\u2028 \\"q\\"x+"\}' has label value too long/)
        expect(lokiSender.stats(), version).toMatchObject({ delivered: 2, failed: 2, attempts: 1 })
        expect(failures[0]?.error).toMatch(/Loki refused 2 entries: label value too long x2/)
      }
    })

    it("counts the entries of a stream missing Loki's enforced labels (3.5 and 3.7 wording), the rest delivered", async () => {
      for (const version of ['3.5', '3.7'] as const) {
        const fake = await loki({ version, enforcedLabels: ['team'] })
        const lokiSender = sender({ url: fake.url, labelKeys: ['team'] })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        send(lokiSender, [line(1, ',"team":"a"'), line(2), line(3), line(4, ',"team":"a"'), line(5)])
        await lokiSender.flush()
        expect(fake.requests[0]?.answer, version).toMatch(/^missing required labels '?team'? for user '?fake'? for stream '?\{level="info", service_name="unknown_service"\}/)
        expect(lokiSender.stats(), version).toMatchObject({ delivered: 2, failed: 3, attempts: 1 })
        expect(failures[0]?.error).toMatch(/Loki refused 3 entries: missing required labels x3/)
        expect(fake.records().map((r) => r.i)).toEqual([1, 4])
      }
    })

    it("a 400 whose count cannot be read: at least one entry refused (Loki took the rest once it read the request), quoting Loki", async () => {
      const server = await sink(() => ({ status: 400, body: 'something Loki never said' }))
      const lokiSender = sender({ url: server.url.replace('/logs', '') })
      const failures: FailureEvent[] = []
      lokiSender.on('failure', (f) => failures.push(f))
      send(lokiSender, [line(1), line(2), line(3)])
      await lokiSender.flush()
      expect(server.requests).toHaveLength(1)
      expect(lokiSender.stats()).toMatchObject({ delivered: 2, failed: 1, retried: 0 })
      expectLedger(lokiSender.stats())
      expect(failures[0]?.error).toMatch(/1 of 3 records refused by the sink \(not named\): Loki refused at least 1 entry: refused \("something Loki never said"\)/)
    })

    it('a 400 given before Loki read the request (tenant, body) fails the whole request for good', async () => {
      for (const body of ["tenant ID 'a b' contains unsupported character ' '", 'gzip: invalid header', "couldn't parse labels: 1:2: parse error"]) {
        const server = await sink(() => ({ status: 400, body: `${body}\n` }))
        const lokiSender = sender({ url: server.url.replace('/logs', '') })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        send(lokiSender, [line(1), line(2)])
        await lokiSender.flush()
        expect(server.requests, body).toHaveLength(1)
        expect(lokiSender.stats(), body).toMatchObject({ delivered: 0, failed: 2, retried: 0 })
        expect(failures[0]?.error).toContain(`HTTP 400 from ${server.url.replace('/logs', '')}: ${body}`)
      }
    })

    it('the fake refuses what Loki refuses: a timestamp that is not a string of nanoseconds, a tenant ID Loki does not take', async () => {
      // Every other test passing through the fake thus shows the sender's timestamps are strings.
      const fake = await loki()
      let response = await fetch(`${fake.url}${PUSH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}',
      })
      expect(response.status).toBe(400)
      // Loki answers the decoder's bare error (it only logs "couldn't parse push request").
      const said = await response.text()
      expect(said).toMatch(/timestamp in ns as a string, error found in #\d+ byte of /)
      expect(said).not.toMatch(/couldn't parse push request/)
      response = await fetch(`${fake.url}${PUSH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scope-orgid': 'a|b' },
        body: '{"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]}',
      })
      expect(response.status).toBe(400)
      expect(await response.text()).toBe("tenant ID 'a|b' contains unsupported character '|'\n")
      expect(fake.streams.size).toBe(0)
    })

    it("retries a 429 (Loki's rate limit) after its Retry-After, and delivers once", async () => {
      const fake = await loki({
        before: (_request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '0' }, body: rateLimitedBody(3, 300) } : undefined),
      })
      const lokiSender = sender({ url: fake.url })
      send(lokiSender, [line(1), line(2), line(3)])
      await lokiSender.flush()
      expect(fake.requests.map((r) => r.status)).toEqual([429, 204])
      expect(fake.records().map((r) => r.i)).toEqual([1, 2, 3])
      expect(lokiSender.stats()).toMatchObject({ delivered: 3, failed: 0, retried: 3, attempts: 2 })
    })

    it('retries 5xx and network failures; other 4xx fail for good', async () => {
      const fake = await loki({ before: (_r, index) => (index < 2 ? { status: 503, body: 'Service Unavailable' } : undefined) })
      const lokiSender = sender({ url: fake.url })
      send(lokiSender, [line(1)])
      await lokiSender.flush()
      expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 204])
      expect(lokiSender.stats()).toMatchObject({ delivered: 1, failed: 0 })

      const denied = await loki({ tenant: 'team-a' })
      const noTenant = sender({ url: denied.url })
      send(noTenant, [line(1)])
      await noTenant.flush()
      expect(denied.requests.map((r) => r.status)).toEqual([401])
      expect(noTenant.stats()).toMatchObject({ delivered: 0, failed: 1 })
    })

    it("splits a batch on 413; each part's 400 count applies to that part", async () => {
      const fake = await loki({ maxBodyBytes: 900, maxLineBytes: 200 })
      const lokiSender = sender({ url: fake.url })
      const lines = Array.from({ length: 12 }, (_, i) => (i === 9 ? line(i, `,"pad":"${'x'.repeat(250)}"`) : line(i)))
      send(lokiSender, lines)
      await lokiSender.flush()
      expect(fake.requests[0]?.status).toBe(413)
      expect(fake.requests.filter((r) => r.status === 400)).toHaveLength(1)
      expect(fake.records().map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11])
      const stats = lokiSender.stats()
      expect(stats).toMatchObject({ received: 12, delivered: 11, failed: 1 })
      expectLedger(stats)
    })
  })

  describe('credentials', () => {
    it('sends URL credentials as Basic auth and custom headers, and never shows either in messages or stats', async () => {
      const basic = `Basic ${Buffer.from('user:s3cr3t-pass').toString('base64')}`
      const echo = await sink((request) => ({
        status: request.headers.authorization === basic ? 400 : 401,
        // A server that echoes what it got: the failure message must not carry it on.
        body: `bad request from ${request.headers.authorization} with ${String(request.headers['x-api-token'])} at ${request.url}`,
      }))
      const base = echo.url.replace('http://', 'http://user:s3cr3t-pass@').replace('/logs', '')
      const lokiSender = sender({ url: base, headers: { 'X-Api-Token': 'tok-123456789' } })
      const failures: FailureEvent[] = []
      lokiSender.on('failure', (f) => failures.push(f))
      send(lokiSender, [line(1)])
      await lokiSender.flush()

      expect(echo.requests[0]?.headers.authorization).toBe(basic)
      expect(echo.requests[0]?.headers['x-api-token']).toBe('tok-123456789')
      expect(failures).toHaveLength(1)
      const shown = JSON.stringify({ failures, stats: lokiSender.stats(), endpoint: lokiSender.endpoint })
      expect(shown).not.toContain('s3cr3t-pass')
      expect(shown).not.toContain(Buffer.from('user:s3cr3t-pass').toString('base64'))
      expect(shown).not.toContain('tok-123456789')
    })

    it('an authorization header wins over URL credentials', async () => {
      const fake = await loki({ authorization: 'Bearer abc' })
      const lokiSender = sender({ url: fake.url.replace('http://', 'http://u:p@'), headers: { Authorization: 'Bearer abc' } })
      send(lokiSender, [line(1)])
      await lokiSender.flush()
      expect(lokiSender.stats().delivered).toBe(1)
    })
  })

  describe('order across concurrent requests', () => {
    it('entries of one stream reach Loki in order with 4 requests in flight and answers that overtake each other', async () => {
      // Strict order: an entry older than the stream's newest would be refused and counted failed.
      const fake = await loki({ order: 'strict', delayMs: (index) => (index % 3 === 0 ? 40 : index % 3 === 1 ? 0 : 15) })
      const lokiSender = sender({ url: fake.url, labelKeys: ['s'], batch: { maxRecords: 10, maxWaitMs: 60_000 }, pool: { concurrency: 4 } })
      const n = 400
      for (let i = 0; i < n; i++) lokiSender.send(createRecord(line(i, `,"s":"${i % 20 < 10 ? 'a' : 'b'}"`)))
      await lokiSender.flush()
      const stats = lokiSender.stats()
      expect(stats).toMatchObject({ received: n, delivered: n, failed: 0 })
      for (const entries of fake.streams.values()) {
        const is = entries.map((e) => (JSON.parse(e.line) as { i: number }).i)
        expect(is).toEqual([...is].sort((a, b) => a - b))
      }
      expect(fake.records()).toHaveLength(n)
    })

    it('with 1 in flight (the default), a batch retried after a 503 still lands before the later ones: strict order holds', async () => {
      const fake = await loki({ order: 'strict', before: (_request, index) => (index === 0 ? { status: 503, body: 'Service Unavailable' } : undefined) })
      const lokiSender = sender({ url: fake.url, batch: { maxRecords: 2, maxWaitMs: 60_000 } })
      send(lokiSender, [line(1), line(2), line(3), line(4), line(5), line(6)])
      await lokiSender.flush()
      expect(fake.requests.map((r) => r.status)).toEqual([503, 204, 204, 204])
      expect(fake.records().map((r) => r.i)).toEqual([1, 2, 3, 4, 5, 6])
      expect(lokiSender.stats()).toMatchObject({ delivered: 6, failed: 0 })
      expectLedger(lokiSender.stats())
    })

    it('with several in flight, a batch retried after a later one was taken: Loki 2.4+ takes it (1 h window); with strict order it is refused, counted failed', async () => {
      for (const order of ['window', 'strict'] as const) {
        // The first push fails once (503); the second batch of the stream, waiting for it, goes
        // meanwhile and is taken; the first one's retry then comes after it.
        const fake = await loki({ order, before: (_request, index) => (index === 0 ? { status: 503, body: 'Service Unavailable' } : undefined) })
        const lokiSender = sender({ url: fake.url, batch: { maxRecords: 2, maxWaitMs: 60_000 }, pool: { concurrency: 2 } })
        const failures: FailureEvent[] = []
        lokiSender.on('failure', (f) => failures.push(f))
        send(lokiSender, [line(1), line(2), line(3), line(4)])
        await lokiSender.flush()
        const stored = fake.records().map((r) => r.i)
        if (order === 'window') {
          expect(stored).toEqual([3, 4, 1, 2])
          expect(lokiSender.stats()).toMatchObject({ delivered: 4, failed: 0 })
        } else {
          expect(stored).toEqual([3, 4])
          expect(lokiSender.stats()).toMatchObject({ delivered: 2, failed: 2 })
          expect(failures[0]?.error).toMatch(/Loki refused 2 entries: entry out of order x2/)
        }
        expectLedger(lokiSender.stats())
      }
    })

    it('requests for disjoint streams run in parallel: a stream waiting does not hold the other back', async () => {
      // Stream a's first request is answered only once stream b's has arrived (and a while after):
      // were b's request held behind a's, neither would ever be answered (the test would time out);
      // were a's second request not held, it would arrive before a's first is answered.
      let bArrived: () => void = () => undefined
      const arrived = new Promise<void>((resolve) => (bArrived = resolve)).then(() => new Promise<void>((resolve) => setTimeout(resolve, 300)))
      const fake = await loki({
        gate: (request, index) => {
          if (request.text.includes('"s":"b"')) bArrived()
          return index === 0 ? arrived : undefined
        },
      })
      const lokiSender = sender({ url: fake.url, labelKeys: ['s'], batch: { maxRecords: 1, maxWaitMs: 60_000 }, pool: { concurrency: 4 } })
      lokiSender.send(createRecord(line(1, ',"s":"a"')))
      lokiSender.send(createRecord(line(2, ',"s":"b"')))
      lokiSender.send(createRecord(line(3, ',"s":"a"')))
      await lokiSender.flush()

      const streamOf = (k: number): string => (bodies(fake)[k]?.streams[0]?.stream.s ?? '')
      expect([streamOf(0), streamOf(1), streamOf(2)]).toEqual(['a', 'b', 'a'])
      // a's second request started only after a's first was answered; b's went while a's was open.
      expect(fake.events.indexOf('in 2')).toBeGreaterThan(fake.events.indexOf('out 0'))
      expect(fake.events.indexOf('in 1')).toBeLessThan(fake.events.indexOf('out 0'))
      expect(lokiSender.stats()).toMatchObject({ delivered: 3, failed: 0 })
    })
  })
})

describe('LogRecord built by hand', () => {
  it('works with records the engine did not make (no ndjson, no recordId)', async () => {
    const fake = await loki()
    const lokiSender = sender({ url: fake.url })
    lokiSender.send(new LogRecord(line(1), 30))
    await lokiSender.flush()
    expect(fake.records().map((r) => r.i)).toEqual([1])
  })
})
