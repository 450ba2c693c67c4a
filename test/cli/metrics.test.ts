import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../helpers/cleanups.js'
import { parsePrometheusText } from '../metrics/prom-parse.js'
import { ndjson, startCli, runCli, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

describe('pino-courier pipe: the metrics option of --config', () => {
  it('serves the Prometheus endpoint while the pipe runs', async () => {
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url, batch: { maxWaitMs: 10 } }], metrics: { port: 0 } })
    const child = startCli(['--config', config, '--quiet'])
    await child.waitForStderr(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics\n/)
    const url = /metrics at (\S+)/.exec(child.stderr())?.[1] as string
    await child.write(ndjson(250))
    await sink.waitFor(() => sink.records().length === 250)
    const scrape = parsePrometheusText(await (await fetch(url)).text())
    expect(scrape.value('pino_courier_delivered_records_total', { sender: 'http' })).toBe(250)
    expect(scrape.value('pino_courier_received_records_total', { sender: 'http' })).toBe(250)
    child.end()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
  })

  it('a metrics port in use is a configuration error: exit 2 naming metrics.port, nothing sent', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    cleanups.defer(() => new Promise((resolve) => taken.close(resolve)))
    const port = (taken.address() as { port: number }).port
    const sink = await cleanups.sink()
    const dir = await cleanups.tempDir()
    const config = await writeConfig(dir, { senders: [{ type: 'http', url: sink.url }], metrics: { port } })
    const result = await runCli(['--config', config, '--quiet'], ndjson(5))
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('metrics.port')
    expect(sink.requests).toHaveLength(0)
  })
})
