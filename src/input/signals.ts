/**
 * Opt-in SIGTERM/SIGINT handling. pino does nothing on a signal, and the transport's worker thread
 * receives none, so this runs in the main thread. Nothing here loads pino at module level: the
 * package's main entry (which re-exports this module) is also what the transport's worker imports.
 */
import { constants } from 'node:os'
import { z } from 'zod'
import { ConfigError } from '../config/config-error.js'
import { errorMessage } from '../error-message.js'
import { writeStderr } from '../stderr.js'
import { MAX_TIMER_MS, setTimer } from '../timers.js'

/** Signals handled when none are named. */
export const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTERM', 'SIGINT'])
/** Longest wait for an in-process stream's close before exiting anyway (above its 5 s default deadline). */
export const DEFAULT_SIGNAL_TIMEOUT_MS = 9000

/** Options of {@link handleSignals}. */
export interface HandleSignalsOptions {
  /** Signals to handle. @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[]
  /**
   * Longest time the helper waits for an in-process stream's `close()` before it exits anyway. The
   * worker transport's exit is bounded by its `closeTimeoutMs` instead (pino blocks while it closes).
   * @default 9000
   */
  timeoutMs?: number
}

/**
 * What {@link handleSignals} looks after: a pino logger, a `pino.transport()` stream, a
 * `CourierStream`, or any object with `flush` and `close`.
 */
export interface SignalTarget {
  /** Called when the app handles the signal itself (pino's `logger.flush(cb)` shape; a returned promise counts too). */
  flush(cb?: (err?: Error | null) => void): unknown
}

// A listener for these either cannot be installed or leaves the process in an undefined state.
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL'])

const signalSchema = z.string().refine((name) => Object.hasOwn(constants.signals, name) && !UNCATCHABLE.has(name), {
  error: (issue) => `not a signal this process can handle: ${JSON.stringify(issue.input)}`,
})

const handleSignalsOptionsSchema = z.strictObject({
  signals: z.array(signalSchema).min(1, 'at least one signal is needed').optional(),
  // setTimeout's limit: a longer delay would fire at once.
  timeoutMs: z.number().int().positive().max(MAX_TIMER_MS).optional(),
})

export interface ResolvedSignalOptions {
  signals: ReadonlySet<NodeJS.Signals>
  timeoutMs: number
}

export function parseSignalOptions(input: unknown, prefix = ''): ResolvedSignalOptions {
  const parsed = handleSignalsOptionsSchema.safeParse(input ?? {})
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, prefix, handleSignalsOptionsSchema, input ?? {})
  return {
    signals: new Set((parsed.data.signals ?? DEFAULT_SIGNALS) as NodeJS.Signals[]),
    timeoutMs: parsed.data.timeoutMs ?? DEFAULT_SIGNAL_TIMEOUT_MS,
  }
}

/** The conventional exit code of a process ended by `signal`: 128 + its number (SIGTERM 143, SIGINT 130). */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

interface FlushAndClose {
  flush(cb?: (err?: Error | null) => void): unknown
  close(): unknown
  stats?: () => unknown
}

type Destination =
  // pino's exit hook (registered by pino.transport()) closes the worker on process.exit().
  | { kind: 'worker'; stream: SignalTarget }
  // process.exit() waits for nothing in this thread: the helper closes it first.
  | { kind: 'in-process'; stream: FlushAndClose }

function hasMethods(value: unknown, ...names: string[]): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const record = value as Record<string, unknown>
  return names.every((name) => typeof record[name] === 'function')
}

/**
 * A logger's destination, found by the description of pino's `streamSym`. That symbol is a plain
 * `Symbol('pino.stream')` (not `Symbol.for`), and importing pino here would load it in the worker;
 * child loggers inherit it from their parent, hence the walk up the prototype chain.
 */
function loggerDestination(target: object): unknown {
  for (let obj: object | null = target; obj !== null; obj = Object.getPrototypeOf(obj) as object | null) {
    for (const symbol of Object.getOwnPropertySymbols(obj)) {
      if (symbol.description === 'pino.stream') return (obj as Record<symbol, unknown>)[symbol]
    }
  }
  return undefined
}

function resolveDestination(target: unknown): Destination {
  const logged = typeof target === 'object' && target !== null ? loggerDestination(target) : undefined
  const stream = logged ?? target
  // thread-stream has flushSync and its Worker, but no close().
  if (hasMethods(stream, 'flush', 'flushSync', 'end') && typeof (stream as { worker?: unknown }).worker === 'object') {
    return { kind: 'worker', stream: stream as SignalTarget }
  }
  if (hasMethods(stream, 'flush', 'close')) return { kind: 'in-process', stream: stream as FlushAndClose }
  throw new TypeError(
    logged === undefined
      ? 'pino-courier: handleSignals(target): expected a pino logger, a pino.transport() stream, or an object with flush() and close() (a CourierStream)'
      : "pino-courier: handleSignals(target): the logger's destination is neither a pino.transport() stream nor an object with flush() and close() (a CourierStream)",
  )
}

/** Calls `flush(cb)` and settles on the callback or on a returned promise, whichever comes first. */
function flushOf(stream: SignalTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const done = (err?: unknown): void => {
      if (settled) return
      settled = true
      if (err) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve()
    }
    try {
      const result = stream.flush(done)
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        ;(result as PromiseLike<unknown>).then(() => done(), (err: unknown) => done(err ?? new Error('flush failed')))
      }
    } catch (error) {
      done(error)
    }
  })
}

/** `; 1000 of 1000 records not delivered yet - http: 1000 (queued 0, in flight 1000, failed 0, dropped 0)`, from a CourierStream's stats(). */
function describePending(stream: FlushAndClose): string {
  try {
    const stats = stream.stats?.() as
      | { senders?: { name: string; received: number; delivered: number; queued: number; inFlight: number; failed: number; dropped: Record<string, number> }[] }
      | undefined
    if (!Array.isArray(stats?.senders)) return ''
    let received = 0
    let pending = 0
    const parts: string[] = []
    for (const s of stats.senders) {
      const undelivered = s.received - s.delivered
      const dropped = Object.values(s.dropped).reduce((n, v) => n + v, 0)
      received += s.received
      pending += undelivered
      if (undelivered > 0) {
        parts.push(`${s.name}: ${undelivered} (queued ${s.queued}, in flight ${s.inFlight}, failed ${s.failed}, dropped ${dropped})`)
      }
    }
    return `; ${pending} of ${received} records not delivered yet` + (parts.length ? ` - ${parts.join('; ')}` : '')
  } catch {
    // Stats are a courtesy in a last message; a throwing stats() must not stop the exit.
    return ''
  }
}

interface Registration {
  readonly destination: Destination
  readonly options: ResolvedSignalOptions
}

/**
 * One process listener per signal, shared by every handleSignals() call: two loggers with the
 * helper must not each take the other's listener for the app's own (and only flush), nor race each
 * other to process.exit() while the other's stream is still closing.
 */
class SignalRegistry {
  readonly #registrations = new Set<Registration>()
  readonly #listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>()
  /** Set once the helper has decided to exit: the exit code and the signal that started it. */
  #exiting: { code: number; signal: NodeJS.Signals } | undefined

  add(registration: Registration): void {
    this.#registrations.add(registration)
    for (const signal of registration.options.signals) {
      if (this.#listeners.has(signal)) continue
      const listener = (received: NodeJS.Signals): void => {
        this.#onSignal(received ?? signal).catch((error: unknown) => {
          writeStderr(`pino-courier: handling ${signal} failed: ${errorMessage(error)}`)
        })
      }
      this.#listeners.set(signal, listener)
      process.on(signal, listener)
    }
  }

  remove(registration: Registration): void {
    if (!this.#registrations.delete(registration)) return
    for (const signal of registration.options.signals) {
      if ([...this.#registrations].some((r) => r.options.signals.has(signal))) continue
      this.#unlisten(signal)
    }
  }

  #unlisten(signal: NodeJS.Signals): void {
    const listener = this.#listeners.get(signal)
    if (!listener) return
    this.#listeners.delete(signal)
    process.removeListener(signal, listener)
  }

  async #onSignal(signal: NodeJS.Signals): Promise<void> {
    if (this.#exiting) {
      // A second signal while in-process streams close (a double Ctrl-C): the user wants out now.
      const { code } = this.#exiting
      writeStderr(`pino-courier: ${signal} while closing after ${this.#exiting.signal}; exiting at once with code ${code}`)
      this.#exit(code)
      return
    }
    const own = this.#listeners.get(signal)
    const mine = [...this.#registrations].filter((r) => r.options.signals.has(signal))
    if (process.listeners(signal).some((listener) => listener !== own)) {
      // The app handles this signal itself and decides whether and when to exit. Exiting here would
      // cut its shutdown short; staying silent would leave records waiting for their batch.
      const results = await Promise.allSettled(mine.map((r) => flushOf(r.destination.stream)))
      for (const result of results) {
        if (result.status === 'rejected') writeStderr(`pino-courier: flush on ${signal} failed: ${errorMessage(result.reason)}`)
      }
      return
    }
    const code = exitCodeOf(signal)
    this.#exiting = { code, signal }
    try {
      await Promise.all(mine.map((r) => (r.destination.kind === 'in-process' ? closeWithin(r, signal, code) : undefined)))
    } catch (error) {
      writeStderr(`pino-courier: closing on ${signal} failed: ${errorMessage(error)}`)
    }
    this.#exit(code)
  }

  #exit(code: number): void {
    // Without our listeners a further signal gets its default action and ends the process at once,
    // even while pino's exit hook blocks this thread until the worker transports have closed.
    for (const signal of [...this.#listeners.keys()]) this.#unlisten(signal)
    process.exit(code)
  }
}

const registry = new SignalRegistry()

/** Awaits the stream's close(), for at most the registration's timeoutMs. Never rejects. */
async function closeWithin(registration: Registration, signal: NodeJS.Signals, code: number): Promise<void> {
  const { stream } = registration.destination as Extract<Destination, { kind: 'in-process' }>
  const { timeoutMs } = registration.options
  let timer: NodeJS.Timeout | undefined
  // Left referenced on purpose: a close that never settles must not let the event loop run dry and
  // end the process with code 0 before the timeout.
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimer(() => resolve('timeout'), timeoutMs)))
  const closed = Promise.resolve()
    .then(() => stream.close())
    .then(
      () => 'closed' as const,
      (error: unknown) => {
        writeStderr(`pino-courier: close on ${signal} failed: ${errorMessage(error)}`)
        return 'failed' as const
      },
    )
  const outcome = await Promise.race([closed, timedOut])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    writeStderr(
      `pino-courier: close did not finish within ${timeoutMs} ms of ${signal} (timeoutMs); exiting anyway with code ${code}` +
        describePending(stream),
    )
  }
}

/**
 * Handles SIGTERM and SIGINT (or `options.signals`) so that queued records are delivered before the
 * process ends. On a signal:
 * - if the app has a listener of its own for it, the helper only flushes and the app decides;
 * - otherwise an in-process stream is closed (for at most `timeoutMs`) and the process exits with
 *   128 + the signal's number (143 for SIGTERM, 130 for SIGINT); a worker transport is closed by
 *   pino's exit hook during that `process.exit()`;
 * - a second signal while closing ends the process at once.
 *
 * `target` is a pino logger, a `pino.transport()` stream, or a `CourierStream` (any object with
 * `flush` and `close`). Call in the main thread: a transport's worker receives no signals. The
 * listeners are removed when the returned function is called, or when the stream closes.
 * @example
 * const transport = pino.transport({ target: 'pino-courier', options })
 * const logger = pino(transport)
 * handleSignals(logger)
 */
export function handleSignals(target: SignalTarget, options: HandleSignalsOptions = {}): () => void {
  const resolved = parseSignalOptions(options)
  const destination = resolveDestination(target)
  const registration: Registration = { destination, options: resolved }
  const stream = destination.stream as Partial<Pick<NodeJS.EventEmitter, 'once' | 'removeListener'>>
  const watchesClose = typeof stream.once === 'function' && typeof stream.removeListener === 'function'
  let installed = true
  const uninstall = (): void => {
    if (!installed) return
    installed = false
    if (watchesClose) stream.removeListener?.('close', uninstall)
    registry.remove(registration)
  }
  registry.add(registration)
  // A closed stream has nothing left to deliver: its signals go back to their default.
  if (watchesClose) stream.once?.('close', uninstall)
  return uninstall
}
