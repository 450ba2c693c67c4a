/**
 * Faults an independent review found in the webhook alert sender, each reproduced before its fix;
 * "(guard)" tests check behaviour that was suspected and found correct, so that it stays so.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { TeamsPayload } from '../../../src/sinks/webhook/formats/teams-format.js'
import { totalDropped, type SenderStats } from '../../../src/stats/delivery-stats.js'
import { createRecord, LogRecord } from '../../../src/input/record.js'
import type { SenderEvents } from '../../../src/senders/sender.js'
import {
  createWebhookAlertSender,
  type WebhookAlertSender,
  type WebhookAlertSenderOptions,
} from '../../../src/sinks/webhook/webhook-alert-sender.js'
import { useCleanups } from '../../helpers/cleanups.js'

type FailureEvent = SenderEvents['failure'][0]

const { defer, sink } = useCleanups()
afterEach(() => {
  vi.useRealTimers()
})

function alertSender(options: Partial<WebhookAlertSenderOptions> & { url: string }): WebhookAlertSender {
  const created = createWebhookAlertSender({ retry: { maxAttempts: 1 }, ...options })
  defer(() => created.close({ timeoutMs: 1000 }))
  return created
}

function expectLedger(stats: SenderStats): void {
  expect(stats.received).toBe(stats.queued + stats.inFlight + stats.delivered + stats.failed + totalDropped(stats))
  expect(stats.queued).toBeGreaterThanOrEqual(0)
  expect(stats.inFlight).toBeGreaterThanOrEqual(0)
}

async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = performance.now()
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Every text a user can see about a sender: failure events, stats, close report. */
async function visibleTexts(alerts: WebhookAlertSender, failures: FailureEvent[]): Promise<string> {
  const report = await alerts.close({ timeoutMs: 2000 })
  return [JSON.stringify(failures), JSON.stringify(alerts.stats()), JSON.stringify(report)].join('\n')
}

let gcFunction: (() => void) | undefined
function gc(): void {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc')
    gcFunction = vm.runInNewContext('gc') as () => void
  }
  gcFunction()
  gcFunction()
}

describe('webhook alert sender: faults found in review', () => {
  describe('memory held per group', () => {
    // alert-fields.ts valueText()/truncate() and trimStack() keep `text.slice(...)` of the parsed
    // value: V8 makes a SlicedString that keeps the whole parent string alive. A group "holding one
    // example of at most 1,000 characters" in fact holds the record's entire message (or stack).
    it('does not keep each distinct huge message alive for the whole window (60 x 1 MB messages)', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url, windowMs: 600_000 })
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < 60; i++) {
        alerts.send(createRecord(JSON.stringify({ level: 50, time: Date.now(), msg: `distinct ${i} ${'x'.repeat(1_000_000)}` })))
      }
      await alerts.flush()
      gc()
      const retainedMb = (process.memoryUsage().heapUsed - before) / 1e6
      expect(alerts.stats().alerts.groups).toBe(60)
      // 60 groups x (a 1,000-character message + key) is well under 1 MB; 60 MB means the originals stayed.
      expect(retainedMb).toBeLessThan(10)
    })

    it('does not keep each distinct huge stack alive for the whole window (60 x 1 MB stacks)', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url, windowMs: 600_000 })
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < 60; i++) {
        const frames = Array.from({ length: 20_000 }, (_, f) => `    at fn${f} (/srv/app/module${f}.js:1:1)`).join('\n')
        const err = { type: `E${i}`, message: 'boom', stack: `E${i}: boom\n${frames}` }
        alerts.send(createRecord(JSON.stringify({ level: 50, time: Date.now(), msg: 'deep', err })))
      }
      await alerts.flush()
      gc()
      const retainedMb = (process.memoryUsage().heapUsed - before) / 1e6
      expect(alerts.stats().alerts.groups).toBe(60)
      // maxStackLines 10 / maxStackChars 2000 per example: a few hundred KB in all, not 60 x ~0.8 MB.
      expect(retainedMb).toBeLessThan(10)
    })
  })

  describe('the webhook URL as a credential', () => {
    it('does not leak the start of a URL token that straddles the 512-character quote limit', async () => {
      const token = 'SECRETTOKEN0123456789abcdefghij'
      // The sink echoes the token near the end of a long error page: the quote is cut at 512
      // characters inside it, so the cut token no longer matches the secret list and is shown.
      const server = await sink(() => ({ status: 404, body: `${'x'.repeat(490)} bad token ${token}` }))
      const alerts = alertSender({ url: `${server.url}/services/T0001/B0002/${token}` })
      const failures: FailureEvent[] = []
      alerts.on('failure', (f) => failures.push(f))
      alerts.send(createRecord('{"level":50,"msg":"boom"}'))
      await alerts.flush()
      expect(failures).toHaveLength(1)
      const texts = await visibleTexts(alerts, failures)
      expect(texts).toContain('bad token')
      expect(texts).not.toContain('SECRETTOKEN')
    })

    it("does not leak the URL's userinfo when the sink echoes the Authorization header it derived", async () => {
      // new URL userinfo -> `authorization: Basic base64(user:pass)`; the base64 form is not a "secret".
      const server = await sink((req) => ({ status: 401, body: `bad credentials: ${String(req.headers.authorization)}` }))
      const url = new URL(server.url)
      url.username = 'hookuser'
      url.password = 'hunter2secret'
      const alerts = alertSender({ url: url.href })
      const failures: FailureEvent[] = []
      alerts.on('failure', (f) => failures.push(f))
      alerts.send(createRecord('{"level":50,"msg":"boom"}'))
      await alerts.flush()
      expect(failures).toHaveLength(1)
      const basic = Buffer.from('hookuser:hunter2secret').toString('base64')
      const texts = await visibleTexts(alerts, failures)
      expect(texts).toContain('bad credentials')
      expect(texts).not.toContain(basic)
    })

    it('does not leak a percent-encoded query token that the sink echoes as it was sent', async () => {
      // e.g. an Azure Functions key `?code=...%3D%3D`: urlSecrets() lists the decoded value and the
      // whole raw query, but not the raw `key=value` pair or the raw value.
      const raw = 'AbCdEf0123456789%2BxYz%3D%3D'
      const server = await sink((req) => ({ status: 403, body: `forbidden: ${new URL(req.url, 'http://x').search.slice(1)}` }))
      const alerts = alertSender({ url: `${server.url}?code=${raw}` })
      const failures: FailureEvent[] = []
      alerts.on('failure', (f) => failures.push(f))
      alerts.send(createRecord('{"level":50,"msg":"boom"}'))
      await alerts.flush()
      expect(failures).toHaveLength(1)
      const texts = await visibleTexts(alerts, failures)
      expect(texts).toContain('forbidden')
      expect(texts).not.toContain('AbCdEf0123456789')
    })
  })

  describe('size limits', () => {
    it.each(['json', 'teams'] as const)(
      '%s: keeps a single alert within maxBodyBytes (2048) when its message is 1,000 CJK characters',
      async (format) => {
        const server = await sink()
        const alerts = alertSender({ url: server.url, format, maxBodyBytes: 2048, title: '決済サービス本番環境' })
        alerts.send(createRecord(JSON.stringify({ level: 50, msg: '漢'.repeat(1000) })))
        await alerts.flush()
        expect(server.requests).toHaveLength(1)
        expect(server.requests[0]!.raw.length).toBeLessThanOrEqual(2048)
      },
    )
  })

  describe('times', () => {
    it("shows a record's time written by pino.stdTimeFunctions.unixTime (seconds) as its real date, not 1970", async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url })
      const seconds = Math.round(Date.now() / 1000)
      alerts.send(createRecord(`{"level":50,"time":${seconds},"msg":"boom"}`))
      await alerts.flush()
      const body = JSON.parse(server.requests[0]!.body) as { groups: { firstAt: string }[] }
      expect(new Date(body.groups[0]!.firstAt).getUTCFullYear()).toBeGreaterThanOrEqual(2020)
    })
  })

  describe('escaping', () => {
    it('teams: a log message cannot plant a masked markdown link in the card (slack and discord escape it)', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url, format: 'teams' })
      const phishing = '[Reset your password](https://evil.example/login)'
      alerts.send(createRecord(JSON.stringify({ level: 50, msg: phishing })))
      await alerts.flush()
      const card = (JSON.parse(server.requests[0]!.body) as TeamsPayload).attachments[0].content
      const texts = JSON.stringify(card.body)
      expect(texts).not.toContain(phishing)
    })
  })

  describe('send never throws', () => {
    it('takes a hand-made record whose line is JSON null without throwing, and keeps the ledger', async () => {
      const server = await sink()
      const alerts = alertSender({ url: server.url })
      // alert-digest.ts catches a JSON.parse error, but a line that parses to a non-object (null)
      // reaches `value[messageKey]` in #keyFields / recordTime and throws a TypeError from send().
      expect(() => alerts.send(new LogRecord('null', 50))).not.toThrow()
      await alerts.flush()
      expectLedger(alerts.stats())
    })
  })

  describe('options', () => {
    it('refuses a URL whose userinfo has a malformed percent-escape with a ConfigError (not a bare URIError)', () => {
      // z.url() accepts it; HttpPoster's decodeURIComponent(url.username) then throws "URI malformed".
      let thrown: unknown
      try {
        createWebhookAlertSender({ url: 'http://us%zzer:pw@127.0.0.1:9/hook' })
      } catch (error) {
        thrown = error
      }
      expect((thrown as Error | undefined)?.name).toBe('ConfigError')
    })
  })

  describe('ledger in records (guard)', () => {
    it('(guard) stays balanced through a retried post, a permanent 4xx and a post abandoned at the close deadline', async () => {
      let calls = 0
      const server = await sink(() => {
        calls++
        if (calls === 1) return { status: 503 }
        if (calls === 2) return undefined
        if (calls === 3) return { status: 400, body: 'invalid_payload' }
        return { hang: true }
      })
      const alerts = createWebhookAlertSender({ url: server.url, maxAlertsPerWindow: 5, retry: { baseDelayMs: 1, maxDelayMs: 2 } })
      alerts.send(createRecord('{"level":50,"msg":"a"}')) // first: 503 then 200
      await until(() => alerts.stats().delivered === 1, 'first delivered')
      for (let i = 0; i < 3; i++) alerts.send(createRecord('{"level":50,"msg":"b"}'))
      alerts.send(createRecord('{"level":60,"msg":"f"}')) // flush: 4 records, refused 400
      await until(() => alerts.stats().failed === 4, 'flush failed')
      alerts.send(createRecord('{"level":60,"msg":"g"}')) // flush: hangs
      for (let i = 0; i < 5; i++) alerts.send(createRecord('{"level":50,"msg":"c"}')) // pending digest
      await until(() => alerts.stats().inFlight === 1, 'hanging post in flight')
      expectLedger(alerts.stats())
      const report = await alerts.close({ timeoutMs: 300 })
      expect(report.stats).toMatchObject({ received: 11, delivered: 1, failed: 4, retried: 1, inFlight: 0, queued: 0 })
      expect(report.stats.dropped.closed).toBe(6)
      expect(report.abandonedAtDeadline).toBe(6)
      expectLedger(report.stats)
    })
  })
})
