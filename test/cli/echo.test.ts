import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { ndjson, runCli, startCli, tallyOf } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier --echo', () => {
  it('copies stdin to stdout byte for byte (CRLF, invalid UTF-8, a partial last line) while delivering', async () => {
    const sink = await cleanups.sink()
    const input = Buffer.concat([
      Buffer.from(ndjson(2000)),
      Buffer.from('{"level":30,"crlf":true}\r\nnot json\n'),
      // Bytes that are not UTF-8: the copy must not re-encode them.
      Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
      randomBytes(64).map((b) => (b === 10 ? 32 : b)),
    ])
    const result = await runCli(['--url', sink.url, '--echo', '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.equals(input)).toBe(true)
    // 2000 records, the CRLF one, the malformed one, the non-UTF-8 one and the partial last line.
    expect(sink.records()).toHaveLength(2004)
  })

  it('keeps delivering when the reader of stdout goes away (EPIPE)', async () => {
    const sink = await cleanups.sink()
    const input = ndjson(20_000)
    // Like `pino-courier --echo | head -c 100`: the reader of stdout closes its end after the first bytes.
    const child = startCli(['--url', sink.url, '--echo', '--quiet'])
    child.process.stdout?.once('data', () => child.process.stdout?.destroy())
    await child.write(input)
    child.end()
    const result = await child.result
    const stderr = result.stderr
    expect(result.code, stderr).toBe(0)
    expect(stderr).not.toContain('EPIPE')
    expect(sink.records()).toHaveLength(20_000)
    expect(tallyOf(stderr)).toMatchObject({ delivered: 20_000, failed: 0, dropped: 0 })
  })
})
