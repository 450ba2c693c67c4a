import type { z } from 'zod'

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

  /** Builds a ConfigError from a ZodError, prefixing every path with `prefix` (e.g. `senders[2]`). */
  static fromZod(error: z.ZodError, prefix = ''): ConfigError {
    const paths: string[] = []
    const lines = error.issues.map((issue) => {
      const path = formatOptionPath([...splitPrefix(prefix), ...issue.path])
      paths.push(path)
      return path ? `${path}: ${issue.message}` : issue.message
    })
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
