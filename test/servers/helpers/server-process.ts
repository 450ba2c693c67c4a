import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

/**
 * A real server (redis-server, nats-server, rsyslogd, kcat's mock cluster) run by a test: started in
 * the foreground as a child, stopped by its pid. The server suite skips nothing: a server that is not
 * installed fails the test with the command that installs it.
 */
export class ServerProcess {
  readonly process: ChildProcess
  readonly name: string
  #stdout = ''
  #stderr = ''
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #running = true

  private constructor(name: string, child: ChildProcess) {
    this.name = name
    this.process = child
    child.stdout?.on('data', (chunk: Buffer) => (this.#stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()))
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#running = false
        resolve({ code, signal })
      })
      child.on('error', () => {
        this.#running = false
        resolve({ code: null, signal: null })
      })
    })
  }

  /**
   * Starts `command args…`. Throws at once, naming `install`, when the command is not installed.
   * @param install the command that installs it, e.g. `apt-get install -y redis-server`.
   */
  static start(command: string, args: readonly string[], install: string, options: { env?: Record<string, string>; cwd?: string } = {}): ServerProcess {
    requireCommand(command, install)
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    })
    return new ServerProcess(command, child)
  }

  get running(): boolean {
    return this.#running
  }

  get pid(): number | undefined {
    return this.process.pid
  }

  get stdout(): string {
    return this.#stdout
  }

  get stderr(): string {
    return this.#stderr
  }

  /** Resolves with the first match of `pattern` in stdout + stderr; rejects if the server exits first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = (this.#stdout + this.#stderr).match(pattern)
      if (match) return match
      if (!this.#running) throw new Error(`${this.name} exited before printing ${pattern}\n${this.#stderr.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\n${this.#stderr.slice(-2000)}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Stops it by pid (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. Idempotent. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.#running) return
    this.process.kill('SIGTERM')
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs)
    await this.#exited
    clearTimeout(timer)
  }

  /** Kills it at once (SIGKILL): a crash, not a shutdown. */
  async kill(): Promise<void> {
    if (!this.#running) return
    this.process.kill('SIGKILL')
    await this.#exited
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited
  }
}

const found = new Map<string, boolean>()

/** Throws, naming the install command, when `command` is not on the PATH (or in /usr/sbin). */
export function requireCommand(command: string, install: string): void {
  let ok = found.get(command)
  if (ok === undefined) {
    const probe = spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: 'ignore' })
    ok = probe.status === 0
    found.set(command, ok)
  }
  if (!ok) throw new Error(`${command} is not installed: the server suite needs it. Install it with: ${install}`)
}
