import { parseArgs, type ParseArgsConfig } from 'node:util'
import { closestName } from '../config/did-you-mean.js'
import { UsageError } from './usage-error.js'

type FlagOptions = NonNullable<ParseArgsConfig['options']>

/** What {@link parseFlags} returns: the flags' values by name, and the positional arguments. */
export interface ParsedFlags {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>
  readonly positionals: string[]
}

/**
 * node:util parseArgs, strict, with its errors turned into a {@link UsageError} a person can act on:
 * an unknown flag gets the closest known one ("did you mean --url?"), a flag without its value is
 * named. `maxPositionals` bounds the bare arguments (0 for the pipe command).
 */
export function parseFlags(args: readonly string[], options: FlagOptions, maxPositionals = 0): ParsedFlags {
  let parsed: ParsedFlags
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true }) as ParsedFlags
  } catch (error) {
    throw usageFrom(error, options)
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals[maxPositionals] ?? ''
    throw new UsageError(`unexpected argument "${extra}"`)
  }
  return parsed
}

function usageFrom(error: unknown, options: FlagOptions): UsageError {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // Node's message: "Unknown option '--urll'. ..." (or "'-x'"); only the flag itself is reused.
    const flag = /'(-{1,2}[^'=]+)/.exec(message)?.[1] ?? message
    const name = flag.replace(/^-+/, '')
    const near = closestName(name, Object.keys(options))
    return new UsageError(`unknown flag ${flag}${near === undefined ? '' : ` (did you mean --${near}?)`}`)
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '--url <value>' argument missing" or "Option '--echo' does not take an argument".
    const flag = /'(-{1,2}[\w-]+)/.exec(message)?.[1]
    if (flag && /argument missing/.test(message)) return new UsageError(`${flag} needs a value`)
    if (flag && /does not take an argument/.test(message)) return new UsageError(`${flag} takes no value`)
  }
  return new UsageError(message)
}
