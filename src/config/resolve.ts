/**
 * The one resolve step: options a schema has accepted, layered over the defaults (config/defaults.ts),
 * with names and levels resolved and the rules between options checked. What it returns, everything
 * inside takes as given.
 */
import type { z } from 'zod'
import { ConfigError } from './config-error.js'
import { DEFAULT_BATCH, DEFAULT_GROUP, DEFAULT_MAX_CONCURRENCY, DEFAULT_POOL, DEFAULT_QUEUE, DEFAULT_RETRY, DEFAULT_SPOOL } from './defaults.js'
import type { DeliveryOptions, PoolOptions, ResolvedDeliveryOptions, ResolvedPoolOptions } from './delivery-options.js'
import { LevelMap, type LevelOption } from './levels.js'
import type { SpoolOptions } from '../spool/spool-options.js'

/** Layers option objects over the defaults, later layers winning field by field. */
export function resolveDeliveryOptions(...layers: (DeliveryOptions | undefined)[]): ResolvedDeliveryOptions {
  const out: ResolvedDeliveryOptions = {
    queue: { ...DEFAULT_QUEUE },
    batch: { ...DEFAULT_BATCH },
    pool: { ...DEFAULT_POOL },
    retry: { ...DEFAULT_RETRY },
    group: { ...DEFAULT_GROUP },
    spool: undefined,
    deadLetter: undefined,
  }
  let spool: SpoolOptions | undefined
  const pool = new PoolLayering(out.pool)
  for (const layer of layers) {
    if (!layer) continue
    Object.assign(out.queue, stripUndefined(layer.queue))
    Object.assign(out.batch, stripUndefined(layer.batch))
    pool.layer(layer.pool)
    Object.assign(out.retry, stripUndefined(layer.retry))
    Object.assign(out.group, stripUndefined(layer.group))
    if (layer.spool === false) spool = undefined
    else if (layer.spool) spool = { ...spool, ...stripUndefined(layer.spool) } as SpoolOptions
    if (layer.deadLetter === false) out.deadLetter = undefined
    else if (layer.deadLetter) out.deadLetter = { ...layer.deadLetter }
  }
  if (spool) out.spool = { ...DEFAULT_SPOOL, ...spool }
  out.pool = pool.resolved()
  return out
}

/**
 * The pool's layering: field by field like the others, except that `concurrency: 'adaptive'` resolves to
 * its maximum (`concurrency` is what the sinks size their connections by) with `adaptive` set, and that
 * a fixed `concurrency` forgets a `maxConcurrency` of a lower layer: a sender's own `concurrency: 4`
 * overrides a top-level `'adaptive'` as a whole, while a `maxConcurrency` written beside a fixed one (or
 * above it) stays, for the rule that refuses it.
 */
class PoolLayering {
  readonly #out: ResolvedPoolOptions
  #concurrency: number | 'adaptive'
  #max: number | undefined

  constructor(base: ResolvedPoolOptions) {
    this.#out = base
    this.#concurrency = base.concurrency
  }

  layer(options: PoolOptions | undefined): void {
    const { concurrency, maxConcurrency, ...rest } = stripUndefined(options)
    Object.assign(this.#out, rest)
    if (typeof concurrency === 'number') this.#max = undefined
    if (concurrency !== undefined) this.#concurrency = concurrency
    if (maxConcurrency !== undefined) this.#max = maxConcurrency
  }

  resolved(): ResolvedPoolOptions {
    const { adaptive: _adaptive, maxConcurrency: _max, ...out } = this.#out
    const max = this.#max === undefined ? {} : { maxConcurrency: this.#max }
    if (this.#concurrency !== 'adaptive') return { ...out, concurrency: this.#concurrency, ...max }
    return { ...out, concurrency: this.#max ?? DEFAULT_MAX_CONCURRENCY, adaptive: true, ...max }
  }
}

/** A rule between options that a single option's schema cannot check: the path to name, and why. */
export interface RuleIssue {
  readonly path: string
  readonly message: string
}

/**
 * The rules between delivery options, checked on the layered result (a bound set at the transport's
 * top level meets a sender's own). Used by the transport's schema and by the resolve step.
 */
export function deliveryRuleIssues(options: ResolvedDeliveryOptions): RuleIssue[] {
  const issues: RuleIssue[] = []
  const { queue, batch, spool, group } = options
  if (options.pool.maxConcurrency !== undefined && options.pool.adaptive !== true) {
    issues.push({ path: 'pool.maxConcurrency', message: "takes pool.concurrency: 'adaptive' (a fixed concurrency has no maximum)" })
  }
  if (queue.maxRecordBytes > queue.maxBytes) {
    issues.push({ path: 'queue.maxRecordBytes', message: `must not exceed queue.maxBytes (${queue.maxBytes})` })
  }
  // A record of the largest size the queue takes must fit in the groups together, or it would always be dropped.
  if (group.maxTotalBytes !== undefined && group.maxTotalBytes < queue.maxRecordBytes) {
    issues.push({ path: 'group.maxTotalBytes', message: `must be at least queue.maxRecordBytes (${queue.maxRecordBytes})` })
  }
  const largestBatch = 2 * Math.max(batch.maxBytes, queue.maxRecordBytes)
  if (spool && spool.maxBytes < largestBatch) {
    issues.push({
      path: 'spool.maxBytes',
      message: `must be at least twice the largest batch (2 x max(batch.maxBytes, queue.maxRecordBytes) = ${largestBatch})`,
    })
  }
  return issues
}

/** Checks `input` against `schema`; a ConfigError naming every bad path otherwise. */
export function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, '', schema, input)
  return parsed.data
}

/** The options of a sender the resolve step reads (CommonSenderOptions). */
export interface SenderOptionsInput extends DeliveryOptions {
  name?: string
  level?: LevelOption
  closeTimeoutMs?: number
  groupBy?: string
}

/** What the resolve step needs from the sender's surroundings (a part of SenderContext). */
export interface ResolveContext {
  levels?: LevelMap
  defaults?: readonly (DeliveryOptions | undefined)[]
}

/**
 * A sender's configuration, resolved once: the engine takes it as given. Only
 * {@link resolveSenderConfig} makes one, so a constructor handed one knows it was checked.
 */
export class SenderConfig {
  readonly name: string
  /** Records below it are ignored. */
  readonly level: number
  /** A record at or above it sends everything queued before it at once. */
  readonly flushLevel: number
  /** The sender's own close deadline, if its options set one. */
  readonly closeTimeoutMs: number | undefined
  /** The field naming a record's queue group, when the sender groups its queue. */
  readonly groupBy: string | undefined
  readonly delivery: ResolvedDeliveryOptions

  /** @internal use {@link resolveSenderConfig} */
  constructor(fields: Omit<SenderConfig, never>) {
    this.name = fields.name
    this.level = fields.level
    this.flushLevel = fields.flushLevel
    this.closeTimeoutMs = fields.closeTimeoutMs
    this.groupBy = fields.groupBy
    this.delivery = fields.delivery
    Object.freeze(this)
  }
}

/**
 * Resolves a sender's options (already accepted by its schema): the delivery options layered as
 * defaults < the sink type's (`typeDefaults`) < the context's layers (the transport's top level) <
 * the sender's own; its name; its level and flush level against the logger's levels; the rules
 * between options. Throws a ConfigError naming the option (relative to the sender).
 */
export function resolveSenderConfig(
  options: SenderOptionsInput,
  context: ResolveContext,
  typeDefaults: DeliveryOptions | undefined,
  defaultName: string,
): SenderConfig {
  const levels = context.levels ?? new LevelMap()
  const layers = [typeDefaults, ...(context.defaults ?? []), options]
  const delivery = resolveDeliveryOptions(...layers)
  const issues = deliveryRuleIssues(delivery)
  if (issues.length > 0) {
    throw new ConfigError(`pino-courier: invalid options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      paths: issues.map((i) => i.path),
    })
  }
  return new SenderConfig({
    name: options.name ?? defaultName,
    level: options.level === undefined ? Number.NEGATIVE_INFINITY : levels.resolve(options.level, 'level'),
    // A flushLevel nobody wrote is the default ('error'): a logger without that name must still start.
    flushLevel: layers.some((layer) => layer?.batch?.flushLevel !== undefined)
      ? levels.resolve(delivery.batch.flushLevel, 'batch.flushLevel')
      : levels.resolveDefault(delivery.batch.flushLevel),
    closeTimeoutMs: options.closeTimeoutMs,
    groupBy: options.groupBy,
    delivery,
  })
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {}
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * Passed by the registry to a sender's constructor for options its schema has already accepted (the
 * transport's parse): the constructor then does not check them again. Not exported from the package.
 */
export const CHECKED: unique symbol = Symbol('pino-courier: options checked')
