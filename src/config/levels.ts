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
  /**
   * Lower-cased labels, for lines whose level label is written in another case (`"ERROR"`, as
   * `formatters.level: (label) => ({ severity: label.toUpperCase() })` does). A lower-cased label
   * shared by levels of different numbers (`Info` 35 and `info` 30) is ambiguous and left out.
   */
  readonly #folded: Map<string, number>

  constructor(values: Readonly<Record<string, number>> = DEFAULT_LEVELS) {
    this.#values = new Map(Object.entries(values))
    this.#folded = new Map()
    const ambiguous = new Set<string>()
    for (const [label, value] of this.#values) {
      const folded = label.toLowerCase()
      const seen = this.#folded.get(folded)
      if (seen === undefined && !ambiguous.has(folded)) this.#folded.set(folded, value)
      else if (seen !== undefined && seen !== value) {
        this.#folded.delete(folded)
        ambiguous.add(folded)
      }
    }
  }

  /**
   * Level number of a label as a log line carries it, or undefined. An exact match wins; otherwise
   * the label matches regardless of case (`"ERROR"`, `"Error"`), unless levels that differ only in
   * case have different numbers: those must be written exactly.
   */
  valueOf(label: string): number | undefined {
    return this.#values.get(label) ?? this.#folded.get(label.toLowerCase())
  }

  /** Label of a level number (the first one defined, if several share it), or undefined. */
  labelOf(level: number): string | undefined {
    for (const [label, value] of this.#values) if (value === level) return label
    return undefined
  }

  /**
   * Resolves a level option the user wrote to a number. `'silent'` means "never", as in pino. Names
   * must match a level of the logger exactly.
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

  /**
   * Resolves a default level (one the user did not write): the logger's level of that name or, when
   * the logger has none (`useOnlyCustomLevels` without it), pino's number for the name (`error` 50,
   * `fatal` 60). A default must never make a valid pino configuration fail.
   */
  resolveDefault(level: LevelOption): number {
    if (typeof level === 'number') return level
    if (level === 'silent') return Number.POSITIVE_INFINITY
    const value = this.#values.get(level) ?? (Object.hasOwn(DEFAULT_LEVELS, level) ? DEFAULT_LEVELS[level] : undefined)
    if (value === undefined) throw new TypeError(`pino-courier: "${level}" is not one of pino's default levels`)
    return value
  }
}
