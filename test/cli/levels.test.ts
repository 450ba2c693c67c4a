import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { runCli, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: the logger settings a pipe cannot carry', () => {
  it('--custom-levels: a sender level given by a custom name filters by its number', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, level: 'audit' }] })
    const input = [30, 35, 40, 32].map((level, n) => JSON.stringify({ level, n })).join('\n') + '\n'
    const result = await runCli(['--config', config, '--custom-levels', 'audit:35,notice:32', '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records().map((r) => r.n)).toEqual([1, 2])
  })

  it('--level-key: levels are read from that key, labels included (custom ones too)', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, level: 'warn' }] })
    const input = [
      { severity: 'INFO', n: 0 },
      { severity: 'ERROR', n: 1 },
      { severity: 'audit', n: 2 },
      { severity: 45, n: 3 },
      // The default key no longer counts.
      { level: 60, n: 4 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n')
    const result = await runCli(['--config', config, '--level-key', 'severity', '--custom-levels', 'audit:45', '--quiet'], input)
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records().map((r) => r.n)).toEqual([1, 2, 3])
  })

  it('--message-key and --level-key shape the wrapping of malformed lines', async () => {
    const sink = await cleanups.sink()
    const result = await runCli(['--url', sink.url, '--level-key', 'severity', '--message-key', 'message', '--quiet'], 'plain text line\n')
    expect(result.code, result.stderr).toBe(0)
    const [record] = sink.records()
    expect(record).toMatchObject({ severity: 30, message: 'plain text line', malformed: true })
    expect(record).not.toHaveProperty('msg')
    expect(record).not.toHaveProperty('level')
  })

  it('--level-key overrides the levelKey of the --config file', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { levelKey: 'lvl', senders: [{ type: 'http', url: sink.url, level: 'error' }] })
    const input = [JSON.stringify({ lvl: 50, sev: 30, n: 0 }), JSON.stringify({ lvl: 30, sev: 50, n: 1 })].join('\n')
    const fromFile = await runCli(['--config', config, '--quiet'], input)
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(sink.records().map((r) => r.n)).toEqual([0])
    const overridden = await runCli(['--config', config, '--level-key', 'sev', '--quiet'], input)
    expect(overridden.code, overridden.stderr).toBe(0)
    expect(sink.records().map((r) => r.n)).toEqual([0, 1])
  })
})
