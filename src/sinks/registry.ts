import { z } from 'zod'
import { ConfigError } from '../config/config-error.js'
import { commonSenderShape } from '../config/schema.js'
import type { Sender, SenderContext } from '../senders/sender.js'
import { elasticsearchSinkType } from './elasticsearch/elasticsearch-sender.js'
import { fileSinkType } from './file/file-sender.js'
import { httpSinkType } from './http/http-sender.js'
import { kafkaSinkType } from './kafka/kafka-sender.js'
import { memorySinkType } from './memory/memory-sender.js'
import { lokiSinkType } from './loki/loki-sender.js'
import { loadModuleSender } from './module-sender.js'
import { natsSinkType } from './nats/nats-sender.js'
import { otlpSinkType } from './otlp/otlp-sender.js'
import { redisSinkType } from './redis/redis-sender.js'
import type { SinkType } from './sink-type.js'
import { syslogSinkType } from './syslog/syslog-sender.js'
import { webhookSinkType } from './webhook/webhook-alert-sender.js'

/**
 * Every built-in sender type. Adding a backend is a folder under sinks/ with its options' schema, its
 * defaults, its Sink and a {@link SinkType}, and one line here: the transport's schema, the in-process
 * stream and the factories read this list.
 */
export const SINK_TYPES = [
  httpSinkType,
  fileSinkType,
  webhookSinkType,
  memorySinkType,
  otlpSinkType,
  lokiSinkType,
  elasticsearchSinkType,
  kafkaSinkType,
  natsSinkType,
  redisSinkType,
  syslogSinkType,
] as const

/** The spec of a built-in sender: `{ type, ...its options }`. */
export type BuiltinSenderSpec = (typeof SINK_TYPES)[number] extends infer T
  ? T extends SinkType<infer Type, infer Options>
    ? { type: Type } & Options
    : never
  : never

/** A sender from a module of your own: `export function createSender(options, context): Sender`. */
export interface ModuleSenderSpec {
  type: 'module'
  /** Name in stats and warnings; unique within a courier. @default 'module' */
  name?: string
  /** Records below this level are ignored (passed to the factory as `level`). */
  level?: string | number
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
export type SenderSpec = BuiltinSenderSpec | ModuleSenderSpec

const moduleSenderSchema = z.strictObject({
  type: z.literal('module'),
  module: z.string().min(1),
  export: z.string().min(1).optional(),
  name: commonSenderShape.name,
  level: commonSenderShape.level,
  options: z.record(z.string(), z.unknown()).optional(),
})

/** The schema of one sender spec: each registered type's schema with its `type`, and `module`. */
export const senderSpecSchema = z.discriminatedUnion(
  'type',
  [
    ...SINK_TYPES.map((sinkType) => (sinkType.schema as unknown as z.ZodObject).extend({ type: z.literal(sinkType.type) })),
    moduleSenderSchema,
  ] as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<SenderSpec>

/** The registered type of a spec, or undefined for `module`. */
export function sinkTypeOf(type: string): SinkType | undefined {
  return (SINK_TYPES as readonly SinkType[]).find((t) => t.type === type)
}

/**
 * Builds senders from specs, each checked by its type's schema first: a ConfigError names every bad
 * option at `senders[i].x`. If one fails, those already built are closed.
 */
export async function createSenders(specs: readonly unknown[], context: SenderContext): Promise<Sender[]> {
  const checked = specs.map((spec, index) => {
    const parsed = senderSpecSchema.safeParse(spec)
    if (!parsed.success) throw ConfigError.fromZod(parsed.error, `senders[${index}]`, senderSpecSchema, spec)
    return spec as SenderSpec
  })
  return buildSenders(checked, context)
}

/** Builds senders from specs the transport's schema has accepted already (not checked again). */
export async function buildSenders(specs: readonly SenderSpec[], context: SenderContext): Promise<Sender[]> {
  const senders: Sender[] = []
  for (const [index, spec] of specs.entries()) {
    try {
      senders.push(await createSender(spec, context))
    } catch (error) {
      await Promise.allSettled(senders.map((s) => s.close({ timeoutMs: 100 })))
      throw prefixed(error, `senders[${index}]`)
    }
  }
  return senders
}

/** Builds a built-in sender from a spec its schema accepted, synchronously. */
export function createBuiltinSender(spec: BuiltinSenderSpec, context: SenderContext): Sender {
  const { type, ...options } = spec
  return (sinkTypeOf(type) as SinkType).create(options, context)
}

async function createSender(spec: SenderSpec, context: SenderContext): Promise<Sender> {
  return spec.type === 'module' ? loadModuleSender(spec, context) : createBuiltinSender(spec, context)
}

/** Re-labels a sender's own ConfigError (paths relative to the sender) with its place in the options. */
export function prefixed(error: unknown, prefix: string): unknown {
  if (!(error instanceof ConfigError)) return error
  const inner = error.message.replace(/^pino-courier: invalid options: /, '')
  const parts = inner.split('; ').map((part) => `${prefix}.${part}`)
  return new ConfigError(`pino-courier: invalid options: ${parts.join('; ')}`, {
    paths: error.paths.map((p) => `${prefix}.${p}`),
    cause: error.cause ?? error,
  })
}
