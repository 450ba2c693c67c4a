/**
 * The issue's memory bound for the pipe command (peak RSS ≤ 100 MB however long the input), on a
 * long real pipe: 256 MB of pino lines to a local sink. Dead input chunks and batch bodies outside
 * the JS heap, left to V8's late full collections, took it to 115-122 MB on 300 MB.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { CLI_MAIN } from './cli-process.js'

/** Reports the process's peak RSS on stderr at exit. */
const PEAK_HOOK = `data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>writeSync(2,'peak-rss-kb '+process.resourceUsage().maxRSS+'\\n'))`

describe('pino-courier pipe: memory', () => {
  it('keeps peak RSS under 100 MB on a 256 MB pipe', { timeout: 180_000 }, async () => {
    // A sink that only counts lines: the test's own memory stays small.
    let lines = 0
    const server = createServer((request, response) => {
      request.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++
      })
      request.on('end', () => response.end())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`
      const child = spawn(process.execPath, ['--import', PEAK_HOOK, CLI_MAIN, '--url', url, '--quiet'], { cwd: PROJECT_ROOT, stdio: ['pipe', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      // 1 MiB of lines, written 256 times.
      let block = ''
      let count = 0
      for (; block.length < 1024 * 1024; count++) block += JSON.stringify({ level: 30, time: 1_700_000_000_000 + count, pid: 1, hostname: 'h', msg: `request ${count} done` }) + '\n'
      const bytes = Buffer.from(block)
      for (let i = 0; i < 256; i++) {
        if (!child.stdin.write(bytes)) await new Promise((resolve) => child.stdin.once('drain', resolve))
      }
      child.stdin.end()
      expect(await exited, stderr).toBe(0)
      expect(lines).toBe(256 * count)
      const peak = Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1])
      expect(peak, stderr).toBeGreaterThan(0)
      expect(peak / 1024, stderr).toBeLessThan(100)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
