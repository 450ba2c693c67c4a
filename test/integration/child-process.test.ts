/**
 * pino-courier in a separate Node process, as an app uses it: `import pino from 'pino'` and
 * `pino.transport({ target: 'pino-courier' })` resolved by package name (run `npm run build` first).
 * The parent runs the HTTP sink and reads the child's exit code and stderr.
 */
import { describe, expect, it } from 'vitest'
import { fixture, receivedOnce, summarizeSequence } from '../fixtures/integration.js'
import { runNode, type ChildResult } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const LOG_TO_SINK = fixture('log-to-sink.mjs')
const START_TRANSPORT = fixture('start-transport.mjs')

const { sink } = useCleanups()

/** Runs log-to-sink.mjs: `count` records to `url`, then `process.exit(0)` or a natural exit. */
function logToSink(url: string, count: number, mode: 'exit' | 'natural', extra: object = {}): Promise<ChildResult> {
  return runNode(LOG_TO_SINK, [url, String(count), mode, JSON.stringify(extra)])
}

/** Explains a failed child in the assertion message. */
function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`
}

/** Sums the record counts of stderr lines like `pino-courier: sender "http" dropped 12 records (...)`. */
function droppedOnStderr(stderr: string): { lines: number; records: number } {
  const matches = [...stderr.matchAll(/^pino-courier: sender "http" dropped (\d+) records? \(/gm)]
  return { lines: matches.length, records: matches.reduce((n, m) => n + Number(m[1]), 0) }
}

describe('exit', () => {
  const N = 10_000

  it('delivers every record, once, when the app calls process.exit(0) right after logging', async () => {
    const http = await sink()
    // The worker is usually not even ready when the loop ends: pino flushes the ring buffer and
    // blocks the exit until the transport's close has delivered everything.
    const result = await logToSink(http.url, N, 'exit')

    expect(result.code, describeChild(result)).toBe(0)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it('delivers every record, once, when the app just ends (natural exit)', async () => {
    const http = await sink()
    const result = await logToSink(http.url, N, 'natural')

    expect(result.code, describeChild(result)).toBe(0)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it('meets its close deadline when the sink hangs: the process exits by itself and stderr counts the loss', async () => {
    const n = 1000
    const http = await sink(() => ({ hang: true }))
    const result = await logToSink(http.url, n, 'exit', { closeTimeoutMs: 1000 })

    // pino blocks the exit until the transport has closed and gives up after 10 s ("end() took too
    // long"); with a 1 s deadline the child exits cleanly, and it is not the runner that kills it.
    expect(result.signal, describeChild(result)).toBeNull()
    expect(result.code, describeChild(result)).toBe(0)
    expect(result.stderr).not.toMatch(/took too long/)
    expect(result.stderr).toMatch(
      new RegExp(
        `^pino-courier: closed; ${n} of ${n} records could not be delivered \\(close deadline passed, ${n} abandoned\\) - http: ${n} \\(failed 0, dropped overflow 0, closed ${n}, oversize 0(?:; last error: .*)?\\)$`,
        'm',
      ),
    )
    expect(http.requests.length).toBeGreaterThanOrEqual(1)
    expect(http.records()).toHaveLength(0)
  })

  it("exits cleanly with the 'block' policy and a hung sink: the pause is bounded and every record counted", async () => {
    const n = 2000
    const http = await sink(() => ({ hang: true }))
    const result = await logToSink(http.url, n, 'exit', {
      closeTimeoutMs: 1000,
      sender: { queue: { maxRecords: 100, overflow: 'block', maxBlockMs: 500 } },
    })

    // Unbounded, the paused read loop never reached pino's end of stream: the child died of pino's
    // "_flushSync took too long (10s)" and nothing was reported.
    expect(result.signal, describeChild(result)).toBeNull()
    expect(result.code, describeChild(result)).toBe(0)
    expect(result.stderr).not.toMatch(/took too long/)
    const report = /^pino-courier: closed; (\d+) of (\d+) records could not be delivered .* - http: \d+ \(failed 0, dropped overflow (\d+), closed (\d+), oversize 0(?:; last error: .*)?\)$/m.exec(
      result.stderr,
    )
    expect(report, describeChild(result)).not.toBeNull()
    const [, undelivered, received, overflow, closed] = (report ?? []).map(Number)
    expect(received).toBe(n)
    expect(undelivered).toBe(n)
    expect((overflow ?? 0) + (closed ?? 0)).toBe(n)
    expect(overflow).toBeGreaterThan(0)
  })
})

describe('stderr', () => {
  it('writes throttled drop warnings and the close report to stderr', async () => {
    const http = await sink(() => ({ hang: true }))
    const result = await logToSink(http.url, 100, 'exit', { queue: { maxRecords: 5 }, closeTimeoutMs: 1000 })

    expect(result.code, describeChild(result)).toBe(0)
    const dropped = droppedOnStderr(result.stderr)
    // Throttled: a few lines for 100 dropped records, and together they account for all of them.
    expect(dropped.lines).toBeGreaterThanOrEqual(1)
    expect(dropped.lines).toBeLessThanOrEqual(3)
    expect(dropped.records).toBe(100)
    expect(result.stderr).toMatch(/^pino-courier: sender "http" dropped \d+ records? \(overflow: \d+/m)
    expect(result.stderr).toMatch(/^pino-courier: closed; 100 of 100 records could not be delivered/m)
  })

  it('stays silent on stderr with stderr: false', async () => {
    const http = await sink(() => ({ hang: true }))
    const result = await logToSink(http.url, 100, 'exit', {
      queue: { maxRecords: 5 },
      closeTimeoutMs: 1000,
      stderr: false,
    })

    expect(result.code, describeChild(result)).toBe(0)
    expect(http.requests.length).toBeGreaterThanOrEqual(1)
    expect(result.stderr).not.toContain('pino-courier')
  })
})

describe('invalid options', () => {
  const url = 'http://127.0.0.1:9/logs'

  it.each([
    {
      what: 'an invalid URL',
      options: { senders: [{ type: 'http', url: 'not a url' }] },
      message: /senders\[0\]\.url: Invalid URL/,
    },
    {
      what: 'an unknown sender type',
      options: { senders: [{ type: 'carrier-pigeon', url }] },
      // Every registered type is listed; new ones join the list before 'module'.
      message: /senders\[0\]\.type: Invalid discriminator value\. Expected 'http' \| 'file' \| 'webhook' \| 'memory' \| .*'module'/,
    },
    {
      what: 'a misspelt key of the transport',
      options: { senders: [{ type: 'http', url }], batch: { maxRecord: 5 } },
      message: /invalid options: batch\.maxRecord: unknown option/,
    },
    {
      what: 'a misspelt key of a sender',
      options: { senders: [{ type: 'http', url, queue: { maxRecord: 5 } }] },
      message: /senders\[0\]\.queue\.maxRecord: unknown option/,
    },
    {
      what: 'an unknown level name',
      options: { senders: [{ type: 'http', url, level: 'verbose' }] },
      message: /senders\[0\]\.level: unknown level "verbose" \(known: trace, debug, info, warn, error, fatal\)/,
    },
  ])('fails the app with a ConfigError naming the option for $what', async ({ options, message }) => {
    const result = await runNode(START_TRANSPORT, [JSON.stringify(options)])

    expect(result.code, describeChild(result)).not.toBe(0)
    expect(result.stderr).toContain('ConfigError: pino-courier: invalid options: ')
    expect(result.stderr).toMatch(message)
    // The worker never reported ready: the transport did not start with a broken option.
    expect(result.stdout).not.toContain('transport ready')
  })

  it("accepts a sender level that is one of the logger's custom levels", async () => {
    const http = await sink()
    const options = { senders: [{ type: 'http', url: http.url, level: 'verbose' }] }
    const result = await runNode(START_TRANSPORT, [
      JSON.stringify(options),
      JSON.stringify({ customLevels: { verbose: 25 } }),
    ])

    expect(result.code, describeChild(result)).toBe(0)
    expect(result.stdout).toContain('transport ready')
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
    expect(http.records()).toMatchObject([{ level: 30, msg: 'hello' }])
  })
})
