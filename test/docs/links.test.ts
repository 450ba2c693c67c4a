/**
 * The documentation's links: every relative link in the README, BENCHMARKS.md, docs/ and
 * examples/README.md points at a file that exists, and an anchor at a heading of that file (GitHub's
 * slugs); every example file is listed in examples/README.md; the README opens with the repository's
 * two set-up commands (the project's contract) and stays short.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name))
  return ['README.md', 'BENCHMARKS.md', 'examples/README.md', ...docs]
}

/** The text outside fenced code blocks and inline code, where links render. */
function prose(text: string): string {
  let fenced = false
  const kept: string[] = []
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced
      continue
    }
    if (!fenced) kept.push(line.replace(/`[^`]*`/g, ''))
  }
  return kept.join('\n')
}

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` removed, spaces to `-`, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  let fenced = false
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) fenced = !fenced
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line)
    if (!heading?.[1]) continue
    const slug = heading[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    result.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return result
}

function links(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
}

describe('documentation links', () => {
  it.each(markdownFiles())('%s: every relative link and anchor resolves', (file) => {
    const text = readFileSync(join(root, file), 'utf8')
    const broken: string[] = []
    for (const target of links(text)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue // https:, mailto:
      const [path = '', anchor] = target.split('#')
      const absolute = path === '' ? join(root, file) : resolve(root, dirname(file), path)
      if (!existsSync(absolute)) {
        broken.push(`${target} (no ${relative(root, absolute)})`)
        continue
      }
      if (anchor !== undefined && statSync(absolute).isFile() && absolute.endsWith('.md')) {
        if (!anchors(readFileSync(absolute, 'utf8')).has(anchor)) broken.push(`${target} (no heading #${anchor})`)
      }
    }
    expect(broken).toEqual([])
  })

  it('examples/README.md links every file in examples/', () => {
    const listed = new Set(links(readFileSync(join(root, 'examples/README.md'), 'utf8')))
    const files = readdirSync(join(root, 'examples')).filter((name) => name !== 'README.md')
    expect(files.filter((name) => !listed.has(name))).toEqual([])
  })
})

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')

  it("opens with the repository's two set-up commands", () => {
    const blocks = [...readme.matchAll(/```\w*\n([\s\S]*?)```/g)].map((match) => match[1]?.trim())
    expect(blocks.slice(0, 2)).toEqual(['npm install && npm run demo', 'npm test'])
    expect(readme.indexOf('npm install && npm run demo')).toBeLessThan(readme.indexOf('\n## '))
  })

  it('stays short: deep reference lives in docs/ and BENCHMARKS.md', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400)
  })
})
