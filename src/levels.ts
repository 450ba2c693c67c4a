import { ConfigError } from './config-error.js'

/** pino's default level numbers. */
export const DEFAULT_LEVELS: Readonly<Record<string, number>> = Object.freeze({
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
})

/** A level as users write it in options: a pino level name (including custom ones) or a number. */
export type LevelOption = string | number

/**
 * Level names and numbers of one logger. In a transport it is built from the logger's own config
 * (`expectPinoConfig`), so custom levels work as sender thresholds.
 */
export class LevelMap {
  readonly #values: Map<string, number>

  constructor(values: Readonly<Record<string, number>> = DEFAULT_LEVELS) {
    this.#values = new Map(Object.entries(values))
  }

  /** Level number of a label, or undefined. */
  valueOf(label: string): number | undefined {
    return this.#values.get(label)
  }

  /** Label of a level number (the first one defined, if several share it), or undefined. */
  labelOf(level: number): string | undefined {
    for (const [label, value] of this.#values) if (value === level) return label
    return undefined
  }

  /**
   * Resolves a level option to a number. `'silent'` means "never", as in pino.
   * @throws ConfigError naming `path` when the name is unknown.
   */
  resolve(level: LevelOption, path: string): number {
    if (typeof level === 'number') return level
    if (level === 'silent') return Number.POSITIVE_INFINITY
    const value = this.#values.get(level)
    if (value === undefined) {
      throw new ConfigError(
        `pino-courier: invalid options: ${path}: unknown level "${level}" (known: ${[...this.#values.keys()].join(', ')})`,
        { paths: [path] },
      )
    }
    return value
  }
}
