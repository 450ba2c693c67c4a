import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from './config-error.js'
import type { SenderSpec } from './options.js'
import type { DeliveryOptions } from './queue/queue-options.js'
import { FileSender } from './senders/file-sender.js'
import { HttpSender } from './senders/http-sender.js'
import { WebhookAlertSender } from './senders/webhook-alert-sender.js'
import type { SenderContext } from './senders/queued-sender.js'
import type { Sender } from './senders/sender.js'

/** Builds the senders of validated specs, each at `senders[i]` for error messages. */
export async function createSenders(
  specs: readonly SenderSpec[],
  context: SenderContext & { defaults?: readonly (DeliveryOptions | undefined)[] },
): Promise<Sender[]> {
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

/** Builds a built-in sender (`http`, `file`, `webhook`) from its spec, synchronously. */
export function createBuiltinSender(spec: Exclude<SenderSpec, { type: 'module' }>, context: SenderContext): Sender {
  switch (spec.type) {
    case 'http': {
      const { type: _type, ...options } = spec
      return new HttpSender(options, context)
    }
    case 'webhook': {
      const { type: _type, ...options } = spec
      return new WebhookAlertSender(options, context)
    }
    case 'file': {
      const { type: _type, ...options } = spec
      return new FileSender(options, context)
    }
  }
}

async function createSender(spec: SenderSpec, context: SenderContext): Promise<Sender> {
  switch (spec.type) {
    case 'http':
    case 'file':
    case 'webhook':
      return createBuiltinSender(spec, context)
    case 'module': {
      const specifier = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module
      let loaded: Record<string, unknown>
      try {
        loaded = (await import(specifier)) as Record<string, unknown>
      } catch (error) {
        // `paths` are relative to the sender; prefixed() turns them into `senders[i].module` etc.
        throw new ConfigError(`module: cannot import "${spec.module}": ${(error as Error).message}`, {
          paths: ['module'],
          cause: error,
        })
      }
      const exportName = spec.export ?? 'createSender'
      const factory = loaded[exportName]
      if (typeof factory !== 'function') {
        throw new ConfigError(`export: "${spec.module}" has no function export "${exportName}"`, { paths: ['export'] })
      }
      const sender = (await (factory as (o: unknown, c: SenderContext) => unknown)(
        { ...spec.options, ...(spec.name ? { name: spec.name } : {}), ...(spec.level !== undefined ? { level: spec.level } : {}) },
        context,
      )) as Sender
      if (!sender || typeof sender.send !== 'function' || typeof sender.close !== 'function') {
        throw new ConfigError(`export: "${exportName}" of "${spec.module}" did not return a Sender`, {
          paths: ['export'],
        })
      }
      return sender
    }
  }
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
