/**
 * Issue 10, "messages that confuse": what a new user reads on stderr when one record cannot reach its
 * sink, through the real transport in a child process. Before: `sender "http" is retrying 7 records`
 * for one record (retries x records), printed after the line saying it was dropped; the cause three
 * times (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9 (connect ECONNREFUSED 127.0.0.1:9)`); and a
 * host name that does not resolve reported only as "close deadline passed".
 */
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { closeReportOf, describeApp, useFaults } from './run-app.js'

const { app } = useFaults()

async function refusingUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/logs`
}

function stderrLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('pino-courier:'))
}

describe('one record to a sink that cannot be reached', () => {
  it('a refused port: records waiting and attempts, in the order things happened, the cause once', async () => {
    const url = await refusingUrl()
    const result = await app({ url, count: 1, options: { closeTimeoutMs: 1500 } }).result
    expect(result.code, describeApp(result)).toBe(0)
    const lines = stderrLines(result.stderr)
    const retrying = lines.filter((l) => l.includes('for a retry'))
    expect(retrying.length, result.stderr).toBeGreaterThan(0)
    // One record, however many attempts it took.
    for (const line of retrying) expect(line).toMatch(/^pino-courier: sender "http": 1 record waits for a retry after \d+ failed attempts?; last error: /)
    expect(lines.some((l) => /retrying \d+ records/.test(l))).toBe(false)
    // The retries come before the drop at the deadline, and the close line comes last.
    const dropped = lines.findIndex((l) => l.includes('dropped 1 record (closed: 1)'))
    expect(dropped, result.stderr).toBeGreaterThan(lines.lastIndexOf(retrying.at(-1) as string))
    expect(lines.at(-1)).toMatch(/^pino-courier: closed; 1 of 1 records could not be delivered/)
    // The cause is said once per line.
    for (const line of lines) expect(line.split('ECONNREFUSED').length - 1, line).toBeLessThanOrEqual(1)
    expect(retrying[0]).toContain(`request to ${new URL(url).origin} failed: connect ECONNREFUSED`)
  })

  it('a host name that does not resolve: the close line says why the record was left behind', async () => {
    const result = await app({ url: 'http://pino-courier-test.invalid/logs', count: 1, options: { closeTimeoutMs: 1500 } }).result
    expect(result.code, describeApp(result)).toBe(0)
    const close = stderrLines(result.stderr).at(-1) ?? ''
    expect(close).toMatch(/^pino-courier: closed; 1 of 1 records could not be delivered \(close deadline passed, 1 abandoned\)/)
    expect(close).toMatch(/last error: .*getaddrinfo (ENOTFOUND|EAI_AGAIN) pino-courier-test\.invalid/)
    expect(closeReportOf(result).senders[0]?.stats.lastError?.message).toMatch(/getaddrinfo/)
  })
})
