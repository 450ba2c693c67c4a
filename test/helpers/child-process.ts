import { spawn } from 'node:child_process'
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
}

/**
 * Runs `node <script> ...args` in the project root (ESM, so `import pino from 'pino'` and
 * `pino.transport({ target: 'pino-courier' })` resolve as in a user's app). Kills it after `timeoutMs`.
 */
export function runNode(
  script: string,
  args: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ChildResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started })
    })
  })
}
