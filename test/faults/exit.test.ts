/**
 * Exit paths with a healthy sink, at volume: process.exit(), a natural exit and an uncaught exception
 * right after a burst of 100,000 records. pino blocks the exit until the transport has closed, and
 * the transport's close delivers everything it holds: every record must arrive, once.
 */
import { describe, expect, it } from 'vitest'
import { fixture, receivedOnce, summarizeSequence } from '../fixtures/integration.js'
import { runNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const LOG_TO_SINK = fixture('log-to-sink.mjs')
const { sink } = useCleanups()

const N = 100_000

describe('exit after a burst of 100,000 records, sink up', () => {
  it.each([
    ['process.exit(0)', 'exit', 0],
    ['a natural exit', 'natural', 0],
    ['an uncaught exception', 'throw', 1],
  ] as const)('%s delivers every record once', async (_name, mode, code) => {
    const http = await sink()
    const result = await runNode(LOG_TO_SINK, [http.url, String(N), mode], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(code)
    if (mode === 'throw') expect(result.stderr).toMatch(/boom: uncaught after logging/)
    expect(result.stderr).not.toMatch(/pino-courier/)
    expect(summarizeSequence(http.records(), N)).toMatchObject(receivedOnce(N))
  })
})
