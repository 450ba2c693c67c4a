/**
 * What the README and docs/options.md say against what the code does: the delivery defaults (the
 * general ones and every sender type's own), the top-level defaults, the sender types in the
 * Destinations table, the CLI flags against `--help`, and the README's order for a newcomer (issue 14).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_STATS_INTERVAL_MS, MAX_TRANSPORT_CLOSE_TIMEOUT_MS } from '../../src/config/defaults.js'
import { resolveDeliveryOptions } from '../../src/config/resolve.js'
import { SINK_TYPES } from '../../src/sinks/registry.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const options = readFileSync(join(root, 'docs/options.md'), 'utf8')

/** The numeric delivery options, by their dotted path. */
const FIELDS = {
  queue: ['maxRecords', 'maxBytes', 'maxRecordBytes', 'maxBlockMs'],
  batch: ['maxRecords', 'maxBytes', 'maxWaitMs'],
  pool: ['concurrency', 'timeoutMs'],
  retry: ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'maxRetryTimeMs', 'maxRetryAfterMs'],
  group: ['maxGroups', 'idleMs'],
} as const

function values(resolved: ReturnType<typeof resolveDeliveryOptions>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [group, names] of Object.entries(FIELDS)) {
    const section = resolved[group as keyof typeof FIELDS] as unknown as Record<string, number>
    for (const name of names) out.set(`${group}.${name}`, section[name] as number)
  }
  return out
}

/** The ways the docs write a number: `5000`, 1 MiB, 512 KiB. */
function spellings(n: number): string[] {
  const out = [`\`${n}\``]
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) out.push(`${n / (1024 * 1024)} MiB`)
  if (n >= 1024 && n % 1024 === 0) out.push(`${n / 1024} KiB`)
  return out
}

/** The table rows (`| ... |` lines) whose first cell names `field` in backticks. */
function rowsNaming(text: string, field: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('| ') && (line.split('|')[1] ?? '').includes(`\`${field}\``))
}

const general = values(resolveDeliveryOptions())
const ownDefaults = SINK_TYPES.flatMap((sinkType) => {
  if (!sinkType.defaults) return []
  const own = values(resolveDeliveryOptions(sinkType.defaults))
  return [...own].filter(([field, value]) => general.get(field) !== value).map(([field, value]) => ({ type: sinkType.type, field, value }))
})

describe('docs/options.md: the defaults of every sender', () => {
  it.each([...general])('%s: the general default is %d', (field, value) => {
    const rows = rowsNaming(options, field)
    expect(rows, field).toHaveLength(1)
    const cells = (rows[0] ?? '').split('|')
    expect(spellings(value).some((s) => (cells[2] ?? '').trim().startsWith(s)), `${field}: ${cells[2]}`).toBe(true)
  })

  it.each(ownDefaults)('$field of type $type is $value', ({ type, field, value }) => {
    const row = rowsNaming(options, field)[0] ?? ''
    const cell = row.split('|')[2] ?? ''
    expect(cell, field).toContain(type)
    expect(spellings(value).some((s) => cell.includes(s)), `${field}: ${cell}`).toBe(true)
  })
})

describe('README: the options tables', () => {
  it.each([...general].filter(([field]) => rowsNaming(readme, field).length > 0))('%s: the general default is %d', (field, value) => {
    const row = rowsNaming(readme, field)[0] ?? ''
    expect(spellings(value).some((s) => row.includes(s)), `${field}: ${row}`).toBe(true)
  })

  it.each(ownDefaults.filter(({ field }) => rowsNaming(readme, field).length > 0))('$field of type $type is $value', ({ type, field, value }) => {
    const row = rowsNaming(readme, field)[0] ?? ''
    expect(row, field).toContain(type)
    expect(spellings(value).some((s) => row.includes(s)), `${field}: ${row}`).toBe(true)
  })

  it('top level: closeTimeoutMs and statsIntervalMs', () => {
    const close = rowsNaming(readme, 'closeTimeoutMs')[0] ?? ''
    expect(close).toContain(`\`${DEFAULT_CLOSE_TIMEOUT_MS}\``)
    expect(close).toContain(`\`${MAX_TRANSPORT_CLOSE_TIMEOUT_MS}\``)
    expect(rowsNaming(readme, 'statsIntervalMs')[0]).toContain(`\`${DEFAULT_STATS_INTERVAL_MS}\``)
  })
})

describe('README for a newcomer', () => {
  it('sections in the order issue 14 asks', () => {
    const order = ['What it is', 'Install', 'Quick start', 'Destinations', 'TypeScript', 'Command line', 'Options', 'What happens to a record', 'Guarantees', 'Writing a sender']
    const at = order.map((title) => readme.indexOf(`\n## ${title}\n`))
    expect(at.filter((i) => i < 0)).toEqual([])
    expect(at).toEqual([...at].sort((a, b) => a - b))
  })

  it('the Destinations table has every built-in sender type and module', () => {
    const section = readme.slice(readme.indexOf('\n## Destinations\n'), readme.indexOf('\n## TypeScript\n'))
    const missing = [...SINK_TYPES.map((t) => t.type), 'module'].filter((type) => !section.includes(`| \`${type}\` |`))
    expect(missing).toEqual([])
  })

  it('every CLI flag it names is one `pino-courier --help` prints', () => {
    const cli = join(root, 'dist/cli/main.js')
    if (!existsSync(cli)) throw new Error('build first: npx tsc -p tsconfig.build.json')
    const help = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })
    const section = readme.slice(readme.indexOf('\n## Command line\n'), readme.indexOf('\n## Options\n'))
    const flags = new Set(section.match(/--[a-z][a-z-]*/g) ?? [])
    expect(flags.size).toBeGreaterThan(5)
    expect([...flags].filter((flag) => !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help))).toEqual([])
  })
})
