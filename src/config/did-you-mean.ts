import type { z } from 'zod'

/** What a zod schema's definition holds, as far as finding the option names under a path needs. */
interface SchemaDef {
  readonly type: string
  readonly shape?: Record<string, z.ZodType>
  readonly innerType?: z.ZodType
  readonly element?: z.ZodType
  readonly options?: readonly z.ZodType[]
  readonly valueType?: z.ZodType
  readonly in?: z.ZodType
  readonly left?: z.ZodType
  readonly right?: z.ZodType
  readonly getter?: () => z.ZodType
  readonly discriminator?: string
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def

/**
 * The option names an object at `path` of `schema` takes. Where the schema branches on a
 * discriminator (the sender types) and `input` (the value that failed) says which branch it took, the
 * names of that branch only: an http sender's misspelt key must not be "corrected" to a Kafka option
 * it does not take. Otherwise (no input, no discriminator, or one no branch accepts), every branch.
 */
export function optionNamesAt(schema: z.ZodType, path: readonly PropertyKey[], input?: unknown): Set<string> {
  const names = new Set<string>()
  // The input's value at each depth of `path` (undefined past where it ends).
  const values: unknown[] = [input]
  for (const step of path) {
    const parent = values[values.length - 1]
    values.push(typeof parent === 'object' && parent !== null && Object.hasOwn(parent, step) ? (parent as Record<PropertyKey, unknown>)[step] : undefined)
  }
  const visit = (node: z.ZodType, at: number, depth: number): void => {
    // Recursive schemas (a lazy one) would never end: no options object is nested this deep.
    if (depth > 64) return
    const def = defOf(node)
    const inner = def.innerType ?? def.in ?? (def.type === 'lazy' ? def.getter?.() : undefined)
    if (inner) return visit(inner, at, depth + 1)
    if (def.type === 'union' || def.type === 'intersection') {
      const options = def.options ?? [def.left, def.right].filter((s): s is z.ZodType => s !== undefined)
      for (const option of taken(def, options, values[at])) visit(option, at, depth + 1)
      return
    }
    if (at === path.length) {
      if (def.type === 'object' && def.shape) for (const name of Object.keys(def.shape)) names.add(name)
      return
    }
    const step = path[at]
    if (def.type === 'object' && def.shape && typeof step === 'string' && Object.hasOwn(def.shape, step)) {
      visit(def.shape[step] as z.ZodType, at + 1, depth + 1)
    } else if (def.type === 'array' && typeof step === 'number' && def.element) visit(def.element, at + 1, depth + 1)
    else if (def.type === 'record' && def.valueType) visit(def.valueType, at + 1, depth + 1)
  }
  visit(schema, 0, 0)
  return names
}

/** The branches of a discriminated union `value` took (all of them when that cannot be told). */
function taken(def: SchemaDef, options: readonly z.ZodType[], value: unknown): readonly z.ZodType[] {
  const key = def.discriminator
  if (key === undefined || typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return options
  const tag = (value as Record<string, unknown>)[key]
  const matching = options.filter((option) => {
    const field = defOf(option).shape?.[key]
    return field !== undefined && field.safeParse(tag).success
  })
  return matching.length > 0 ? matching : options
}

/**
 * The known name a misspelt one most likely meant: the same but for case, or within a few edits (about
 * one per three characters: `maxRecord` → `maxRecords`, `concurency` → `concurrency`), the closest
 * first; undefined when none is close.
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    if (candidate === name) continue
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Number.POSITIVE_INFINITY
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[]
    const up = rows[i - 1] as number[]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1)
      row[j] = d
    }
  }
  return (rows[a.length] as number[])[b.length] as number
}
