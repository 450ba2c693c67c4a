import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { ndjson, startCli, tallyOf, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: backpressure instead of drops', () => {
  it('reads stdin no faster than a slow sink takes it, and drops nothing', async () => {
    // What the test has handed to the pipe when each request arrives, against what the sink had
    // accepted before it: without backpressure the whole input would be read (and dropped) at once.
    const written = { bytes: 0 }
    const seen: { written: number; deliveredBefore: number }[] = []
    let delivered = 0
    const sink = await cleanups.sink((request, index) => {
      seen.push({ written: written.bytes, deliveredBefore: delivered })
      delivered += request.raw.length
      // Now and then an answer slower than the block window below.
      return { delayMs: index % 50 === 5 ? 500 : 10 }
    })
    const dir = await cleanups.tempDir()
    const queueBytes = 64 * 1024
    const batchBytes = 16 * 1024
    const config = await writeConfig(dir, {
      senders: [{ type: 'http', url: sink.url, pool: { concurrency: 1 }, batch: { maxBytes: batchBytes, maxWaitMs: 50 } }],
      // Over its bounds for longer than this, a sender stops pausing the reader and would drop:
      // the CLI must keep waiting on its own.
      queue: { maxBytes: queueBytes, maxRecordBytes: 4096, maxBlockMs: 100 },
    })
    const lines = 40_000
    const input = Buffer.from(ndjson(lines, () => ({ pad: 'p'.repeat(40) })))
    expect(input.length).toBeGreaterThan(3_500_000)
    const child = startCli(['--config', config, '--quiet'])
    // Written in slices, counting only what the pipe took.
    for (let i = 0; i < input.length; i += 8192) {
      const slice = input.subarray(i, Math.min(input.length, i + 8192))
      await child.write(slice)
      written.bytes += slice.length
    }
    child.end()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records()).toHaveLength(lines)
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: lines, failed: 0, dropped: 0 })
    // Never more read ahead than the queue, a batch in flight, and the buffers on the way (a bound
    // that does not grow with the input): the pipe, the CLI's read buffer, the chunk being split, the
    // test's own write buffer, 64 KiB each at most, counted twice over.
    const slack = queueBytes + 2 * batchBytes + 8 * 64 * 1024
    const worst = Math.max(...seen.map((s) => s.written - s.deliveredBefore))
    expect(worst).toBeLessThan(slack)
    expect(slack).toBeLessThan(input.length / 4)
  })
})
