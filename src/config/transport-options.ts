/**
 * The transport's options: the shared top-level ones (schema.ts) and the senders, each checked by the
 * schema of its registered type (sinks/registry.ts); the rules that span a sender and the top level;
 * and parseTransportOptions, the transport's one parse.
 */
import { z } from 'zod'
import { ConfigError } from './config-error.js'
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_QUEUE,
  DEFAULT_STATS_INTERVAL_MS,
  DEFAULT_WARN_INTERVAL_MS,
  MAX_BLOCK_MS,
  MAX_TRANSPORT_CLOSE_TIMEOUT_MS,
} from './defaults.js'
import type { DeliveryOptions } from './delivery-options.js'
import { deliveryRuleIssues, resolveDeliveryOptions } from './resolve.js'
import { courierOptionsShape } from './schema.js'
import { senderSpecSchema, sinkTypeOf, type SenderSpec } from '../sinks/registry.js'
import { metricsOptionsSchema, type MetricsOptions } from '../metrics/metrics-options.js'

export { DEFAULT_WARN_INTERVAL_MS }

export type { ModuleSenderSpec, SenderSpec } from '../sinks/registry.js'
export { senderSpecSchema }

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
  /**
   * Serve the stats as a Prometheus endpoint (text format 0.0.4) on `http://host:port/path`. The
   * bound address (the real port with `port: 0`) is posted to the main thread as a `courier:metrics`
   * event `{ url }` once listening; a port in use fails the start with an error naming `metrics.port`.
   * @default none (no endpoint); host '127.0.0.1', path '/metrics'
   * @example
   * pino.transport({ target: 'pino-courier', options: { senders, metrics: { port: 9464 } } })
   */
  metrics?: MetricsOptions
}

export { DEFAULT_STATS_INTERVAL_MS, MAX_TRANSPORT_CLOSE_TIMEOUT_MS }
export { courierOptionsShape }

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
  metrics: metricsOptionsSchema.optional(),
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
  checkDeliveryRules(options, ctx)
})

/**
 * The rules between delivery options (config/resolve.ts), on what each queued sender ends up with:
 * its type's defaults, the top level and its own options. Named at the sender's path.
 */
function checkDeliveryRules(options: z.infer<typeof transportOptionsObject>, ctx: z.RefinementCtx): void {
  options.senders.forEach((sender, index) => {
    const sinkType = sinkTypeOf(sender.type)
    if (!sinkType?.queued) return
    const layers = [sinkType.defaults, ...deliveryDefaults(options), sender as DeliveryOptions]
    for (const issue of deliveryRuleIssues(resolveDeliveryOptions(...layers))) {
      ctx.addIssue({ code: 'custom', path: ['senders', index, ...issue.path.split('.')], message: issue.message })
    }
  })
}

/**
 * pino blocks an exiting app for at most 10 s while the transport closes. A reader paused by the
 * `block` policy sees the end of the stream only after `queue.maxBlockMs`, and close then takes up to
 * `closeTimeoutMs`: the two together must fit in the same limit as closeTimeoutMs alone.
 */
function checkBlockWindows(options: z.infer<typeof transportOptionsObject>, ctx: z.RefinementCtx): void {
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
  options.senders.forEach((spec, index) => {
    if (!sinkTypeOf(spec.type)?.queued) return
    const sender = spec as DeliveryOptions
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
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, '', transportOptionsSchema, own)
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
