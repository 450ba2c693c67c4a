import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The project root (where package.json is), so children can `import 'pino-courier'` by name. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Milliseconds from spawn to exit. */
  durationMs: number
  /** When the child had exited (Date.now()), to time it from a signal sent meanwhile. */
  endedAt: number
}

/** A child started with {@link startNode}, still running or not. */
export interface RunningChild {
  readonly process: ChildProcess
  /** Settles when the child has exited (after being killed at `timeoutMs` if need be). */
  readonly result: Promise<ChildResult>
  /** True until the child has exited. */
  readonly running: boolean
  /**
   * Resolves with the first stdout line matching `pattern` (printed already or later); rejects if the
   * child exits without printing it, or after `timeoutMs`.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Sends `signal` to the child and returns when it was sent (Date.now()). */
  signal(signal: NodeJS.Signals): number
  /** Writes a line to the child's stdin. */
  send(line: string): void
}

export interface StartOptions {
  env?: Record<string, string>
  /** The child is killed with SIGKILL after this long. @default 45000 */
  timeoutMs?: number
}

/**
 * Starts `node <script> ...args` in the project root with stdin, stdout and stderr piped, so a test
 * can wait for a line, send signals and write commands while it runs.
 */
export function startNode(script: string, args: string[] = [], options: StartOptions = {}): RunningChild {
  return start(process.execPath, [script, ...args], options, 'pipe')
}

/**
 * Runs `node <script> ...args` in the project root (ESM, so `import pino from 'pino'` and
 * `pino.transport({ target: 'pino-courier' })` resolve as in a user's app). Kills it after `timeoutMs`.
 */
export function runNode(script: string, args: string[] = [], options: StartOptions = {}): Promise<ChildResult> {
  return start(process.execPath, [script, ...args], options, 'ignore').result
}

/**
 * Runs `command ...args` in the project root, as {@link runNode} runs node (`node --eval`, or node
 * under `unshare`). Rejects when the command cannot be started (ENOENT: not installed).
 */
export function runCommand(command: string, args: string[], options: StartOptions = {}): Promise<ChildResult> {
  return start(command, args, options, 'ignore').result
}

function start(command: string, argv: string[], options: StartOptions, stdin: 'pipe' | 'ignore'): RunningChild {
  const started = Date.now()
  const child = spawn(command, argv, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: [stdin, 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let running = true
  const watchers = new Set<() => void>()
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString()
    for (const watcher of watchers) watcher()
  })
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  // A child that exits before reading its stdin would otherwise make a later write throw EPIPE.
  child.stdin?.on('error', () => undefined)
  const result = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      running = false
      for (const watcher of watchers) watcher()
      const endedAt = Date.now()
      resolve({ code, signal, stdout, stderr, durationMs: endedAt - started, endedAt })
    })
  })

  return {
    process: child,
    result,
    get running() {
      return running
    },
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const line = stdout.split('\n').find((l) => pattern.test(l))
          if (line !== undefined) finish(() => resolve(line))
          else if (!running) finish(() => reject(new Error(`child exited without printing ${pattern}\n--- stderr ---\n${stderr}`)))
        }
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms\n--- stderr ---\n${stderr}`))),
          timeoutMs,
        )
        const finish = (settle: () => void): void => {
          clearTimeout(timer)
          watchers.delete(check)
          settle()
        }
        watchers.add(check)
        check()
      })
    },
    signal(signal) {
      child.kill(signal)
      return Date.now()
    },
    send(line) {
      child.stdin?.write(line + '\n')
    },
  }
}
