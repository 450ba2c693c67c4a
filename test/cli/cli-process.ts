/**
 * The pipe command as a real child process: `node dist/cli/main.js ...` with real pipes on stdin,
 * stdout and stderr. stdout is kept as bytes (for --echo), stderr as text.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PROJECT_ROOT } from '../helpers/child-process.js'

export const CLI_MAIN = join(PROJECT_ROOT, 'dist/cli/main.js')

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: Buffer
  readonly stderr: string
}

export interface CliChild {
  readonly process: ChildProcess
  readonly result: Promise<CliResult>
  /** stderr so far. */
  stderr(): string
  /** Resolves when stderr matches `pattern` (rejects if the child exits first or after `timeoutMs`). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Writes to stdin, resolving once it has been taken (after 'drain' when the pipe is full). */
  write(data: string | Buffer): Promise<void>
  /** Ends stdin (the end of input). */
  end(): void
}

/** Starts the CLI with `args`; stdin stays open for the test to write. Killed after `timeoutMs`. */
export function startCli(args: readonly string[], options: { timeoutMs?: number; stdout?: 'pipe' | 'ignore' } = {}): CliChild {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: PROJECT_ROOT, stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let err = ''
  const watchers = new Set<() => void>()
  let running = true
  child.stdout?.on('data', (c: Buffer) => out.push(c))
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString()
    for (const watcher of watchers) watcher()
  })
  // A child that exits (or stops reading) before the test is done writing must not make it throw EPIPE.
  child.stdin?.on('error', () => undefined)
  const result = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      running = false
      for (const watcher of watchers) watcher()
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err })
    })
  })
  return {
    process: child,
    result,
    stderr: () => err,
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no stderr matching ${pattern} within ${timeoutMs} ms\n--- stderr ---\n${err}`)), timeoutMs)
        const check = (): void => {
          if (pattern.test(err)) finish()
          else if (!running) finish(new Error(`the CLI exited without writing ${pattern}\n--- stderr ---\n${err}`))
        }
        const finish = (error?: Error): void => {
          clearTimeout(timer)
          watchers.delete(check)
          if (error) reject(error)
          else resolve()
        }
        watchers.add(check)
        check()
      })
    },
    write(data) {
      return new Promise<void>((resolve) => {
        const stdin = child.stdin
        if (!stdin || stdin.destroyed) return resolve()
        if (stdin.write(data)) resolve()
        else {
          const done = (): void => {
            stdin.off('drain', done)
            stdin.off('close', done)
            resolve()
          }
          stdin.once('drain', done).once('close', done)
        }
      })
    },
    end() {
      child.stdin?.end()
    },
  }
}

/** Runs the CLI with `input` on stdin to its end. */
export async function runCli(args: readonly string[], input: string | Buffer = '', options: { timeoutMs?: number } = {}): Promise<CliResult> {
  const child = startCli(args, options)
  await child.write(input)
  child.end()
  return child.result
}

/** Writes a --config file into `dir` and returns its path. */
export async function writeConfig(dir: string, options: unknown, name = 'courier.json'): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, typeof options === 'string' ? options : JSON.stringify(options))
  return path
}

/** `count` pino-like NDJSON lines (each with its newline), numbered in `n`. */
export function ndjson(count: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  let out = ''
  for (let i = 0; i < count; i++) out += JSON.stringify({ level: 30, time: 1_700_000_000_000 + i, n: i, msg: `line ${i}`, ...extra(i) }) + '\n'
  return out
}

/** The tally's line of one sender, parsed: `http: delivered 10, failed 0, dropped 0, ...`. */
export function tallyOf(stderr: string, sender = 'http'): { delivered: number; failed: number; dropped: number; deadLettered: number; line: string } {
  const line = stderr.split('\n').find((l) => l.startsWith(`pino-courier:   ${sender}: delivered`))
  if (line === undefined) throw new Error(`no tally line for ${sender} in:\n${stderr}`)
  const num = (re: RegExp): number => Number(re.exec(line)?.[1] ?? NaN)
  return {
    delivered: num(/delivered (\d+)/),
    failed: num(/failed (\d+)/),
    dropped: num(/dropped (\d+)/),
    deadLettered: num(/dead-lettered (\d+)/) || 0,
    line,
  }
}
