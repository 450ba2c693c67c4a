import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { CLI_MAIN, ndjson, startCli, tallyOf, writeConfig } from './cli-process.js'

const cleanups = useCleanups()

const STATUS_LINE = /^pino-courier: \d+ s, \d+ lines; http: \d+ rec\/s, queued \d+, in flight \d+, delivered \d+, failed 0, dropped 0$/m

describe('pino-courier pipe: status on stderr', () => {
  it('not a terminal: a plain summary line every --status-interval, on stderr only', async () => {
    const sink = await cleanups.sink()
    const child = startCli(['--url', sink.url, '--status-interval', '0.2'])
    await child.write(ndjson(100))
    // stdin stays open until a status line has come: the run lasts as long as the test needs.
    await child.waitForStderr(STATUS_LINE)
    child.end()
    const result = await child.result
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.length).toBe(0)
    // No terminal codes in a plain stderr.
    expect(result.stderr).not.toContain('\x1b[')
    expect(tallyOf(result.stderr)).toMatchObject({ delivered: 100 })
  })

  it('--quiet and --status-interval 0: no status line, the tally still', async () => {
    for (const flags of [['--quiet', '--status-interval', '0.05'], ['--status-interval', '0']]) {
      const sink = await cleanups.sink()
      const child = startCli(['--url', sink.url, ...flags])
      await child.write(ndjson(10))
      await sink.waitFor(() => sink.records().length >= 10)
      // Long enough for several lines at a 50 ms interval, were they printed.
      await new Promise((r) => setTimeout(r, 400))
      child.end()
      const result = await child.result
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).not.toMatch(STATUS_LINE)
      expect(result.stderr).toContain('exit 0: every record delivered')
    }
  })

  it('a terminal (through a pseudo-terminal): one line per sender redrawn in place, cut to the width, then the tally', async () => {
    const sink = await cleanups.sink(() => ({ delayMs: 100 }))
    const dir = await cleanups.tempDir()
    await writeConfig(dir, {
      senders: [
        { type: 'http', name: 'main', url: sink.url, batch: { maxRecords: 200, maxWaitMs: 10 }, pool: { concurrency: 1 } },
        { type: 'http', name: 'second-sender-with-a-long-name', url: sink.url, batch: { maxRecords: 500, maxWaitMs: 10 } },
      ],
    })
    const input = join(dir, 'input.ndjson')
    await writeFile(input, ndjson(2000))
    // `script` runs the pipe on a pseudo-terminal of 72 columns: stderr is a TTY, stdin still a pipe.
    const command = `stty cols 72; cat '${input}' | '${process.execPath}' '${CLI_MAIN}' --config '${join(dir, 'courier.json')}'; echo "exit=$?"`
    const raw = await runScript(command)
    const screen = renderScreen(raw)
    expect(screen.join('\n')).toContain('exit=0')
    // Redrawn: the lines were erased and written again, and moved over with the cursor.
    expect(raw.split('\x1b[2K').length - 1).toBeGreaterThan(2)
    expect(raw).toContain('\x1b[2A')
    // What a person sees at the end: each sender's line once (in place, not scrolled), within the
    // width, with the final counts, and the tally below.
    // Too narrow for the long form: the short one, the long name cut.
    const mainLines = screen.filter((l) => /^main +\d+\/s q \d+ fly \d+ ok \d+ fail \d+ drop \d+$/.test(l))
    const secondLines = screen.filter((l) => l.startsWith('second-sender-with-…'))
    expect(mainLines, screen.join('\n')).toHaveLength(1)
    expect(secondLines, screen.join('\n')).toHaveLength(1)
    expect(mainLines[0]).toMatch(/ q 0 fly 0 ok 2000 fail 0 drop 0$/)
    expect(secondLines[0]).toMatch(/ q 0 fly 0 ok 2000 fail 0 drop 0$/)
    for (const line of [...mainLines, ...secondLines]) expect(line.length).toBeLessThan(72)
    const tallyAt = screen.findIndex((l) => l.startsWith('pino-courier: end of input: 2000 lines read'))
    expect(tallyAt).toBeGreaterThan(screen.indexOf(secondLines[0] as string))
    expect(screen).toContain('pino-courier:   main: delivered 2000, failed 0, dropped 0, spooled 0, retried 0')
    expect(screen).toContain('pino-courier:   second-sender-with-a-long-name: delivered 2000, failed 0, dropped 0, spooled 0, retried 0')
  })

  it('a wide terminal: the long form, and a warning printed above the lines, which are drawn again below', async () => {
    // Every batch refused: the courier warns, the status counts the failures, the exit code is 1.
    const sink = await cleanups.sink(() => ({ status: 400 }))
    const dir = await cleanups.tempDir()
    const input = join(dir, 'input.ndjson')
    await writeFile(input, ndjson(300))
    const command = `stty cols 160; cat '${input}' | '${process.execPath}' '${CLI_MAIN}' --url '${sink.url}'; echo "exit=$?"`
    const screen = renderScreen(await runScript(command))
    expect(screen).toContain('exit=1')
    const statusLines = screen.filter((l) => /^http +\d+ rec\/s {2}queued \d+ {2}in flight \d+ {2}delivered \d+ {2}failed \d+ {2}dropped \d+$/.test(l))
    expect(statusLines, screen.join('\n')).toHaveLength(1)
    expect(statusLines[0]).toMatch(/queued 0 {2}in flight 0 {2}delivered 0 {2}failed 300 {2}dropped 0$/)
    const warningAt = screen.findIndex((l) => /sender "http" could not deliver 300 records: .*HTTP 400/.test(l))
    expect(warningAt, screen.join('\n')).toBeGreaterThanOrEqual(0)
    expect(warningAt).toBeLessThan(screen.indexOf(statusLines[0] as string))
    expect(screen).toContain('pino-courier: exit 1: 300 records not delivered (failed or dropped)')
  })
})

/** Runs `command` under `script` (util-linux): its output is what the terminal received. */
function runScript(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' } })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`script exited ${code}: ${err}\n${out}`))
    })
  })
}

/**
 * The screen a terminal shows after `raw`: enough of a terminal for the status (carriage return,
 * newline, cursor up, erase line, erase below); other escape sequences are left out.
 */
function renderScreen(raw: string): string[] {
  // ESC [ n letter, built from its code: a literal escape in a regex is flagged as a likely mistake.
  const CSI = new RegExp(`^${String.fromCharCode(27)}\\[(\\d*)([A-Za-z])`)
  const rows: string[] = ['']
  let row = 0
  let col = 0
  const put = (ch: string): void => {
    const line = (rows[row] ?? '').padEnd(col, ' ')
    rows[row] = line.slice(0, col) + ch + line.slice(col + 1)
    col++
  }
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string
    if (ch === '\x1b') {
      const match = CSI.exec(raw.slice(i, i + 12))
      if (!match) continue
      i += match[0].length - 1
      const n = Number(match[1] || '1')
      const code = match[2]
      if (code === 'A') row = Math.max(0, row - n)
      else if (code === 'K') rows[row] = ''
      else if (code === 'J') {
        rows[row] = (rows[row] ?? '').slice(0, col)
        rows.length = row + 1
      }
      continue
    }
    if (ch === '\r') col = 0
    else if (ch === '\n') {
      row++
      col = 0
      while (rows.length <= row) rows.push('')
    } else put(ch)
  }
  return rows.map((r) => r.trimEnd())
}
