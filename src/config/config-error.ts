import type { z } from 'zod'
import { closestName, optionNamesAt } from './did-you-mean.js'

/**
 * Thrown at start-up when options are invalid. The message names every offending option path,
 * e.g. `senders[0].url: Invalid URL`, so the error is actionable when it surfaces in the main
 * thread of a pino transport. The original `ZodError` (if any) is kept as `cause`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** Option paths that failed, in the `a.b[0].c` notation used in the message. */
  readonly paths: readonly string[]

  constructor(message: string, options: { paths?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.paths = options.paths ?? []
  }

  /**
   * Builds a ConfigError from a ZodError, prefixing every path with `prefix` (e.g. `senders[2]`). With
   * the `schema` that failed, an unknown option gets the nearest name it takes ("did you mean …?");
   * with the `input` it failed on too, only names of the branch it took (its sender type).
   */
  static fromZod(error: z.ZodError, prefix = '', schema?: z.ZodType, input?: unknown): ConfigError {
    const root = splitPrefix(prefix)
    const unknown = (at: PropertyKey[], key: string): string => {
      const near = schema === undefined ? undefined : closestName(key, optionNamesAt(schema, at.slice(root.length), input))
      return near === undefined ? 'unknown option' : `unknown option (did you mean "${near}"?)`
    }
    const paths: string[] = []
    const lines: string[] = []
    const add = (path: string, message: string): void => {
      paths.push(path)
      lines.push(path ? `${path}: ${message}` : message)
    }
    const visit = (issue: z.core.$ZodIssue, parent: PropertyKey[]): void => {
      const base = [...parent, ...issue.path]
      if (issue.code === 'unrecognized_keys') {
        // zod reports a misspelt key at its parent; name the key itself, as a user would look for it.
        for (const key of issue.keys) add(formatOptionPath([...base, key]), unknown(base, key))
      } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        // `{ ... } | false` and the like: report the branch that got furthest into the value (the
        // object's bad field), not a bare "Invalid input" at the union.
        const depth = (branch: readonly z.core.$ZodIssue[]): number => Math.max(-1, ...branch.map((i) => i.path.length))
        const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a))
        for (const inner of best) visit(inner, base)
      } else {
        add(formatOptionPath(base), issue.message)
      }
    }
    for (const issue of error.issues) visit(issue, root)
    return new ConfigError(`pino-courier: invalid options: ${lines.join('; ')}`, { paths, cause: error })
  }
}

/** Formats `['senders', 0, 'url']` as `senders[0].url`. */
export function formatOptionPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out
}

function splitPrefix(prefix: string): PropertyKey[] {
  if (!prefix) return []
  const parts: PropertyKey[] = []
  for (const match of prefix.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) parts.push(Number(match[2]))
    else if (match[1] !== undefined) parts.push(match[1])
  }
  return parts
}
