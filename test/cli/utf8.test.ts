import { isUtf8 } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { startCli } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: bytes that are not UTF-8', () => {
  it('reach the sink as valid UTF-8 (U+FFFD), as the transport sends the same lines', async () => {
    const sink = await cleanups.sink()
    const child = startCli(['--url', sink.url, '--quiet'])
    // pino lines (the byte path) with a stray byte, a cut character, and one cut by the chunk boundary.
    await child.write(Buffer.from('{"level":30,"n":0,"msg":"a\xff\xfeb"}\n{"level":30,"n":1,"msg":"\xc3"}\n{"level":30,"n":2,"msg":"ok ', 'latin1'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    await child.write(Buffer.from('\xe6\x97', 'latin1'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    await child.write(Buffer.concat([Buffer.from('\xa5 \xe6"}\n', 'latin1'), Buffer.from('{"level":30,"n":3,"msg":"fine ✓"}\n')]))
    child.end()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
    const raw = Buffer.concat(sink.requests.map((r) => r.raw))
    expect(isUtf8(raw)).toBe(true)
    expect(sink.records().map((r) => r.msg)).toEqual(['a\ufffd\ufffdb', '\ufffd', 'ok 日 \ufffd', 'fine ✓'])
  })
})
