import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { ndjson, runCli, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: flags and --config', () => {
  it('--help prints the usage on stdout and exits 0; --version the package version', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    const usage = help.stdout.toString()
    for (const flag of ['--url', '--config', '--header', '--level-key', '--message-key', '--custom-levels', '--echo', '--status-interval', '--quiet']) {
      expect(usage).toContain(flag)
    }
    expect(help.stderr).toBe('')
    const version = await runCli(['--version'])
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(version.code).toBe(0)
    expect(version.stdout.toString().trim()).toBe(`pino-courier ${pkg.version}`)
  })

  it('refuses an unknown flag with exit 2, suggesting the close one, and sends nothing', async () => {
    const sink = await cleanups.sink()
    const result = await runCli(['--urll', sink.url], ndjson(3))
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown flag --urll (did you mean --url?)')
    expect(result.stderr).toContain('--help')
    const far = await runCli(['--url', sink.url, '--frobnicate'], ndjson(3))
    expect(far.code).toBe(2)
    expect(far.stderr).toContain('unknown flag --frobnicate')
    expect(far.stderr).not.toContain('did you mean')
    expect(sink.requests).toHaveLength(0)
  })

  it('exits 2 without --url or --config, on a flag missing its value, on a stray argument', async () => {
    const none = await runCli([], ndjson(1))
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('give --url URL or --config FILE')
    const missing = await runCli(['--url'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--url needs a value')
    const stray = await runCli(['--url', 'http://127.0.0.1:9/', 'extra'])
    expect(stray.code).toBe(2)
    expect(stray.stderr).toContain('unexpected argument "extra"')
    const interval = await runCli(['--url', 'http://127.0.0.1:9/', '--status-interval', 'soon'])
    expect(interval.code).toBe(2)
    expect(interval.stderr).toContain('--status-interval')
  })

  it('names the file when --config is missing, unreadable or not JSON', async () => {
    const dir = await cleanups.tempDir()
    const missing = await runCli(['--config', join(dir, 'nope.json')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(`--config ${join(dir, 'nope.json')}: cannot read it (no such file)`)
    const notJson = await writeConfig(dir, '{ "senders": [', 'broken.json')
    const broken = await runCli(['--config', notJson])
    expect(broken.code).toBe(2)
    expect(broken.stderr).toContain(`--config ${notJson}: not valid JSON`)
    const array = await writeConfig(dir, '[]', 'array.json')
    expect((await runCli(['--config', array])).stderr).toContain('must hold a JSON object')
    const isDir = await runCli(['--config', dir])
    expect(isDir.code).toBe(2)
    expect(isDir.stderr).toContain(`--config ${dir}: cannot read it`)
  })

  it('validates the file with the transport schema: errors name the option path and the file', async () => {
    const dir = await cleanups.tempDir()
    const badUrl = await writeConfig(dir, { senders: [{ type: 'http', url: 'not a url' }] }, 'a.json')
    const a = await runCli(['--config', badUrl])
    expect(a.code).toBe(2)
    expect(a.stderr).toContain('senders[0].url')
    expect(a.stderr).toContain(`(in --config ${badUrl})`)
    const typo = await writeConfig(dir, { senders: [{ type: 'http', url: 'http://127.0.0.1:9/', batch: { maxRecord: 5 } }] }, 'b.json')
    const b = await runCli(['--config', typo])
    expect(b.code).toBe(2)
    expect(b.stderr).toContain('senders[0].batch.maxRecord: unknown option (did you mean "maxRecords"?)')
    const topLevel = await writeConfig(dir, { senders: [{ type: 'http', url: 'http://127.0.0.1:9/' }], closeTimeoutMS: 100 }, 'c.json')
    const c = await runCli(['--config', topLevel])
    expect(c.code).toBe(2)
    expect(c.stderr).toContain('closeTimeoutMS: unknown option (did you mean "closeTimeoutMs"?)')
    const level = await writeConfig(dir, { senders: [{ type: 'http', url: 'http://127.0.0.1:9/', level: 'audit' }] }, 'd.json')
    const d = await runCli(['--config', level])
    expect(d.code).toBe(2)
    expect(d.stderr).toContain('senders[0].level')
  })

  it('lets flags override the file: --url replaces the first http sender\'s url, --header adds headers', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, {
      senders: [{ type: 'http', url: 'http://127.0.0.1:9/never', headers: { 'x-from-file': 'file' }, batch: { maxRecords: 2 } }],
    })
    const result = await runCli(['--config', config, '--url', sink.url, '--header', 'X-Token: s3cret', '--header', 'x-from-file: flag', '--quiet'], ndjson(4))
    expect(result.code, result.stderr).toBe(0)
    expect(sink.records()).toHaveLength(4)
    // The file's batch option is kept (batches of 2), the headers merged with the flag winning.
    expect(sink.requests).toHaveLength(2)
    expect(sink.requests[0]?.headers['x-token']).toBe('s3cret')
    expect(sink.requests[0]?.headers['x-from-file']).toBe('flag')
  })

  it('refuses a bad --url or --header without repeating secrets', async () => {
    const badUrl = await runCli(['--url', 'ftp://user:pw@host/x'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toContain('--url: the protocol must be http: or https:')
    expect(badUrl.stderr).not.toContain('pw')
    const badHeader = await runCli(['--url', 'http://127.0.0.1:9/', '--header', 'Authorization Bearer topsecret'])
    expect(badHeader.code).toBe(2)
    expect(badHeader.stderr).toContain("--header: expected 'Name: value'")
    expect(badHeader.stderr).not.toContain('topsecret')
    // A value no request can carry (a control character) is refused at start, not retried for minutes.
    const badValue = await runCli(['--url', 'http://127.0.0.1:9/', '--header', 'X-Api-Key: top\u0001secret'], '{"level":30}\n', { timeoutMs: 20_000 })
    expect(badValue.code, badValue.stderr).toBe(2)
    expect(badValue.stderr).toContain('--header "X-Api-Key": the value holds a character a header cannot carry')
    expect(badValue.stderr).not.toContain('secret')
    const customLevels = await runCli(['--url', 'http://127.0.0.1:9/', '--custom-levels', 'audit=35'])
    expect(customLevels.code).toBe(2)
    expect(customLevels.stderr).toContain('--custom-levels: "audit=35" is not name:number')
  })
})
