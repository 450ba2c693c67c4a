import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../config/config-error.js'
import type { Sender, SenderContext } from '../senders/sender.js'
import type { ModuleSenderSpec } from './registry.js'

/**
 * Builds a sender from a module of the user's own (`{ type: 'module', module, export, options }`):
 * imports it and calls its factory with the options, `name` and `level` merged in. Errors name the
 * option relative to the sender (`module`, `export`).
 */
export async function loadModuleSender(spec: ModuleSenderSpec, context: SenderContext): Promise<Sender> {
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

/** `./x`, `../x` (and `.\x`, `..\x`, `.`, `..`): relative to a base the worker does not share with the app. */
function isRelativePath(specifier: string): boolean {
  return /^\.\.?(?:[/\\]|$)/.test(specifier)
}

/** A bare specifier that names a file rather than a package: `dist/sender.mjs`, `sender.js`. */
function looksLikeBarePath(specifier: string): boolean {
  return !isAbsolute(specifier) && !/^[a-z][a-z0-9+.-]*:/i.test(specifier) && /\.(?:[cm]?js|[cm]?ts)$/.test(specifier)
}

