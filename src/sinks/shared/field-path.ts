/**
 * A record field named in the options (a Kafka key, a Loki label, a NATS subject part, a syslog
 * SD-PARAM): a top-level key named exactly `path` first, since pino keeps dotted keys as they are
 * (`logger.info({ 'req.id': 1 })`), else the dotted path through nested objects.
 */
export interface FieldPath {
  readonly path: string
  /** `path` split at its dots; empty when it has none (a top-level field only). */
  readonly steps: readonly string[]
}

export function fieldPath(path: string): FieldPath {
  return { path, steps: path.includes('.') ? path.split('.') : [] }
}

/**
 * The field's value in a record, or undefined. Only a record's own keys count: a record without a
 * `constructor` field has no such value, whatever its prototype has.
 */
export function fieldValue(value: Record<string, unknown>, key: FieldPath): unknown {
  if (Object.hasOwn(value, key.path)) {
    const direct = value[key.path]
    if (direct !== undefined) return direct
  }
  let at: unknown = value
  for (const step of key.steps) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, step)) return undefined
    at = (at as Record<string, unknown>)[step]
  }
  return key.steps.length === 0 ? undefined : at
}
