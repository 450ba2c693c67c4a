/**
 * The subject a record is published to: a fixed subject (`logs.api`) or a template filled from each
 * record (`logs.{service}.{level}`). Checked at start-up; values from records are made into valid
 * subject tokens here, so a record can never produce a subject the server refuses or one a wildcard
 * would read differently.
 */
import type { LogRecord } from '../../input/record.js'
import type { RecordFields } from '../shared/record-fields.js'
import { fieldPath, fieldValue, type FieldPath } from '../shared/field-path.js'

/** Default of `subjectFallback`: the token a placeholder becomes when the record has no such field. */
export const DEFAULT_SUBJECT_FALLBACK = 'unknown'

/**
 * Longest value a placeholder puts into a subject (UTF-16 units), cut beyond it. A subject travels in
 * the protocol's control line, whose default limit is 4 KiB (`max_control_line`): a server that reads
 * a longer one closes the connection, which would fail every record in flight with it.
 */
export const MAX_SUBJECT_VALUE_LENGTH = 128

/** Whitespace and control characters (the server splits the protocol line on them), `.`, `*` and `>`. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\s\u0000-\u001f\u007f.*>]/gu

/** A record value made into one subject token: unsafe characters become `_`; '' when nothing is left. */
export function subjectToken(value: string): string {
  const cut = value.length > MAX_SUBJECT_VALUE_LENGTH ? value.slice(0, MAX_SUBJECT_VALUE_LENGTH) : value
  return cut.replace(UNSAFE, '_')
}

/** Why `token` cannot be the fallback token, or undefined. */
export function fallbackProblem(token: string): string | undefined {
  if (token === '') return 'must not be empty'
  if (subjectToken(token) !== token) return `"${token}" is not a subject token (no spaces, control characters, '.', '*' or '>')`
  return undefined
}

type Part = { readonly text: string } | { readonly field: string; readonly at: FieldPath }

/** A parsed `subject` option. */
export class SubjectTemplate {
  /** The option as given. */
  readonly pattern: string
  /** True when the subject is the same for every record. */
  readonly fixed: boolean
  /** True when a placeholder other than `{level}` needs the record's parsed value. */
  readonly readsFields: boolean
  readonly #parts: readonly Part[]
  readonly #fallback: string

  private constructor(pattern: string, parts: Part[], fallback: string) {
    this.pattern = pattern
    this.#parts = parts
    this.#fallback = fallback
    this.fixed = parts.every((part) => 'text' in part)
    this.readsFields = parts.some((part) => 'field' in part && part.field !== 'level')
  }

  /**
   * Parses and checks a subject option; returns the template or why it is not one. Literal text must
   * make valid tokens: no empty token (`a..b`, a leading or trailing `.`), no whitespace, no `*` or
   * `>` token (wildcards: a publish subject is a literal). `{name}` is a placeholder: `{level}` the
   * record's level name, anything else a record field path (a top-level key first, else a dotted path
   * into nested objects).
   */
  static parse(pattern: string, fallback = DEFAULT_SUBJECT_FALLBACK): SubjectTemplate | string {
    if (pattern === '') return 'must not be empty'
    const parts: Part[] = []
    let at = 0
    while (at < pattern.length) {
      const open = pattern.indexOf('{', at)
      const close = pattern.indexOf('}', at)
      if (close !== -1 && (open === -1 || close < open)) return `has a '}' without its '{' at ${close}`
      if (open === -1) {
        parts.push({ text: pattern.slice(at) })
        break
      }
      if (open > at) parts.push({ text: pattern.slice(at, open) })
      if (close === -1) return `has a '{' without its '}' at ${open}`
      const field = pattern.slice(open + 1, close)
      if (field === '' || /[{\s]/.test(field)) return `has a placeholder '{${field}}' that is not a field name`
      parts.push({ field, at: fieldPath(field) })
      at = close + 1
    }
    // Check the literal text as it stands around placeholders that all render as one safe token.
    const sample = parts.map((part) => ('text' in part ? part.text : 'x')).join('')
    if (/\s/.test(sample)) return 'must not contain whitespace'
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(sample)) return 'must not contain control characters'
    for (const token of sample.split('.')) {
      if (token === '') return "must not have an empty token (a leading or trailing '.', or '..')"
      if (token === '*' || token === '>') return `must not contain the wildcard token '${token}' (a publish subject is a literal)`
    }
    return new SubjectTemplate(pattern, parts, fallback)
  }

  /** The subject of `record` (the fixed subject when there is no placeholder). */
  render(record: LogRecord | undefined, fields: RecordFields): string {
    if (this.fixed || record === undefined) return this.fixed ? this.pattern : this.#withFallbacks()
    const value = this.readsFields ? safeValue(record) : undefined
    let subject = ''
    for (const part of this.#parts) {
      if ('text' in part) {
        subject += part.text
        continue
      }
      const raw = part.field === 'level' ? fields.levelLabel(record.level) : valueAt(value, part.at)
      const token = raw === undefined ? '' : subjectToken(raw)
      subject += token === '' ? this.#fallback : token
    }
    return subject
  }

  #withFallbacks(): string {
    return this.#parts.map((part) => ('text' in part ? part.text : this.#fallback)).join('')
  }
}

function safeValue(record: LogRecord): Record<string, unknown> | undefined {
  try {
    return record.value()
  } catch {
    return undefined
  }
}

/** A field's value as text: strings, finite numbers and booleans; anything else is no value. */
function valueAt(value: Record<string, unknown> | undefined, at: FieldPath): string | undefined {
  if (value === undefined) return undefined
  const found = fieldValue(value, at)
  if (typeof found === 'string') return found
  if ((typeof found === 'number' && Number.isFinite(found)) || typeof found === 'boolean') return String(found)
  return undefined
}
