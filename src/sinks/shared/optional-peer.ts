import { createRequire } from 'node:module'
import { ConfigError } from '../../config/config-error.js'

// Resolved from pino-courier's own file: an app's optional peers are installed next to pino-courier
// (npm, pnpm and yarn all put them where pino-courier's imports find them).
const require = createRequire(import.meta.url)

/**
 * A backend's client library that pino-courier does not depend on: an optional peer dependency, so
 * that an app shipping only to HTTP never installs kafkajs, ioredis or the NATS client.
 *
 * {@link OptionalPeer.check} runs when the sender is created, so that a missing library fails at
 * start-up (a ConfigError naming the package and the command that installs it) rather than at the
 * first delivery; {@link OptionalPeer.load} imports it on first use, once per thread.
 */
export class OptionalPeer<Module> {
  readonly #packages: readonly string[]
  readonly #senderType: string
  #loading: Promise<Module> | undefined

  /**
   * @param senderType the sender's `type` (in messages).
   * @param packages every package the sender imports; the first is the one {@link load} returns.
   */
  constructor(senderType: string, packages: readonly [string, ...string[]]) {
    this.#senderType = senderType
    this.#packages = packages
  }

  /** Names of the packages this sender needs. */
  get packages(): readonly string[] {
    return this.#packages
  }

  /** Throws a ConfigError naming each package that cannot be found, and how to install them. */
  check(): void {
    const missing = this.#packages.filter((name) => !resolvable(name))
    if (missing.length === 0) return
    const list = missing.join(' and ')
    throw new ConfigError(
      `pino-courier: invalid options: type: the '${this.#senderType}' sender needs ${list}, an optional peer ` +
        `dependency of pino-courier that is not installed: run \`npm install ${missing.join(' ')}\` in your app`,
      { paths: ['type'] },
    )
  }

  /** Imports the packages (once) and resolves with the first one's namespace. */
  load(): Promise<Module> {
    this.#loading ??= Promise.all(this.#packages.map((name) => import(name) as Promise<unknown>)).then(
      ([first]) => first as Module,
      (error: unknown) => {
        this.#loading = undefined
        throw new Error(`pino-courier: could not load ${this.#packages.join(', ')} for the '${this.#senderType}' sender: ${String(error)}`, {
          cause: error,
        })
      },
    )
    return this.#loading
  }
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name)
    return true
  } catch {
    return false
  }
}
