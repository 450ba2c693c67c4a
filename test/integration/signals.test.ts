/**
 * handleSignals() and createCourierTransport() in real child processes (test/fixtures/signal-app.mjs,
 * importing 'pino-courier' by name: run `npm run build` first). The parent runs the HTTP sink, waits
 * for the child's "logged" line, sends real signals and reads the exit code and stderr. Time bounds
 * are generous upper limits that the broken behaviour would still exceed (pino's 10 s exit limit, a
 * 30 s close deadline), never speed targets.
 */
import { describe, expect, it } from 'vitest'
import { fixture, receivedOnce, summarizeSequence } from '../fixtures/integration.js'
import { runNode, startNode, type ChildResult, type RunningChild } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const SIGNAL_APP = fixture('signal-app.mjs')
const START_TRANSPORT = fixture('start-transport.mjs')
const N = 10_000
/**
 * Batches that only a flush or a close sends (nothing leaves on its own for 60 s): records that
 * arrive then were delivered by the shutdown under test, not by the batching before it.
 */
const holdBatches = { batch: { maxRecords: 100_000, maxBytes: 8 * 1024 * 1024, maxWaitMs: 60_000 } }

const { sink, defer } = useCleanups()

/** Starts signal-app.mjs (see its header for `config`) and waits until it has logged its records. */
async function startApp(url: string, config: object): Promise<RunningChild> {
  const child = startNode(SIGNAL_APP, [url, JSON.stringify(config)])
  defer(() => {
    if (child.running) child.process.kill('SIGKILL')
    return child.result
  })
  await child.waitForLine(/^logged$/)
  return child
}

/** Explains a failed child in the assertion message. */
function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`
}

/** The close report line pino-courier writes when `n` of `n` records were abandoned at the deadline. */
function closeReport(n: number): RegExp {
  return new RegExp(
    `^pino-courier: closed; ${n} of ${n} records could not be delivered \\(close deadline passed, ${n} abandoned\\) - http: ${n} \\(failed 0, dropped overflow 0, closed ${n}, oversize 0(?:; last error: .*)?\\)$`,
    'm',
  )
}

/** Sleeps without asserting anything about time. */
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('worker transport', () => {
  it('SIGTERM right after a burst: pino closes the worker on the helper’s exit, every record arrives once, code 143', async () => {
    const http = await sink()
    // Signalled as soon as the loop ends: the worker is usually not even ready yet.
    const child = await startApp(http.url, { target: 'logger', count: N })
    child.signal('SIGTERM')
    const result = await child.result

    expect(result.signal, describeChild(result)).toBeNull()
    expect(result.code, describeChild(result)).toBe(143)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it('SIGINT, with the transport stream as the target: code 130, every record once (sent by the close at exit)', async () => {
    const http = await sink()
    const child = await startApp(http.url, { target: 'transport', count: N, courier: holdBatches })
    child.signal('SIGINT')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(130)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it('createCourierTransport({ handleSignals: true }): code 143, every record once, and pino never loaded in the worker', async () => {
    const http = await sink()
    const child = await startApp(http.url, { target: 'create', count: N, probe: true })
    child.signal('SIGTERM')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    // The probe is a module sender: it runs in the worker and looks for pino in that thread's module cache.
    expect(result.stderr).toContain('probe: worker true, pino loaded false')
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it('createCourierTransport with handleSignals options: only the named signal, code 128 + its number', async () => {
    const http = await sink()
    const child = await startApp(http.url, { target: 'create', count: 1000, signals: { signals: ['SIGHUP'] } })
    child.signal('SIGHUP')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(129)
    expect(summarizeSequence(http.records(), 1000)).toMatchObject(receivedOnce(1000))
  })

  it('a hung sink: the exit waits only for the close deadline, and stderr counts what was not delivered', async () => {
    const n = 1000
    const http = await sink(() => ({ hang: true }))
    const child = await startApp(http.url, { target: 'logger', count: n, courier: { closeTimeoutMs: 1000 } })
    const sent = child.signal('SIGTERM')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(result.stderr).not.toMatch(/took too long/)
    expect(result.stderr).toMatch(closeReport(n))
    // pino would give up on a close without a deadline after 10 s.
    expect(result.endedAt - sent).toBeLessThan(1000 + 5000)
    expect(http.records()).toHaveLength(0)
  })

  it('a second signal while pino blocks on the closing worker ends the process at once', async () => {
    const http = await sink(() => ({ hang: true }))
    const child = await startApp(http.url, { target: 'logger', count: 2000, courier: { closeTimeoutMs: 9000 } })
    child.signal('SIGINT')
    await http.waitFor(() => http.requests.length > 0)
    await pause(300)
    // Still there: the first SIGINT was handled (closing), not the default kill.
    expect(child.running).toBe(true)
    const second = child.signal('SIGINT')
    const result = await child.result

    // The helper removed its listeners before process.exit(): the second SIGINT has its default
    // action even though pino's exit hook blocks the main thread (up to the 9 s deadline).
    expect(result.signal, describeChild(result)).toBe('SIGINT')
    expect(result.endedAt - second).toBeLessThan(5000)
  })
})

describe('in-process CourierStream', () => {
  it.each([
    { target: 'stream', what: 'the stream' },
    { target: 'logger-stream', what: 'a logger over the stream' },
  ])('SIGTERM with $what as the target: closed before exiting, every record once, code 143', async ({ target }) => {
    const http = await sink()
    const child = await startApp(http.url, { target, count: N, courier: holdBatches })
    child.signal('SIGTERM')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })

  it("a hung sink: the exit waits for the stream's close deadline, and its close report counts the loss", async () => {
    const n = 1000
    const http = await sink(() => ({ hang: true }))
    const child = await startApp(http.url, { target: 'stream', count: n, courier: { closeTimeoutMs: 1000 } })
    const sent = child.signal('SIGTERM')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(result.stderr).toMatch(closeReport(n))
    expect(result.endedAt - sent).toBeLessThan(1000 + 5000)
  })

  it('a close slower than timeoutMs: the helper exits anyway at timeoutMs and says what was not delivered', async () => {
    const n = 1000
    const http = await sink(() => ({ hang: true }))
    const child = await startApp(http.url, {
      target: 'stream',
      count: n,
      courier: { closeTimeoutMs: 30_000 },
      signals: { timeoutMs: 1000 },
    })
    const sent = child.signal('SIGTERM')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(result.stderr).toMatch(
      new RegExp(
        `^pino-courier: close did not finish within 1000 ms of SIGTERM \\(timeoutMs\\); exiting anyway with code 143; ${n} of ${n} records not delivered yet - http: ${n} \\(queued \\d+, in flight \\d+, failed 0, dropped 0\\)$`,
        'm',
      ),
    )
    // It did wait (the timer starts when the signal arrives, after it was sent), and not for the
    // stream's 30 s deadline.
    expect(result.endedAt - sent).toBeGreaterThanOrEqual(900)
    expect(result.endedAt - sent).toBeLessThan(1000 + 5000)
  })

  it('a second signal while the stream closes exits at once, with the code of the first', async () => {
    const http = await sink(() => ({ hang: true }))
    const child = await startApp(http.url, {
      target: 'stream',
      count: 1000,
      courier: { closeTimeoutMs: 30_000 },
      signals: { timeoutMs: 30_000 },
    })
    child.signal('SIGTERM')
    await http.waitFor(() => http.requests.length > 0)
    await pause(300)
    expect(child.running).toBe(true)
    const second = child.signal('SIGINT')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(143)
    expect(result.stderr).toMatch(/^pino-courier: SIGINT while closing after SIGTERM; exiting at once with code 143$/m)
    expect(result.endedAt - second).toBeLessThan(5000)
  })
})

describe("the app's own listener", () => {
  it.each([
    { target: 'logger', what: 'worker transport' },
    { target: 'stream', what: 'in-process stream' },
  ])('$what: the helper only flushes, the app decides when and how to exit, nothing is lost', async ({ target }) => {
    const http = await sink()
    const child = await startApp(http.url, { target, count: N, courier: holdBatches, ownHandler: true })
    await pause(300)
    expect(http.requests).toHaveLength(0)
    child.signal('SIGTERM')
    await child.waitForLine(/^app handler ran$/)
    // Delivered while the process lives on: the helper flushed instead of exiting.
    await http.waitFor(() => http.records().length >= N)
    await pause(300)
    expect(child.running).toBe(true)
    child.send('exit 3')
    const result = await child.result

    expect(result.code, describeChild(result)).toBe(3)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
    expect(result.stderr).not.toMatch(/pino-courier|Error/)
  })
})

describe('uninstall', () => {
  it('the returned function removes the listeners (twice is fine): the signal then has its default action', async () => {
    const http = await sink()
    const child = await startApp(http.url, { target: 'transport', count: 10 })
    child.send('uninstall')
    expect(await child.waitForLine(/^listeners /)).toBe('listeners SIGTERM 0 SIGINT 0')
    child.signal('SIGTERM')
    const result = await child.result

    expect(result.signal, describeChild(result)).toBe('SIGTERM')
    expect(result.code).toBeNull()
  })
})

describe('options', () => {
  it('a plain pino.transport() refuses handleSignals, naming it and saying where it belongs', async () => {
    const options = { senders: [{ type: 'http', url: 'http://127.0.0.1:9/logs' }], handleSignals: true }
    const result = await runNode(START_TRANSPORT, [JSON.stringify(options)])

    expect(result.code, describeChild(result)).not.toBe(0)
    expect(result.stderr).toMatch(
      /ConfigError: pino-courier: invalid options: handleSignals: the transport runs in a worker thread, which receives no signals; use createCourierTransport\(\) or handleSignals\(\) in the main thread/,
    )
    expect(result.stdout).not.toContain('transport ready')
  })
})
