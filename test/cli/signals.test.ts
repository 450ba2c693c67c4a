import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { ndjson, startCli, tallyOf, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: SIGTERM and SIGINT', () => {
  it('SIGTERM mid-stream: stops reading, delivers what it read, prints the tally, exits 0', async () => {
    // Slow answers: when the signal comes, records are still queued or in flight.
    const sink = await cleanups.sink(() => ({ delayMs: 300 }))
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, batch: { maxRecords: 100, maxWaitMs: 10 }, pool: { concurrency: 1 } }] })
    const child = startCli(['--config', config, '--quiet'])
    // stdin stays open: the writer upstream is still running when the signal comes.
    await child.write(ndjson(500))
    await sink.waitFor(() => sink.requests.length > 0)
    child.process.kill('SIGTERM')
    const result = await child.result
    expect(result.signal).toBeNull()
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('SIGTERM: stopped reading; delivering what was read within 5000 ms (SIGTERM again to exit at once)')
    // Every line read was delivered (all 500 unless the pipe handed them over in pieces).
    const read = Number(/stopped by SIGTERM: (\d+) lines read/.exec(result.stderr)?.[1])
    expect(read).toBeGreaterThanOrEqual(100)
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: read, failed: 0, dropped: 0 })
    expect(sink.records()).toHaveLength(read)
  })

  it('SIGTERM with a sink that never answers: closes at the deadline, counts what it abandoned, exits 1', async () => {
    const sink = await cleanups.sink(() => ({ hang: true }))
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, batch: { maxWaitMs: 10 } }], closeTimeoutMs: 500 })
    const child = startCli(['--config', config, '--quiet'])
    await child.write(ndjson(100))
    await sink.waitFor(() => sink.requests.length > 0)
    child.process.kill('SIGTERM')
    const result = await child.result
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toContain('stopped by SIGTERM: 100 lines read')
    expect(result.stderr).toContain('close deadline (500 ms) reached: 100 records abandoned')
    expect(tallyOf(result.stderr).line).toContain('dropped 100 (closed 100)')
  })

  it('a second SIGTERM exits 130 at once too', async () => {
    const sink = await cleanups.sink(() => ({ hang: true }))
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, batch: { maxWaitMs: 10 } }], closeTimeoutMs: 9000 })
    const child = startCli(['--config', config, '--quiet'], { timeoutMs: 60_000 })
    await child.write(ndjson(10))
    await sink.waitFor(() => sink.requests.length > 0)
    child.process.kill('SIGTERM')
    await child.waitForStderr(/SIGTERM: stopped reading/)
    child.process.kill('SIGTERM')
    const result = await child.result
    expect(result.code).toBe(130)
    expect(result.stderr).toContain('second signal (SIGTERM): exiting now')
  })

  it('a second SIGINT exits 130 at once, without waiting for the close deadline', async () => {
    const sink = await cleanups.sink(() => ({ hang: true }))
    const dir = await cleanups.tempDir()
    // A close deadline long past the test's own timeout: only the second SIGINT can end it in time.
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, batch: { maxWaitMs: 10 } }], closeTimeoutMs: 9000 })
    const child = startCli(['--config', config, '--quiet'], { timeoutMs: 60_000 })
    await child.write(ndjson(10))
    await sink.waitFor(() => sink.requests.length > 0)
    child.process.kill('SIGINT')
    // Two signals sent at once may reach the process as one: the second goes once the first is taken.
    await child.waitForStderr(/SIGINT: stopped reading; delivering what was read within 9000 ms \(SIGINT again to exit at once\)/)
    child.process.kill('SIGINT')
    const result = await child.result
    expect(result.code).toBe(130)
    expect(result.stderr).toContain('second signal (SIGINT): exiting now')
    expect(result.stderr).not.toContain('end of input')
  })

  it('SIGTERM while the reader is paused by a full queue: exits within the close deadline, nothing lost uncounted', async () => {
    const sink = await cleanups.sink(() => ({ hang: true }))
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, {
      senders: [{ type: 'http', url: sink.url, batch: { maxRecords: 10, maxWaitMs: 10 }, pool: { concurrency: 1 } }],
      queue: { maxRecords: 50, maxBlockMs: 100 },
      closeTimeoutMs: 500,
    })
    const child = startCli(['--config', config, '--quiet'])
    // Far more than the queue holds: the pipe fills and the writer waits (not awaited: it never ends).
    void child.write(ndjson(20_000))
    await sink.waitFor(() => sink.requests.length > 0)
    // Past the block window: the CLI keeps waiting on its own, still paused.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const signalled = Date.now()
    child.process.kill('SIGTERM')
    const result = await child.result
    const took = Date.now() - signalled
    expect(result.code, result.stderr).toBe(1)
    // The deadline, the courier's grace for a sender's close, and a loaded machine's start-up.
    expect(took).toBeLessThan(500 + 250 + 2500)
    const read = Number(/stopped by SIGTERM: (\d+) lines read/.exec(result.stderr)?.[1])
    // Paused: only about a queue and a batch were read, not the 20,000 lines written.
    expect(read).toBeGreaterThanOrEqual(50)
    expect(read).toBeLessThan(5000)
    // Each line read is in the ledger: abandoned at the deadline (dropped, closed), none delivered.
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: 0, failed: 0, dropped: read })
    expect(result.stderr).toContain('close deadline (500 ms) reached')
  })
})
