/**
 * A small parser of the Prometheus text format for the metrics tests: `name{labels} value` per line,
 * `# HELP`/`# TYPE` lines read for the family types, and checks that each TYPE line precedes its samples,
 * that no series appears twice and that every value is a number. A histogram family's samples are its
 * `_bucket`, `_sum` and `_count` series; each histogram is checked: `le` ascending and ending at `+Inf`,
 * bucket counts cumulative, the `+Inf` bucket equal to `_count`, and a `_sum`.
 */

/** One sample line. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The samples and family types of a scrape. */
export interface Scrape {
  readonly samples: readonly Sample[]
  readonly types: ReadonlyMap<string, string>
  /** One sample's value by name and labels; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined
  /** One histogram by family name and labels (without `le`); undefined when absent. */
  histogram(name: string, labels?: Record<string, string>): ParsedHistogram | undefined
}

/** A histogram as scraped: cumulative buckets by upper bound (`+Inf` last), sum and count. */
export interface ParsedHistogram {
  readonly buckets: readonly { readonly le: number; readonly count: number }[]
  readonly sum: number
  readonly count: number
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const

/** The family a sample belongs to: itself, or the histogram it is a `_bucket`/`_sum`/`_count` of. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length)
      if (types.get(base) === 'histogram') return base
    }
  }
  return name
}

/** A series key: name and labels, sorted. */
function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
}

/** Gathers and checks every histogram of a scrape, by family name and labels without `le`. */
function histogramsOf(samples: readonly Sample[], types: ReadonlyMap<string, string>): Map<string, ParsedHistogram> {
  const found = new Map<string, { buckets: { le: number; count: number }[]; sum?: number; count?: number }>()
  for (const sample of samples) {
    const family = familyOf(sample.name, types)
    if (family === sample.name) {
      if (types.get(family) === 'histogram') throw new Error(`a histogram sample without a suffix: ${family}`)
      continue
    }
    const { le, ...rest } = sample.labels
    const key = seriesKey(family, rest)
    const entry = found.get(key) ?? { buckets: [] }
    found.set(key, entry)
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${key}: a bucket without le`)
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)
      if (Number.isNaN(bound)) throw new Error(`${key}: bad le ${le}`)
      const last = entry.buckets.at(-1)
      if (last && !(bound > last.le)) throw new Error(`${key}: le ${le} not above the previous bucket's`)
      if (last && sample.value < last.count) throw new Error(`${key}: bucket le=${le} not cumulative`)
      entry.buckets.push({ le: bound, count: sample.value })
    } else if (le !== undefined) throw new Error(`${key}: le on ${sample.name}`)
    else if (sample.name.endsWith('_sum')) entry.sum = sample.value
    else entry.count = sample.value
  }
  const histograms = new Map<string, ParsedHistogram>()
  for (const [key, entry] of found) {
    const inf = entry.buckets.at(-1)
    if (!inf || inf.le !== Number.POSITIVE_INFINITY) throw new Error(`${key}: no +Inf bucket`)
    if (entry.count === undefined || entry.sum === undefined) throw new Error(`${key}: no _count or _sum`)
    if (inf.count !== entry.count) throw new Error(`${key}: +Inf bucket ${inf.count} is not _count ${entry.count}`)
    histograms.set(key, { buckets: entry.buckets, sum: entry.sum, count: entry.count })
  }
  return histograms
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const seen = new Set<string>()
  const lines = text.split('\n')
  if (lines.pop() !== '') throw new Error('the text must end with a newline')
  for (const line of lines) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ')
      if (!name || !type) throw new Error(`bad TYPE line: ${line}`)
      if (types.has(name)) throw new Error(`second TYPE line for ${name}`)
      if (samples.some((s) => s.name === name)) throw new Error(`TYPE line for ${name} after its samples`)
      types.set(name, type)
      continue
    }
    if (line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`bad sample line: ${JSON.stringify(line)}`)
    const name = match[1] as string
    if (!types.has(familyOf(name, types))) throw new Error(`sample of ${name} before its TYPE line`)
    const labels: Record<string, string> = {}
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))
    }
    const series = seriesKey(name, labels)
    if (seen.has(series)) throw new Error(`duplicate series ${series}`)
    seen.add(series)
    if (!/^(?:[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|Inf)|NaN)$/i.test(match[3] as string)) throw new Error(`bad value: ${JSON.stringify(line)}`)
    samples.push({ name, labels, value: Number(match[3]) })
  }
  const histograms = histogramsOf(samples, types)
  return {
    samples,
    types,
    histogram(name, labels = {}) {
      return histograms.get(seriesKey(name, labels))
    },
    value(name, labels = {}) {
      const found = samples.find(
        (s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )
      return found?.value
    },
  }
}
