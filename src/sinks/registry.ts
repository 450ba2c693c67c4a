import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../config/config-error.js'
import type { SenderSpec } from '../config/transport-options.js'
import type { DeliveryOptions } from '../config/delivery-options.js'
import { FileSender } from './file/file-sender.js'
import { HttpSender } from './http/http-sender.js'
import { WebhookAlertSender } from './webhook/webhook-alert-sender.js'
import type { SenderContext } from '../senders/queued-sender.js'
import type { Sender } from '../senders/sender.js'

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
      // `paths` are relative to the sender; prefixed() turns them into `senders[i].module` etc.
      if (isRelativePath(spec.module)) {
        // import() here would resolve it against this file (inside pino-courier), not the app's: the
        // error would name a path the user never meant. Resolving it against process.cwd() instead
        // would make the sender depend on where the app is started from: refuse it, and say how.
        throw new ConfigError(
          `module: "${spec.module}" is a relative path, but the module is imported by pino-courier's worker, not ` +
            `from your file: pass an absolute path (fileURLToPath(new URL('${spec.module}', import.meta.url)) in your ` +
            `module, or path.resolve('${spec.module}') for one relative to the working directory) or a package name`,
          { paths: ['module'] },
        )
      }
      const specifier = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module
      let loaded: Record<string, unknown>
      try {
        loaded = (await import(specifier)) as Record<string, unknown>
      } catch (error) {
        // `dist/x.mjs` is a bare specifier: Node looks for a package "dist". Say what it was taken for.
        const hint =
          (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && looksLikeBarePath(spec.module)
            ? ' (taken for a package name: a path must be absolute)'
            : ''
        throw new ConfigError(`module: cannot import "${spec.module}": ${(error as Error).message}${hint}`, {
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

/** `./x`, `../x` (and `.\x`, `..\x`, `.`, `..`): relative to a base the worker does not share with the app. */
function isRelativePath(specifier: string): boolean {
  return /^\.\.?(?:[/\\]|$)/.test(specifier)
}

/** A bare specifier that names a file rather than a package: `dist/sender.mjs`, `sender.js`. */
function looksLikeBarePath(specifier: string): boolean {
  return !isAbsolute(specifier) && !/^[a-z][a-z0-9+.-]*:/i.test(specifier) && /\.(?:[cm]?js|[cm]?ts)$/.test(specifier)
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
