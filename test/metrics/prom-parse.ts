/**
 * A small parser of the Prometheus text format for the metrics tests: `name{labels} value` per line,
 * `# HELP`/`# TYPE` lines read for the family types, and checks that each TYPE line precedes its samples,
 * that no series appears twice and that every value is a number.
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
    if (!types.has(name)) throw new Error(`sample of ${name} before its TYPE line`)
    const labels: Record<string, string> = {}
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))
    }
    const series = `${name}{${Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
    if (seen.has(series)) throw new Error(`duplicate series ${series}`)
    seen.add(series)
    if (!/^(?:[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|Inf)|NaN)$/i.test(match[3] as string)) throw new Error(`bad value: ${JSON.stringify(line)}`)
    samples.push({ name, labels, value: Number(match[3]) })
  }
  return {
    samples,
    types,
    value(name, labels = {}) {
      const found = samples.find(
        (s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )
      return found?.value
    },
  }
}
