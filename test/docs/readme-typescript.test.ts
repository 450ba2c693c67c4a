/**
 * The README's TypeScript section type-checks against the built package as a user's project would see
 * it (its `ts` blocks, in order, as one file; `pino-courier` resolved to dist/index.d.ts), and a
 * misspelt option in the same code is the compile error the README promises. Its JavaScript blocks
 * compile against the same types (an import of pino added where the block relies on an earlier one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'readme-ts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Type-checks each source as a file of its own, all in one program; the errors of each, by name. */
function typeErrors(sources: Record<string, string>): Record<string, string[]> {
  const types = join(root, 'dist/index.d.ts')
  if (!existsSync(types)) throw new Error('build first: npx tsc -p tsconfig.build.json')
  const files = Object.entries(sources).map(([name, source]) => {
    const file = join(dir, `${name}.ts`)
    writeFileSync(file, `${source}\nexport {}\n`)
    return file
  })
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
    baseUrl: root,
    paths: { 'pino-courier': [types], pino: [join(root, 'node_modules/pino/pino.d.ts')] },
  })
  const out: Record<string, string[]> = Object.fromEntries(Object.keys(sources).map((name) => [name, []]))
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file ? (Object.keys(sources).find((n) => d.file?.fileName.endsWith(`/${n}.ts`)) ?? 'other') : 'other'
    ;(out[name] ??= []).push(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  }
  return out
}

const section = readme.slice(readme.indexOf('\n## TypeScript\n'), readme.indexOf('\n## ', readme.indexOf('\n## TypeScript\n') + 5))
const jsBlocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => `${m[1] ?? ''}\nvoid 0\n`)
const code = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').join('\n')

describe("README's TypeScript section", () => {
  it('has the typed entry points the issue names', () => {
    for (const text of ['pino.transport<TransportOptions>', 'satisfies TransportOptions', 'createCourierTransport(', "'courier:stats'"]) {
      expect(code).toContain(text)
    }
  })

  it('type-checks as written, with typed event payloads; a misspelt option is a compile error', { timeout: 60_000 }, () => {
    const used = '\nvoid transport; void logger\n'
    const errors = typeErrors({
      asWritten: code + used,
      // the payloads are the exported types, not any: a wrong use fails to compile
      payload: `${code}${used}courier.on('courier:close', (report) => { const n: string = report; void n })\n`,
      misspelt: code.replace("labels: { app: 'api' }", "labelz: { app: 'api' }") + used,
      // the README's JavaScript blocks (quick start, metrics) against the same types
      ...Object.fromEntries(
        jsBlocks.map((block, i) => [`js${i}`, `${block.includes("from 'pino'") ? '' : "import pino from 'pino'\n"}${block}`]),
      ),
    })
    expect(jsBlocks.length).toBeGreaterThanOrEqual(2)
    for (let i = 0; i < jsBlocks.length; i++) expect(errors[`js${i}`], jsBlocks[i]).toEqual([])
    expect(errors.other ?? []).toEqual([])
    expect(errors.asWritten).toEqual([])
    expect(errors.payload).toHaveLength(1)
    expect(errors.payload?.[0]).toContain('CourierCloseReport')
    expect(errors.misspelt?.join('\n')).toContain("'labelz' does not exist")
  })
})
