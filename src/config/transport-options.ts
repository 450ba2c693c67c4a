import { z } from 'zod'
import { ConfigError } from './config-error.js'
import { fileSenderOptionsSchema, type FileSenderOptions } from '../sinks/file/file-sender.js'
import { httpSenderOptionsSchema, type HttpSenderOptions } from '../sinks/http/http-sender.js'
import { webhookAlertSenderOptionsSchema, type WebhookAlertSenderOptions } from '../sinks/webhook/webhook-alert-sender.js'
import { commonSenderShape, DEFAULT_CLOSE_TIMEOUT_MS, type CommonSenderOptions } from '../senders/queued-sender.js'
import { DEFAULT_QUEUE, deliveryOptionsShape, MAX_BLOCK_MS, type DeliveryOptions } from './delivery-options.js'
import { durationSchema } from '../timers.js'
import { DEFAULT_WARN_INTERVAL_MS } from '../stats/warner.js'

export { DEFAULT_WARN_INTERVAL_MS }

/** A sender from a module of your own: `export function createSender(options, context): Sender`. */
export interface ModuleSenderSpec extends Pick<CommonSenderOptions, 'name' | 'level'> {
  type: 'module'
  /**
   * Absolute path, `file:` URL or package name of the module. It is imported by the transport's
   * worker, whose base is pino-courier's own file, not your app's: a relative path (`./x.mjs`,
   * `../x.mjs`) is refused at start-up with a ConfigError naming `senders[i].module`. It is not
   * resolved against `process.cwd()` either: that would make the sender depend on the directory the
   * app happens to be started from, and differ from how `import` resolves the same text in your file.
   * @example
   * { type: 'module', module: fileURLToPath(new URL('./my-sender.mjs', import.meta.url)) }
   * { type: 'module', module: path.resolve('dist/my-sender.mjs') } // against the cwd, explicitly
   * { type: 'module', module: 'my-pino-courier-sender' } // a package, resolved from where pino-courier is installed
   */
  module: string
  /** Name of the factory export. @default 'createSender' */
  export?: string
  /** Plain-data options passed to the factory (merged with `name` and `level`). @default {} */
  options?: Record<string, unknown>
}

/** One sender in transport options: plain data, discriminated by `type`. */
export type SenderSpec =
  | ({ type: 'http' } & HttpSenderOptions)
  | ({ type: 'file' } & FileSenderOptions)
  | ({ type: 'webhook' } & WebhookAlertSenderOptions)
  | ModuleSenderSpec

/** Options of the pino transport (`pino.transport({ target: 'pino-courier', options })`). */
export interface TransportOptions extends DeliveryOptions {
  /** Where records go; each sender has its own level, queue and worker pool. */
  senders: SenderSpec[]
  /** Deadline of close (all senders in parallel), well inside pino's 10 s exit limit. @default 5000 */
  closeTimeoutMs?: number
  /** How often stats are posted to the main thread as a `courier:stats` event (0 = only at close). @default 5000 */
  statsIntervalMs?: number
  /** Shortest time between two warnings about the same sender and kind of trouble. @default 10000 */
  warnIntervalMs?: number
  /** Write warnings (drops, failures, retries) and the close report to stderr. @default true */
  stderr?: boolean
  /**
   * Key holding the level in the logger's lines. pino does not tell a transport about its
   * `formatters.level`: set this when it writes another key, or every record counts as level 30 and
   * sender levels and flush levels do nothing. Labels match in any case (`"ERROR"` is `error`).
   * Malformed lines are wrapped with their level under this key.
   * @default 'level'
   * @example
   * // pino({ formatters: { level: (label) => ({ severity: label.toUpperCase() }) } }, transport)
   * pino.transport({ target: 'pino-courier', options: { levelKey: 'severity', senders } })
   */
  levelKey?: string
}

export const DEFAULT_STATS_INTERVAL_MS = 5000
/** Largest transport closeTimeoutMs: pino gives an exiting app's transport 10 s in all. */
export const MAX_TRANSPORT_CLOSE_TIMEOUT_MS = 9000

const moduleSenderSchema = z.strictObject({
  type: z.literal('module'),
  module: z.string().min(1),
  export: z.string().min(1).optional(),
  name: commonSenderShape.name,
  level: commonSenderShape.level,
  options: z.record(z.string(), z.unknown()).optional(),
})

export const senderSpecSchema = z.discriminatedUnion('type', [
  httpSenderOptionsSchema.extend({ type: z.literal('http') }),
  fileSenderOptionsSchema.extend({ type: z.literal('file') }),
  webhookAlertSenderOptionsSchema.extend({ type: z.literal('webhook') }),
  moduleSenderSchema,
])

/** Options shared by the transport and the in-process stream, besides `senders`. */
export const courierOptionsShape = {
  closeTimeoutMs: durationSchema(1).optional(),
  statsIntervalMs: durationSchema(0).optional(),
  warnIntervalMs: durationSchema(0).optional(),
  stderr: z.boolean().optional(),
  levelKey: z.string().min(1).optional(),
  ...deliveryOptionsShape,
}

const transportOptionsObject = z.strictObject({
  senders: z.array(senderSpecSchema).min(1, 'at least one sender is needed'),
  ...courierOptionsShape,
  // pino blocks an exiting app for at most 10 s before it gives up on the transport: close, sink
  // shutdown and the stderr report must all fit inside that.
  closeTimeoutMs: z
    .number()
    .int()
    .positive()
    .max(MAX_TRANSPORT_CLOSE_TIMEOUT_MS, `must stay under pino's 10 s exit limit (at most ${MAX_TRANSPORT_CLOSE_TIMEOUT_MS})`)
    .optional(),
})

export const transportOptionsSchema = transportOptionsObject.superRefine((options, ctx) => {
  const seen = new Map<string, number>()
  options.senders.forEach((sender, index) => {
    if (sender.name === undefined) return
    const first = seen.get(sender.name)
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['senders', index, 'name'],
        message: `duplicate sender name "${sender.name}" (also senders[${first}])`,
      })
    } else seen.set(sender.name, index)
  })
  checkBlockWindows(options, ctx)
})

/**
 * pino blocks an exiting app for at most 10 s while the transport closes. A reader paused by the
 * `block` policy sees the end of the stream only after `queue.maxBlockMs`, and close then takes up to
 * `closeTimeoutMs`: the two together must fit in the same limit as closeTimeoutMs alone.
 */
function checkBlockWindows(options: z.infer<typeof transportOptionsObject>, ctx: z.RefinementCtx): void {
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
  options.senders.forEach((sender, index) => {
    if (sender.type === 'module' || sender.type === 'webhook') return
    const overflow = sender.queue?.overflow ?? options.queue?.overflow ?? DEFAULT_QUEUE.overflow
    if (overflow !== 'block') return
    const own = sender.queue?.maxBlockMs
    const maxBlockMs = own ?? options.queue?.maxBlockMs ?? DEFAULT_QUEUE.maxBlockMs
    // Past its own bound (or not a number): the field's own check has said so.
    if (!(maxBlockMs + closeTimeoutMs > MAX_TRANSPORT_CLOSE_TIMEOUT_MS) || maxBlockMs > MAX_BLOCK_MS) return
    const path =
      own !== undefined ? ['senders', index, 'queue', 'maxBlockMs'] : options.queue?.maxBlockMs !== undefined ? ['queue', 'maxBlockMs'] : ['closeTimeoutMs']
    ctx.addIssue({
      code: 'custom',
      path,
      message: `queue.maxBlockMs (${maxBlockMs}) + closeTimeoutMs (${closeTimeoutMs}) must stay within pino's 10 s exit limit (at most ${MAX_TRANSPORT_CLOSE_TIMEOUT_MS} together)`,
    })
  })
}

/** The top-level queue/batch/pool/retry options as the lowest layer of every sender's delivery options. */
export function deliveryDefaults(options: DeliveryOptions): DeliveryOptions[] {
  const { queue, batch, pool, retry, spool, deadLetter } = options
  return [{ queue, batch, pool, retry, spool, deadLetter }]
}

/** Transport options with defaults filled in and every sender named. */
export interface ResolvedTransportOptions extends TransportOptions {
  closeTimeoutMs: number
  statsIntervalMs: number
  warnIntervalMs: number
  stderr: boolean
}

/**
 * Validates transport options. Throws a {@link ConfigError} naming every bad option path
 * (`senders[0].url: Invalid URL`).
 */
export function parseTransportOptions(input: unknown): ResolvedTransportOptions {
  const own = withoutInjectedKeys(input)
  if (typeof own === 'object' && own !== null && Object.hasOwn(own, 'handleSignals')) {
    // A worker thread receives no process signals: say where the option belongs instead of "unknown option".
    throw new ConfigError(
      'pino-courier: invalid options: handleSignals: the transport runs in a worker thread, which receives no signals; use createCourierTransport() or handleSignals() in the main thread',
      { paths: ['handleSignals'] },
    )
  }
  const parsed = transportOptionsSchema.safeParse(own)
  if (!parsed.success) throw ConfigError.fromZod(parsed.error)
  // Keep the caller's objects (zod strips nothing here, strict objects refuse unknown keys).
  const options = own as TransportOptions
  const typeCounts = new Map<string, number>()
  for (const spec of options.senders) typeCounts.set(spec.type, (typeCounts.get(spec.type) ?? 0) + 1)
  const taken = new Set(options.senders.map((s) => s.name).filter((n): n is string => n !== undefined))
  const senders = options.senders.map((spec, index) => {
    if (spec.name !== undefined) return spec
    let name = (typeCounts.get(spec.type) ?? 0) > 1 ? `${spec.type}-${index}` : spec.type
    while (taken.has(name)) name += '_'
    taken.add(name)
    return { ...spec, name }
  })
  return {
    ...options,
    senders,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    statsIntervalMs: options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
    warnIntervalMs: options.warnIntervalMs ?? DEFAULT_WARN_INTERVAL_MS,
    stderr: options.stderr ?? true,
  }
}

/** Keys pino and thread-stream add to a transport's options; they are not the user's. */
const INJECTED_KEYS = ['$context', 'pinoWillSendConfig']

function withoutInjectedKeys(input: unknown): unknown {
  if (input === null || input === undefined) return {}
  if (typeof input !== 'object' || Array.isArray(input)) return input
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) }
  for (const key of INJECTED_KEYS) delete copy[key]
  return copy
}
