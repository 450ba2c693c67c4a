/**
 * Runs test/faults/fault-app.mjs in a child process (the app: pino + the real transport worker) and
 * follows what it reports on stdout, so that a test can act on the app's progress (recover the sink
 * once the app has started logging, say) and read its close report afterwards.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CourierCloseReport, CourierStats } from '../../src/index.js'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { startFaultSink, type FaultSink, type Responder } from './fault-sink.js'

const FAULT_APP = fileURLToPath(new URL('./fault-app.mjs', import.meta.url))

/** What the app does; see fault-app.mjs. */
export interface AppConfig {
  /** The sink's URL (the http sender's `url`). */
  url: string
  /** Records `{ i }` to log, i = 0..count-1. */
  count: number
  /** Records logged per event-loop turn. @default count (one synchronous loop) */
  chunk?: number
  /** Pause between chunks. @default 0 (setImmediate) */
  pauseMs?: number
  /** The `i` of records that carry `poison: true`. */
  poison?: number[]
  /** Adds `pad: 'x'.repeat(padBytes)` to every record. */
  padBytes?: number
  /** Options of the http sender (besides type and url). */
  sender?: Record<string, unknown>
  /** Top-level transport options (closeTimeoutMs, statsIntervalMs, stderr, ...). */
  options?: Record<string, unknown>
  /** `await logger.flush()` after logging, before ending. */
  flush?: boolean
  /**
   * How the app ends: `close` = transport.end() and wait for the transport's close (the close report
   * comes back as an event); `exit` = process.exit(0); `natural` = let the event loop run dry (pino
   * closes the transport in both; only stderr tells the outcome).
   * @default 'close'
   */
  end?: 'close' | 'exit' | 'natural'
}

export interface AppEvent {
  event: 'started' | 'logged' | 'flushed' | 'closed' | 'exit'
  /** Date.now() in the app when it wrote the line. */
  at: number
  count?: number
  loopMs?: number
  flushMs?: number
  closeMs?: number
  report?: CourierCloseReport | null
  stats?: CourierStats[]
  maxRssKb?: number
  exitMs?: number
}

export interface AppResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  events: AppEvent[]
  /** Milliseconds from spawn to exit. */
  durationMs: number
}

export interface RunningApp {
  /** Events reported so far. */
  readonly events: readonly AppEvent[]
  /** Resolves with the first event of that name (at once if it came already); rejects if the app exits first. */
  next(event: AppEvent['event']): Promise<AppEvent>
  /** Resolves when the app has exited. */
  readonly result: Promise<AppResult>
  /** Kills the app if it still runs (for cleanups). */
  kill(): void
}

/** Starts the app; it is killed after `timeoutMs` (a safety net, far above what any scenario needs). */
export function startApp(config: AppConfig, timeoutMs = 90_000): RunningApp {
  const started = Date.now()
  const child = spawn(process.execPath, [FAULT_APP, JSON.stringify(config)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: AppEvent[] = []
  const waiters: { event: AppEvent['event']; resolve: (e: AppEvent) => void; reject: (e: Error) => void }[] = []
  let stdout = ''
  let stderr = ''
  let pending = ''
  let exited = false
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString()
    stdout += text
    pending += text
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (!line.startsWith('{')) continue
      const event = JSON.parse(line) as AppEvent
      events.push(event)
      for (const waiter of waiters.filter((w) => w.event === event.event)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(event)
      }
    }
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const result = new Promise<AppResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      exited = true
      clearTimeout(timer)
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`the app exited (code ${code}, signal ${signal}) before '${waiter.event}'\n${stderr}`))
      }
      resolve({ code, signal, stdout, stderr, events, durationMs: Date.now() - started })
    })
  })
  return {
    events,
    next(event) {
      const found = events.find((e) => e.event === event)
      if (found) return Promise.resolve(found)
      if (exited) return Promise.reject(new Error(`the app exited before '${event}'\n${stderr}`))
      return new Promise((resolve, reject) => waiters.push({ event, resolve, reject }))
    },
    result,
    kill() {
      if (!exited) child.kill('SIGKILL')
    },
  }
}

/** The event of that name in a finished run; fails with the app's output when it is missing. */
export function eventOf(result: AppResult, event: AppEvent['event']): AppEvent {
  const found = result.events.find((e) => e.event === event)
  if (!found) throw new Error(`the app reported no '${event}'\n${describeApp(result)}`)
  return found
}

/** The close report of a run that ended with `end: 'close'`. */
export function closeReportOf(result: AppResult): CourierCloseReport {
  const report = eventOf(result, 'closed').report
  if (!report) throw new Error(`the app got no 'courier:close' event\n${describeApp(result)}`)
  return report
}

/** The app's exit status and output, for assertion messages. */
export function describeApp(result: AppResult): string {
  return `code ${result.code}, signal ${result.signal}, ${result.durationMs} ms\n--- stderr ---\n${result.stderr}--- stdout (events) ---\n${result.events.map((e) => e.event).join(', ')}`
}

/**
 * Call at the top of a test file: fault sinks and apps started through the returned functions are
 * released after each test (apps still running killed first, then sinks closed).
 */
export function useFaults(): { sink(responder?: Responder): Promise<FaultSink>; app(config: AppConfig): RunningApp } {
  const { defer } = useCleanups()
  return {
    async sink(responder) {
      const sink = await startFaultSink(responder)
      defer(() => sink.close())
      return sink
    },
    app(config) {
      const app = startApp(config)
      defer(() => app.kill())
      return app
    },
  }
}
