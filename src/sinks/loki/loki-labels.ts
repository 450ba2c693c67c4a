/**
 * Which labels a Loki stream gets and which fields become an entry's structured metadata: the rules
 * for names (checked at start-up), how a record field path becomes a label name, and how a record's
 * values are read and written as the JSON of a stream or of structured metadata.
 */
import { ConfigError } from '../../config/config-error.js'
import { fieldPath, type FieldPath } from '../shared/field-path.js'

/**
 * Why Loki would refuse `tenant` as an `X-Scope-OrgID`, or undefined when it takes it (dskit's
 * tenant.ValidTenantID, which Loki checks on every push: a 400 for each one).
 */
export function tenantProblem(tenant: string): string | undefined {
  const bad = /[^a-zA-Z0-9!\-_.*'()]/.exec(tenant)
  if (bad !== null) return `Loki refuses the character '${bad[0]}' in a tenant ID (it takes a-z A-Z 0-9 and ! - _ . * ' ( ))`
  if (tenant.length > 150) return `Loki refuses tenant IDs over 150 characters (this one has ${tenant.length})`
  if (tenant === '.' || tenant === '..') return `Loki refuses the tenant IDs '.' and '..'`
  return undefined
}

/**
 * Loki's rule for a label name (Prometheus's): `[a-zA-Z_][a-zA-Z0-9_]*`. Names starting with `__` are
 * reserved for Loki's internal labels and are refused here too.
 */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Why a label name is refused, or undefined when Loki takes it. */
export function labelNameProblem(name: string): string | undefined {
  if (!LABEL_NAME.test(name)) return `"${name}" is not a Loki label name (it must match [a-zA-Z_][a-zA-Z0-9_]*)`
  if (name.startsWith('__')) return `"${name}" starts with "__", which Loki reserves for its own labels`
  return undefined
}

/**
 * The label name of a record field path given in a list (`labelKeys: ['app', 'req.method']`): the
 * path with its dots made underscores (`req.method` → `req_method`). A path whose name is still not a
 * valid label name (`req-id`, `0x`) is refused at start-up: name its label yourself with the object
 * form (`labelKeys: { req_id: 'req-id' }`).
 */
export function labelNameOfPath(path: string): string {
  return path.replace(/\./g, '_')
}

/** Field paths as the options give them: a list of paths (names from the paths) or `{ name: path }`. */
export type FieldKeys = readonly string[] | Readonly<Record<string, string>>

/** One field read from records: the name it goes under, and where it is in the record. */
export interface FieldKey extends FieldPath {
  readonly name: string
}

/** The issues of a FieldKeys option, as `[path within the option, message]` pairs (none when valid). */
export function fieldKeyIssues(keys: FieldKeys): [string | number, string][] {
  const issues: [string | number, string][] = []
  for (const [at, { name, path }] of fieldEntries(keys)) {
    const problem = labelNameProblem(name)
    if (problem === undefined) continue
    const hint = Array.isArray(keys)
      ? `: dots become underscores (req.method → req_method); for other characters give the name yourself, e.g. { ${safeName(path)}: '${path}' }`
      : ''
    issues.push([at, `${problem}${hint}`])
  }
  return issues
}

/** The names and paths of a FieldKeys option (unchecked), with each one's place in the option. */
function fieldEntries(keys: FieldKeys): [string | number, { name: string; path: string }][] {
  if (Array.isArray(keys)) return (keys as readonly string[]).map((path, i) => [i, { name: labelNameOfPath(path), path }])
  return Object.entries(keys as Record<string, string>).map(([name, path]) => [name, { name, path }])
}

function safeName(path: string): string {
  const name = path.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[0-9]/.test(name) ? `_${name}` : name
}

/** The fields a FieldKeys option names (checked by the schema already), in its order. */
export function fieldKeys(keys: FieldKeys | undefined): FieldKey[] {
  return fieldEntries(keys ?? []).map(([, { name, path }]) => ({ name, ...fieldPath(path) }))
}

/**
 * Default of `maxLabelNames`: Loki's default `max_label_names_per_series` (15). Loki refuses every entry
 * of a stream with more label names (`service_name` not counted, since Loki 3 adds it itself).
 */
export const DEFAULT_MAX_LABEL_NAMES = 15

/**
 * Checks the label names of the options against each other (each option's own names are checked by
 * the schema): two sources of one name would make one of them silently win; and their number against
 * Loki's limit of label names per stream. Throws a ConfigError naming the option at fault.
 */
export function checkLabelNames(
  labels: Readonly<Record<string, string>>,
  keys: FieldKeys | undefined,
  levelLabel: string | false,
  maxLabelNames = DEFAULT_MAX_LABEL_NAMES,
): void {
  const issues: { path: string; message: string }[] = []
  const seen = new Map<string, string>()
  const add = (name: string, path: string): void => {
    const first = seen.get(name)
    if (first === undefined) seen.set(name, path)
    else issues.push({ path, message: `the label "${name}" is set by ${first} already` })
  }
  for (const name of Object.keys(labels)) add(name, `labels.${name}`)
  for (const [at, { name }] of fieldEntries(keys ?? [])) add(name, typeof at === 'number' ? `labelKeys[${at}]` : `labelKeys.${at}`)
  if (levelLabel !== false) add(levelLabel, 'levelLabel')
  if (Object.keys(labels).length === 0 && levelLabel === false) {
    // Loki refuses a stream without labels ("at least one label pair is required per stream"), and a
    // record without the labelKeys fields would make one.
    issues.push({ path: 'labels', message: 'every stream needs a label: set labels (e.g. { app: "api" }) or keep levelLabel' })
  }
  // A record with every labelKeys field has them all; service_name is not counted, as Loki 3 does not.
  const names = seen.size - (seen.has('service_name') ? 1 : 0)
  if (names > maxLabelNames) {
    const keyCount = fieldEntries(keys ?? []).length
    issues.push({
      path: keyCount > 0 ? 'labelKeys' : 'labels',
      message:
        `streams would have up to ${names} label names (labels: ${Object.keys(labels).length}, labelKeys: ${keyCount}, ` +
        `levelLabel: ${levelLabel === false ? 0 : 1}), more than ${maxLabelNames}: Loki refuses every entry of such a stream ` +
        `(its default max_label_names_per_series is ${DEFAULT_MAX_LABEL_NAMES}). Use fewer labels (send fields as ` +
        `structuredMetadataKeys, or leave them in the line), or raise Loki's limit and maxLabelNames together`,
    })
  }
  if (issues.length > 0) {
    throw new ConfigError(`pino-courier: invalid options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      paths: issues.map((i) => i.path),
    })
  }
}

/**
 * A field's value as a label value: strings as they are, numbers and booleans as text; anything else
 * (objects, arrays, null) and the empty string give no label (Loki drops empty label values).
 */
export function labelValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return undefined
}

/** A field's value as structured metadata: like a label value, with objects and arrays as their JSON. */
export function metadataValue(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return labelValue(value)
}
