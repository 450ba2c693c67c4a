/**
 * The `index` option: a fixed index (or data stream) name, or a pattern with UTC date parts taken from
 * each record's time (`logs-%{yyyy.MM.dd}`). Checked at start-up against Elasticsearch's own rules for
 * index names, so that a bad name is a ConfigError, not a 400 for every record once logs flow.
 */

/** The date tokens a pattern may use, as in Logstash's and Joda's formats (all UTC). */
export const DATE_TOKENS = ['yyyy', 'yy', 'MM', 'dd', 'HH'] as const

type DateToken = (typeof DATE_TOKENS)[number]

/**
 * Characters Elasticsearch refuses in an index name: its `Strings.INVALID_FILENAME_CHARS`, plus `#`
 * and (since 7.0) `:` (MetadataCreateIndexService.validateIndexOrAliasName).
 */
const FORBIDDEN_CHARACTERS = ['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ':', ' ']

/** Longest index name Elasticsearch and OpenSearch accept, in UTF-8 bytes. */
export const MAX_INDEX_NAME_BYTES = 255

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

type Part = string | DateToken

/** An `index` option, parsed: renders the index name of a record logged at a given time. */
export class IndexName {
  /** The option as written. */
  readonly pattern: string
  /** True when the name has no date part: every record goes to the same index. */
  readonly fixed: boolean
  readonly #parts: readonly Part[]
  /** Length of the time slices that share a name: an hour when the pattern has `HH`, else a day. */
  readonly #sliceMs: number
  #slice = Number.NaN
  #name = ''

  private constructor(pattern: string, parts: readonly Part[]) {
    this.pattern = pattern
    this.#parts = parts
    this.fixed = parts.every((part) => !isToken(part))
    this.#sliceMs = parts.includes('HH') ? HOUR_MS : DAY_MS
    if (this.fixed) this.#name = parts.join('')
  }

  /**
   * Parses and checks `pattern`; a string saying what is wrong otherwise (the ConfigError's text).
   * @example IndexName.parse('logs-%{yyyy.MM.dd}') // renders logs-2024.05.17
   */
  static parse(pattern: string): IndexName | string {
    const parts = parseParts(pattern)
    if (typeof parts === 'string') return parts
    const index = new IndexName(pattern, parts)
    // Checked as rendered: what the date parts add is digits, so a sample date shows every rule
    // (the longest rendering of a token is the one the sample gives).
    const problem = nameProblem(index.render(Date.UTC(2024, 11, 31, 23)))
    return problem ? `invalid index name "${pattern}": ${problem}` : index
  }

  /** The index of a record logged at `ms` (UTC). Consecutive records share the last name made. */
  render(ms: number): string {
    if (this.fixed) return this.#name
    const slice = Math.floor(ms / this.#sliceMs)
    if (slice !== this.#slice) {
      this.#slice = slice
      this.#name = renderParts(this.#parts, new Date(slice * this.#sliceMs))
    }
    return this.#name
  }
}

function isToken(part: Part): part is DateToken {
  return (DATE_TOKENS as readonly string[]).includes(part)
}

/** Literal text and date tokens, or why the pattern cannot be read. */
function parseParts(pattern: string): Part[] | string {
  const parts: Part[] = []
  let rest = pattern
  while (rest !== '') {
    const open = rest.indexOf('%{')
    if (open < 0) {
      parts.push(rest)
      break
    }
    if (open > 0) parts.push(rest.slice(0, open))
    const close = rest.indexOf('}', open)
    if (close < 0) return `unclosed "%{" in "${pattern}"`
    // `%{+yyyy.MM.dd}` is Logstash's spelling of the same thing: accepted for people coming from it.
    const format = rest.slice(open + 2, close).replace(/^\+/, '')
    if (format === '') return `empty "%{}" in "${pattern}"`
    const tokens = parseFormat(format)
    if (typeof tokens === 'string') return `${tokens} in "${pattern}" (known: ${DATE_TOKENS.join(', ')}, in UTC)`
    parts.push(...tokens)
    rest = rest.slice(close + 1)
  }
  return parts
}

/** The tokens and separators of one `%{…}`; letters that are no token are refused (`DD`, `mm`, `YYYY`). */
function parseFormat(format: string): Part[] | string {
  const parts: Part[] = []
  for (let i = 0; i < format.length; ) {
    const token = DATE_TOKENS.find((t) => format.startsWith(t, i))
    if (token) {
      parts.push(token)
      i += token.length
      continue
    }
    const char = format[i] as string
    if (/[A-Za-z]/.test(char)) {
      const run = /^[A-Za-z]+/.exec(format.slice(i))?.[0] ?? char
      return `unknown date token "${run}"`
    }
    parts.push(char)
    i++
  }
  return parts
}

function renderParts(parts: readonly Part[], date: Date): string {
  let name = ''
  for (const part of parts) {
    switch (part) {
      case 'yyyy':
        name += String(date.getUTCFullYear()).padStart(4, '0')
        break
      case 'yy':
        name += String(date.getUTCFullYear() % 100).padStart(2, '0')
        break
      case 'MM':
        name += String(date.getUTCMonth() + 1).padStart(2, '0')
        break
      case 'dd':
        name += String(date.getUTCDate()).padStart(2, '0')
        break
      case 'HH':
        name += String(date.getUTCHours()).padStart(2, '0')
        break
      default:
        name += part
    }
  }
  return name
}

/** What Elasticsearch would refuse in `name` (its validateIndexOrAliasName and validateIndexName), if anything. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty'
  const forbidden = FORBIDDEN_CHARACTERS.find((char) => name.includes(char))
  if (forbidden !== undefined) return `must not contain ${forbidden === ' ' ? 'spaces' : `"${forbidden}"`} (nor any of \\ / * ? " < > | , # : or a space)`
  if (/^[-_+]/.test(name)) return `must not start with "_", "-" or "+"`
  if (name === '.' || name === '..') return `must not be "." or ".."`
  if (name !== name.toLowerCase()) return 'must be lowercase'
  const bytes = Buffer.byteLength(name)
  if (bytes > MAX_INDEX_NAME_BYTES) return `is too long (${bytes} > ${MAX_INDEX_NAME_BYTES} bytes)`
  return undefined
}
