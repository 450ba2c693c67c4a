/**
 * A long real pipe through the reused input buffer and the periodic full collection (stdin-chunks.ts,
 * young-generation.ts): 64 MB of pino lines, every line delivered once, whole. The memory
 * bound (peak RSS ≤ 100 MB on 1 GiB) is measured by the bench (`npm run bench -- --scenarios cli`),
 * not asserted here: a test's RSS depends on the machine it runs on. The peak is printed for the log.
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
  it('delivers every line of a 64 MB pipe once, whole', { timeout: 180_000 }, async () => {
    // A sink that only counts lines: the test's own memory stays small.
    let lines = 0
    let sum = 0
    let torn = 0
    const server = createServer((request, response) => {
      const parts: Buffer[] = []
      request.on('data', (chunk: Buffer) => parts.push(chunk))
      request.on('end', () => {
        // Each line is whole JSON and carries its number: the sum of the numbers shows each came once.
        for (const line of Buffer.concat(parts).toString('utf8').split('\n')) {
          if (line.length === 0) continue
          lines++
          try {
            sum += (JSON.parse(line) as { n: number }).n
          } catch {
            torn++
          }
        }
        response.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`
      const child = spawn(process.execPath, ['--import', PEAK_HOOK, CLI_MAIN, '--url', url, '--quiet'], { cwd: PROJECT_ROOT, stdio: ['pipe', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      // About 1 MiB of lines, 64 times, each line numbered (blocks of an odd size: lines cross reads).
      let count = 0
      let expectedSum = 0
      for (let i = 0; i < 64; i++) {
        let block = ''
        while (block.length < 1024 * 1024 + 77) {
          block += JSON.stringify({ level: 30, time: 1_700_000_000_000 + count, pid: 1, hostname: 'h', n: count, msg: `request ${count} done ✓` }) + '\n'
          expectedSum += count
          count++
        }
        if (!child.stdin.write(block)) await new Promise((resolve) => child.stdin.once('drain', resolve))
      }
      child.stdin.end()
      expect(await exited, stderr).toBe(0)
      expect({ lines, sum, torn }).toEqual({ lines: count, sum: expectedSum, torn: 0 })
      process.stdout.write(`64 MB pipe: peak RSS ${Math.round(Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1]) / 1024)} MB\n`)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
