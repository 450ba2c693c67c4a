/**
 * The flags every pino-courier command shares (--url, --config, --header and the logger settings a
 * pipe cannot carry) and how they become courier options: the transport's own options, validated by
 * the transport's own schema (errors name `senders[0].url`), with the CLI's defaults underneath.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config/config-error.js'
import { DEFAULT_LEVELS } from '../config/levels.js'
import { parseTransportOptions, type ResolvedTransportOptions } from '../config/transport-options.js'
import type { BatchOptions, QueueOptions } from '../config/delivery-options.js'
import { errorMessage } from '../error-message.js'
import { UsageError } from './usage-error.js'

export { UsageError }

/** node:util parseArgs options of the shared flags: spread them into a command's own. */
export const SHARED_FLAGS = Object.freeze({
  url: { type: 'string' },
  config: { type: 'string' },
  header: { type: 'string', multiple: true },
  'level-key': { type: 'string' },
  'message-key': { type: 'string' },
  'custom-levels': { type: 'string' },
} as const)

/** The shared flags' part of a command's --help. */
export const SHARED_FLAGS_USAGE = `  --url URL                  one http sender posting NDJSON to URL
  --config FILE              JSON file with the transport's options ({ "senders": [...], ... })
  --header 'Name: value'     request header of the --url sender (repeatable)
  --level-key KEY            key holding the level in the lines (pino's formatters.level) [level]
  --message-key KEY          key holding the message (pino's messageKey) [msg]
  --custom-levels LIST       the logger's custom levels, 'name:number,...' (e.g. audit:35,notice:32)`

/**
 * The CLI's queue defaults, under the config's own: a pipe waits for room instead of dropping
 * (`block`), and a queue of 4 MiB / 20,000 records per sender, with batches of at most 512 KiB (the
 * http sender has 8 of them in flight), keeps the process under 100 MB of memory however long the
 * input is. Half of that is Node and the library loaded, idle.
 */
export const CLI_QUEUE_DEFAULTS: Readonly<Required<Pick<QueueOptions, 'overflow' | 'maxBytes' | 'maxRecords' | 'maxBlockMs'>>> = Object.freeze({
  overflow: 'block',
  maxBytes: 4 * 1024 * 1024,
  maxRecords: 20_000,
  // The block window (how long a sender pauses the reader before it gives up and drops) at its
  // largest; the pipe command also waits on its own past it (see pipe-reader.ts), so nothing drops.
  maxBlockMs: 9000,
})

/** The CLI's batch defaults, under the config's own (see {@link CLI_QUEUE_DEFAULTS}). */
export const CLI_BATCH_DEFAULTS: Readonly<Required<Pick<BatchOptions, 'maxBytes'>>> = Object.freeze({
  maxBytes: 512 * 1024,
})

/** What the shared flags resolve to: everything createCliCourier needs. */
export interface CliCourierOptions {
  /** The transport's options, validated, senders named, the CLI's queue and batch defaults as the lowest layer. */
  readonly transport: ResolvedTransportOptions
  /** The logger's levels: pino's defaults and `--custom-levels`. */
  readonly levels: Readonly<Record<string, number>>
  /** The logger's message key (`--message-key`). @default 'msg' (none set) */
  readonly messageKey?: string | undefined
  /** Where the senders came from, for messages: `--url` or `--config FILE`. Never holds a secret. */
  readonly source: string
}

/** The values parseArgs gives for {@link SHARED_FLAGS} (other flags may be there too). */
export interface SharedFlagValues {
  readonly url?: string | undefined
  readonly config?: string | undefined
  readonly header?: readonly string[] | undefined
  readonly 'level-key'?: string | undefined
  readonly 'message-key'?: string | undefined
  readonly 'custom-levels'?: string | undefined
  readonly [flag: string]: unknown
}

/**
 * Turns the shared flags into courier options. `--config` loads the file; `--url` and `--header`
 * then make or override its first sender (an http one); `--level-key` overrides the file's levelKey.
 * Throws a {@link UsageError} naming the flag or the file, or a ConfigError naming the option path.
 */
export function courierOptionsFromFlags(values: SharedFlagValues): CliCourierOptions {
  const { url, config } = values
  if (url === undefined && config === undefined) throw new UsageError('give --url URL or --config FILE (see --help)')
  const raw = config === undefined ? { senders: [] as unknown[] } : readConfigFile(config)
  const headers = parseHeaders(values.header ?? [])
  if (url !== undefined) checkUrl(url)
  if (url !== undefined || headers) raw.senders = withUrlSender(raw.senders, url, headers, config)
  const levelKey = nonEmpty(values['level-key'], '--level-key')
  if (levelKey !== undefined) raw.levelKey = levelKey
  const messageKey = nonEmpty(values['message-key'], '--message-key')
  const custom = values['custom-levels'] === undefined ? {} : parseCustomLevels(values['custom-levels'])
  const parsed = parseTransportOptions(raw)
  return {
    transport: { ...parsed, queue: { ...CLI_QUEUE_DEFAULTS, ...parsed.queue }, batch: { ...CLI_BATCH_DEFAULTS, ...parsed.batch } },
    levels: { ...DEFAULT_LEVELS, ...custom },
    messageKey,
    source: config === undefined ? '--url' : `--config ${config}`,
  }
}

/** The file's JSON object; a missing, unreadable or non-JSON file is a usage error naming it. */
function readConfigFile(file: string): Record<string, unknown> & { senders?: unknown } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : errorMessage(error)
    throw new UsageError(`--config ${file}: cannot read it (${why})`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    // JSON.parse's message names the position, never the content around it.
    throw new UsageError(`--config ${file}: not valid JSON (${errorMessage(error)})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--config ${file}: must hold a JSON object with the transport's options ({ "senders": [...] })`)
  }
  return { ...(value as Record<string, unknown>) }
}

/** A URL the http sender can post to; the message never repeats it (it may hold credentials). */
function checkUrl(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError('--url: not a valid URL (expected http://host[:port]/path)')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url: the protocol must be http: or https: (got ${parsed.protocol})`)
  }
}

/**
 * `--header 'Name: value'` flags as a headers object (undefined when none). Names are checked as
 * HTTP tokens; values are never repeated in a message (an Authorization header is a secret).
 */
function parseHeaders(flags: readonly string[]): Record<string, string> | undefined {
  if (flags.length === 0) return undefined
  const headers: Record<string, string> = {}
  for (const flag of flags) {
    const colon = flag.indexOf(':')
    const name = (colon < 0 ? flag : flag.slice(0, colon)).trim()
    if (colon < 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      const shown = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) ? ` "${name}"` : ''
      throw new UsageError(`--header${shown}: expected 'Name: value'`)
    }
    const value = flag.slice(colon + 1).trim()
    // What node's http refuses on every request (a control character, a newline): refused now, once.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) throw new UsageError(`--header "${name}": the value holds a character a header cannot carry`)
    headers[name.toLowerCase()] = value
  }
  return headers
}

/**
 * The senders with --url/--header applied: without a config, one http sender (NDJSON); with one, the
 * flags override its first sender, which must be an http sender (its other options are kept).
 */
function withUrlSender(senders: unknown, url: string | undefined, headers: Record<string, string> | undefined, config: string | undefined): unknown[] {
  if (config === undefined) {
    if (url === undefined) throw new UsageError('--header needs --url (or a --config whose first sender is http)')
    return [{ type: 'http', url, format: 'ndjson', ...(headers ? { headers } : {}) }]
  }
  // Not an array: the schema names `senders` below.
  if (!Array.isArray(senders)) return senders as unknown[]
  const first = senders[0] as { type?: unknown; headers?: unknown } | undefined
  const flags = url !== undefined ? '--url' : '--header'
  if (typeof first !== 'object' || first === null || first.type !== 'http') {
    throw new UsageError(`${flags} with --config ${config}: overrides the first sender, which must be of type "http" (senders[0])`)
  }
  const own = typeof first.headers === 'object' && first.headers !== null ? first.headers : {}
  const overridden = { ...first, ...(url !== undefined ? { url } : {}), ...(headers ? { headers: { ...own, ...headers } } : {}) }
  return [overridden, ...senders.slice(1)]
}

/** `audit:35,notice:32` as a level map; each entry checked, the flag named. */
function parseCustomLevels(list: string): Record<string, number> {
  const levels: Record<string, number> = {}
  for (const entry of list.split(',')) {
    const item = entry.trim()
    if (item === '') continue
    const match = /^([^:\s]+)\s*:\s*(-?\d+)$/.exec(item)
    if (!match) throw new UsageError(`--custom-levels: "${item}" is not name:number (e.g. audit:35)`)
    const [, name = '', number = ''] = match
    levels[name] = Number(number)
  }
  if (Object.keys(levels).length === 0) throw new UsageError("--custom-levels: no level given (e.g. 'audit:35,notice:32')")
  return levels
}

function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined
  if (value.trim() === '') throw new UsageError(`${flag} needs a non-empty value`)
  return value
}

export { ConfigError }
