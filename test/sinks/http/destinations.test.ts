/**
 * The destinations people ask about, over the http sender, each configured as the README's recipe
 * says and sent to a local fake that checks the request as the service documents it
 * (destination-fakes.ts): a burst arrives whole and once, an outage (503, 429) is ridden out, the
 * service's own refusals are counted right, and the key never shows in a message or a stat.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { CourierCloseReport, TransportOptions } from '../../../src/index.js'
import { createRecord } from '../../../src/input/record.js'
import { createHttpSender, type HttpSender, type HttpSenderOptions } from '../../../src/sinks/http/http-sender.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { endTransport, fixture, flushLogger, nextEvent } from '../../fixtures/integration.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { runNode } from '../../helpers/child-process.js'
import { axiom, betterStack, DATADOG_MAX_ENTRIES, datadog, splunkHec, type FakeService } from './destination-fakes.js'

const cleanups = useCleanups()

const DD_API_KEY = 'dd0123456789abcdef0123456789abcd'
const HEC_TOKEN = '5f2c1c1e-1234-4c5d-9e8f-abcdefabcdef'
const AXIOM_TOKEN = 'xaat-01234567-89ab-cdef-0123-456789abcdef'
const BETTER_STACK_TOKEN = 'bs_source_TOKEN_0123456789abcdefXYZ'

/** The README recipes, with the fake's address where the service's would be. */
const recipes = {
  /** url: 'https://http-intake.logs.datadoghq.com/api/v2/logs' (your Datadog site's intake). */
  datadog: (origin: string, apiKey: string): HttpSenderOptions => ({
    url: `${origin}/api/v2/logs`,
    format: 'json',
    headers: { 'dd-api-key': apiKey },
    addFields: { time: 'timestamp', level: 'status' },
    batch: { maxRecords: 1000 },
    gzip: true,
  }),
  /** url: 'https://splunk.example.com:8088' (HEC's port; the path is added). */
  splunk: (origin: string, token: string): HttpSenderOptions => ({
    url: origin,
    format: 'splunk-hec',
    splunk: { sourcetype: '_json', index: 'main', source: 'checkout' },
    headers: { authorization: `Splunk ${token}` },
  }),
  /** url: 'https://api.axiom.co/v1/datasets/logs/ingest' (or an edge deployment's /v1/ingest/logs). */
  axiom: (origin: string, token: string): HttpSenderOptions => ({
    url: `${origin}/v1/datasets/logs/ingest`,
    headers: { authorization: `Bearer ${token}` },
    addFields: { time: '_time' },
    rejectedCountField: 'failed',
  }),
  /** url: 'https://<your source's ingesting host>'. */
  betterStack: (origin: string, token: string): HttpSenderOptions => ({
    url: origin,
    headers: { authorization: `Bearer ${token}` },
    addFields: { time: 'dt' },
  }),
}

interface Destination {
  name: string
  key: string
  start: () => Promise<FakeService>
  recipe: (origin: string, key: string) => HttpSenderOptions
}

const destinations: Destination[] = [
  { name: 'Datadog', key: DD_API_KEY, start: () => datadog(cleanups, DD_API_KEY), recipe: recipes.datadog },
  { name: 'Splunk HEC', key: HEC_TOKEN, start: () => splunkHec(cleanups, HEC_TOKEN, { allowedIndexes: ['main'] }), recipe: recipes.splunk },
  { name: 'Axiom', key: AXIOM_TOKEN, start: () => axiom(cleanups, 'logs', AXIOM_TOKEN), recipe: recipes.axiom },
  { name: 'Better Stack', key: BETTER_STACK_TOKEN, start: () => betterStack(cleanups, BETTER_STACK_TOKEN), recipe: recipes.betterStack },
]

/** A sender on the recipe, with fast retries; every message it gives is kept, to look for keys in. */
function sender(options: HttpSenderOptions): { http: HttpSender; messages: string[] } {
  const http = createHttpSender({ ...options, retry: { baseDelayMs: 5, maxDelayMs: 50, ...options.retry } })
  cleanups.defer(() => http.close({ timeoutMs: 1000 }))
  const messages: string[] = []
  http.on('retry', (event: SenderEvents['retry'][0]) => messages.push(event.error))
  http.on('failure', (event: SenderEvents['failure'][0]) => messages.push(event.error))
  return { http, messages }
}

const log = (i: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ level: i % 10 === 9 ? 50 : 30, time: 1_700_000_000_000 + i, pid: 1, hostname: 'web-1', msg: `order ${i}`, i, ...extra })

function burst(http: HttpSender, n: number, extra: (i: number) => Record<string, unknown> = () => ({})): void {
  for (let i = 0; i < n; i++) expect(http.send(createRecord(log(i, extra(i))))).toBe(true)
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.delivered + stats.failed + totalDropped(stats) + stats.queued + stats.inFlight)
}

/** Each record's `i`, in arrival order. */
const arrived = (service: FakeService): number[] => service.accepted.map((record) => record.i as number)
const once = (n: number, skip: (i: number) => boolean = () => false): number[] =>
  Array.from({ length: n }, (_, i) => i).filter((i) => !skip(i))

function expectNoKey(key: string, messages: readonly string[], stats: SenderStats): void {
  expect(messages.length + stats.recentFailures.length + (stats.lastError ? 1 : 0)).toBeGreaterThan(0)
  for (const text of [...messages, JSON.stringify(stats)]) expect(text).not.toContain(key)
}

describe.each(destinations)('$name, as the README recipe says', ({ key, start, recipe }) => {
  it('delivers a burst of 5,000 whole, each record once, in requests the service finds well-formed', async () => {
    const service = await start()
    const { http } = sender(recipe(service.origin, key))
    burst(http, 5000)
    await http.flush()
    expect(service.violations).toEqual([])
    expect(arrived(service).sort((a, b) => a - b)).toEqual(once(5000))
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 5000, delivered: 5000, failed: 0, retried: 0 })
    expectLedger(stats)
  })

  it('rides out an outage (503s, then 429s with Retry-After): everything arrives once, the key in no message', async () => {
    const service = await start()
    service.outage([503, 503, 503, 429, 429], '0')
    const { http, messages } = sender({ ...recipe(service.origin, key), pool: { concurrency: 1 } })
    burst(http, 1200)
    await http.flush()
    expect(arrived(service).sort((a, b) => a - b)).toEqual(once(1200))
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 1200, delivered: 1200, failed: 0 })
    expect(stats.retried).toBeGreaterThan(0)
    expect(messages.some((m) => /HTTP 503/.test(m))).toBe(true)
    expect(messages.some((m) => /HTTP 429/.test(m))).toBe(true)
    // The fakes' outage bodies echo the key or token they got: it is cut out of every message.
    expect(messages.some((m) => m.includes('…'))).toBe(true)
    expectNoKey(key, messages, stats)
    expectLedger(stats)
  })

  it('a wrong key fails the batch for good, and the wrong key is in no message either', async () => {
    const service = await start()
    const wrong = `${key.slice(0, -6)}WRONG1`
    const { http, messages } = sender(recipe(service.origin, wrong))
    burst(http, 50)
    await http.flush()
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 50, delivered: 0, failed: 50, retried: 0 })
    expect(stats.recentFailures[0]?.status).toBe(403)
    expectNoKey(wrong, messages, stats)
    expectNoKey(key, messages, stats)
  })
})

describe('Datadog limits', () => {
  it('sends at most 1,000 entries per request (the fake answers 400 past it)', async () => {
    const service = await datadog(cleanups, DD_API_KEY)
    const { http } = sender(recipe('datadog', service))
    burst(http, 2500)
    await http.flush()
    const sizes = service.server.requests.map((r) => (JSON.parse(r.body) as unknown[]).length)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(DATADOG_MAX_ENTRIES)
    expect(arrived(service)).toHaveLength(2500)
  })

  it('batches set past 5 MB meet the 413 and are split: everything arrives once', async () => {
    const service = await datadog(cleanups, DD_API_KEY)
    const options = recipe('datadog', service)
    const { http } = sender({ ...options, batch: { maxRecords: 1000, maxBytes: 16 * 1024 * 1024 } })
    // 1,000 records of about 8 KB: an 8 MB batch, over Datadog's 5 MB.
    burst(http, 1000, () => ({ level: 30, payload: 'p'.repeat(8000) }))
    await http.flush()
    const sizes = service.server.requests.map((r) => Buffer.byteLength(r.body))
    expect(sizes[0]).toBeGreaterThan(5_000_000)
    expect(sizes.slice(1).every((size) => size <= 5_000_000)).toBe(true)
    expect(arrived(service).sort((a, b) => a - b)).toEqual(once(1000))
    expect(http.stats()).toMatchObject({ delivered: 1000, failed: 0 })
  })

  it('writes the record\'s time as `timestamp` and its level name as `status`, which Datadog reads', async () => {
    const service = await datadog(cleanups, DD_API_KEY)
    const { http } = sender(recipe('datadog', service))
    burst(http, 10)
    await http.flush()
    expect(service.accepted[0]).toMatchObject({ timestamp: '2023-11-14T22:13:20.000Z', status: 'info', level: 30, msg: 'order 0' })
    expect(service.accepted.find((r) => r.i === 9)).toMatchObject({ status: 'error', timestamp: '2023-11-14T22:13:20.009Z' })
    expect(service.server.requests[0]?.headers['content-encoding']).toBe('gzip')
  })
})

describe('Splunk HEC answers', () => {
  it('an event HEC finds invalid: the events before it indexed once, it failed, the rest sent again and indexed once', async () => {
    const service = await splunkHec(cleanups, HEC_TOKEN, { allowedIndexes: ['main'] })
    const { http } = sender(recipe('splunk', service))
    burst(http, 2000, (i) => (i === 700 || i === 1500 ? { poison: true } : {}))
    await http.flush()
    expect(service.violations).toEqual([])
    expect(arrived(service).sort((a, b) => a - b)).toEqual(once(2000, (i) => i === 700 || i === 1500))
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 2000, delivered: 1998, failed: 2 })
    expect(stats.recentFailures.map((f) => f.status)).toEqual([400, 400])
    expect(stats.recentFailures[0]?.error).toContain('HEC code 6: Invalid data format')
    expectLedger(stats)
  })

  it('an index the token does not allow: every event failed with HEC\'s reason, none sent twice', async () => {
    const service = await splunkHec(cleanups, HEC_TOKEN, { allowedIndexes: ['main'] })
    const { http } = sender({ ...recipe('splunk', service), splunk: { index: 'secret' } })
    burst(http, 300)
    await http.flush()
    expect(service.accepted).toEqual([])
    expect(http.stats()).toMatchObject({ received: 300, delivered: 0, failed: 300, retried: 0 })
    expect(http.stats().recentFailures[0]?.error).toContain('HEC code 7: Incorrect index')
  })

  it('sends the time in epoch seconds and the recipe\'s metadata with every event', async () => {
    const service = await splunkHec(cleanups, HEC_TOKEN)
    const { http } = sender(recipe('splunk', service))
    burst(http, 3)
    await http.flush()
    expect(service.accepted[2]).toMatchObject({ i: 2, _hecTime: 1_700_000_000.002, _hecMeta: { sourcetype: '_json', index: 'main', source: 'checkout' } })
  })
})

describe('Axiom answers', () => {
  it('counts the events Axiom refuses (its `failed`) as failed, the others delivered, none sent twice', async () => {
    const service = await axiom(cleanups, 'logs', AXIOM_TOKEN)
    const { http } = sender(recipe('axiom', service))
    burst(http, 1000, (i) => (i % 100 === 42 ? { refuse: true } : {}))
    await http.flush()
    expect(arrived(service).sort((a, b) => a - b)).toEqual(once(1000, (i) => i % 100 === 42))
    const stats = http.stats()
    expect(stats).toMatchObject({ received: 1000, delivered: 990, failed: 10, retried: 0 })
    expect(stats.recentFailures[0]?.error).toContain('dataset field limit')
    // Nothing went twice: the requests carried 1,000 events in all.
    expect(service.server.requests.reduce((n, r) => n + r.body.split('\n').filter((l) => l !== '').length, 0)).toBe(1000)
    expectLedger(stats)
  })
})

describe('Better Stack', () => {
  it('writes `dt` from the record\'s time and posts NDJSON to the ingesting host\'s root', async () => {
    const service = await betterStack(cleanups, BETTER_STACK_TOKEN)
    const { http } = sender(recipe('betterStack', service))
    burst(http, 3)
    await http.flush()
    expect(service.server.requests[0]).toMatchObject({ url: '/', headers: { 'content-type': 'application/x-ndjson' } })
    expect(service.accepted[1]).toMatchObject({ dt: '2023-11-14T22:13:20.001Z', i: 1 })
  })
})

describe('through the real transport (pino.transport, target pino-courier)', () => {
  it('Datadog and Splunk HEC: a burst with an outage on each, delivered once each; refusals counted; the ledger adds up', async () => {
    const dd = await datadog(cleanups, DD_API_KEY)
    const hec = await splunkHec(cleanups, HEC_TOKEN, { allowedIndexes: ['main'] })
    dd.outage([503, 503, 429], '0')
    hec.outage([503, 429], '0')
    const n = 6000
    const transport = pino.transport<TransportOptions>({
      target: 'pino-courier',
      options: {
        senders: [
          { type: 'http', name: 'datadog', ...recipes.datadog(dd.origin, DD_API_KEY), retry: { baseDelayMs: 5 } },
          { type: 'http', name: 'splunk', ...recipes.splunk(hec.origin, HEC_TOKEN), retry: { baseDelayMs: 5 } },
        ],
        stderr: false,
      },
    })
    const closed = nextEvent<CourierCloseReport>(transport, 'courier:close')
    const logger = pino({ base: { service: 'checkout' } }, transport)
    for (let i = 0; i < n; i++) logger.info(i === 4321 ? { i, poison: true } : { i }, 'order placed')
    await flushLogger(logger)
    await endTransport(transport)
    const report = await closed
    const [ddStats, hecStats] = report.senders.map((s) => s.stats)
    expect(arrived(dd).sort((a, b) => a - b)).toEqual(once(n))
    expect(arrived(hec).sort((a, b) => a - b)).toEqual(once(n, (i) => i === 4321))
    expect(dd.violations).toEqual([])
    expect(hec.violations).toEqual([])
    expect(ddStats).toMatchObject({ received: n, delivered: n, failed: 0, queued: 0, inFlight: 0 })
    expect(hecStats).toMatchObject({ received: n, delivered: n - 1, failed: 1, queued: 0, inFlight: 0 })
    expect(dd.accepted[0]).toMatchObject({ service: 'checkout', status: 'info', msg: 'order placed' })
    for (const stats of [ddStats, hecStats] as SenderStats[]) {
      expectLedger(stats)
      const text = JSON.stringify(stats)
      expect(text).not.toContain(DD_API_KEY)
      expect(text).not.toContain(HEC_TOKEN)
    }
  })

  it('Better Stack and Axiom: process.exit() right after a burst still delivers everything', async () => {
    const bs = await betterStack(cleanups, BETTER_STACK_TOKEN)
    const ax = await axiom(cleanups, 'logs', AXIOM_TOKEN)
    for (const [service, options] of [
      [bs, recipes.betterStack(bs.origin, BETTER_STACK_TOKEN)],
      [ax, recipes.axiom(ax.origin, AXIOM_TOKEN)],
    ] as const) {
      const { url, ...sender } = options
      const result = await runNode(fixture('log-to-sink.mjs'), [url, '5000', 'exit', JSON.stringify({ sender })])
      expect(result.code).toBe(0)
      expect(arrived(service).sort((a, b) => a - b)).toEqual(once(5000))
      expect(service.violations).toEqual([])
    }
  })
})

/** A recipe pointed at a fake, by the recipe's name. */
function recipe(name: keyof typeof recipes, service: FakeService): HttpSenderOptions {
  const keys = { datadog: DD_API_KEY, splunk: HEC_TOKEN, axiom: AXIOM_TOKEN, betterStack: BETTER_STACK_TOKEN }
  return recipes[name](service.origin, keys[name])
}
