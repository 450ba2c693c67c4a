import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { ndjson, runCli, startCli, tallyOf, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: delivery and the ledger', () => {
  it('delivers every line of stdin as NDJSON, prints the tally and exits 0', async () => {
    const sink = await cleanups.sink()
    const input = ndjson(3000)
    const result = await runCli(['--url', sink.url, '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    const records = sink.records()
    expect(records).toHaveLength(3000)
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 3000 }, (_, i) => i))
    expect(sink.requests.every((r) => r.headers['content-type']?.startsWith('application/x-ndjson'))).toBe(true)
    // The ledger as the tally prints it: everything read was delivered, nothing else.
    expect(result.stderr).toContain('end of input: 3000 lines read')
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: 3000, failed: 0, dropped: 0 })
    expect(result.stderr).toContain('exit 0: every record delivered')
    // stdout is for --echo only.
    expect(result.stdout.length).toBe(0)
  })

  it('ships a partial last line (no newline at the end of input), CRLF lines and blank lines', async () => {
    const sink = await cleanups.sink()
    const input = '{"level":30,"n":0}\r\n\n{"level":30,"n":1}\r\n\r\n{"level":40,"n":2}'
    const result = await runCli(['--url', sink.url, '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records().map((r) => r.n)).toEqual([0, 1, 2])
    // No carriage return reaches the sink.
    expect(sink.requests.map((r) => r.body).join('')).not.toContain('\r')
  })

  it('splits lines across chunk boundaries, multi-byte characters included', async () => {
    const sink = await cleanups.sink()
    const child = startCli(['--url', sink.url, '--quiet'])
    const line = JSON.stringify({ level: 30, msg: 'héllo wörld ✓ 日本' }) + '\n'
    const bytes = Buffer.from(line.repeat(3))
    // One byte at a time through the pipe: every split point, the middle of a character included.
    for (let i = 0; i < bytes.length; i += 7) {
      await child.write(bytes.subarray(i, Math.min(bytes.length, i + 7)))
      await new Promise((r) => setImmediate(r))
    }
    child.end()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records().map((r) => r.msg)).toEqual(['héllo wörld ✓ 日本', 'héllo wörld ✓ 日本', 'héllo wörld ✓ 日本'])
  })

  it('ships malformed (non-JSON) lines wrapped, and counts them', async () => {
    const sink = await cleanups.sink()
    const input = '{"level":30,"n":0}\nnot json at all\n[1,2]\n{"level":30,"n":1}\n'
    const result = await runCli(['--url', sink.url, '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    const records = sink.records()
    expect(records).toHaveLength(4)
    expect(records[1]).toMatchObject({ msg: 'not json at all', malformed: true, level: 30 })
    expect(records[2]).toMatchObject({ msg: '[1,2]', malformed: true })
    expect(result.stderr).toContain('4 lines read (2 not JSON, sent wrapped)')
  })

  it('drops a line over queue.maxRecordBytes, counts it as oversize and exits 1', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, queue: { maxRecordBytes: 1024 } }] })
    const huge = JSON.stringify({ level: 30, msg: 'x'.repeat(200_000) })
    // The huge line, and one with no newline that never ends within the limit either.
    const input = `{"level":30,"n":0}\n${huge}\n{"level":30,"n":1}\n${'y'.repeat(300_000)}`
    const result = await runCli(['--config', config, '--quiet'], input)
    expect(result.code, result.stderr).toBe(1)
    expect(sink.records().map((r) => r.n)).toEqual([0, 1])
    expect(tallyOf(result.stderr).line).toContain('dropped 2 (oversize 2)')
    expect(result.stderr).toContain('exit 1: 2 records not delivered')
  })

  it('never prints the credentials of --url or the value of a --header, failures included', async () => {
    // The collector echoes the request's headers in its error page, as some do.
    const sink = await cleanups.sink((request) => ({ status: 401, body: JSON.stringify(request.headers) }))
    const url = sink.url.replace('http://', 'http://ingest-user:pa55word-xyz@')
    const result = await runCli(['--url', url, '--header', 'X-Api-Key: key-123-secret', '--status-interval', '0.1'], ndjson(20))
    expect(result.code).toBe(1)
    expect(sink.requests.length).toBeGreaterThan(0)
    expect(sink.requests[0]?.headers['x-api-key']).toBe('key-123-secret')
    expect(sink.requests[0]?.headers.authorization).toMatch(/^Basic /)
    expect(result.stderr).toContain('HTTP 401')
    for (const secret of ['pa55word-xyz', 'key-123-secret', Buffer.from('ingest-user:pa55word-xyz').toString('base64')]) {
      expect(result.stderr).not.toContain(secret)
    }
  })

  it('exits 0 when what could not be delivered waits in the spool for the next start', async () => {
    // A collector that is gone: its port refuses connections.
    const gone = await cleanups.sink()
    const url = gone.url
    await gone.close()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, {
      senders: [{ type: 'http', url, retry: { maxAttempts: 2, baseDelayMs: 10 }, spool: { dir: `${dir}/spool` } }],
      closeTimeoutMs: 1000,
    })
    const result = await runCli(['--config', config, '--quiet'], ndjson(300))
    expect(result.code, result.stderr).toBe(0)
    expect(tallyOf(result.stderr).line).toMatch(/delivered 0, failed 0, dropped 0, spooled 300,/)
    expect(result.stderr).toContain('exit 0: every record delivered or spooled for the next start')
  })

  it('exits 1 with the failures in the tally when the sink refuses every batch (4xx)', async () => {
    const sink = await cleanups.sink(() => ({ status: 400, body: 'bad request' }))
    const dir = await cleanups.tempDir()
    const deadLetter = `${dir}/dead.ndjson`
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, deadLetter: { path: deadLetter } }] })
    const result = await runCli(['--config', config, '--quiet'], ndjson(50))
    expect(result.code, result.stderr).toBe(1)
    expect(sink.requests.length).toBeGreaterThan(0)
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: 0, failed: 50, deadLettered: 50, dropped: 0 })
    expect(result.stderr).toContain('exit 1: 50 records not delivered')
  })
})
