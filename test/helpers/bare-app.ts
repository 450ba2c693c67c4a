import { cp, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PROJECT_ROOT } from './child-process.js'

/**
 * An app that installed pino-courier and only its required dependencies (and pino), none of the optional
 * peers (the backends' clients, @opentelemetry/api): a copy of the built package (a copy, not a link,
 * so that nothing resolves from this repository's node_modules, where the peers are dev dependencies)
 * next to links to its own dependencies. Made in `dir`.
 */
export async function appWithoutOptionalPeers(dir: string): Promise<string> {
  const modules = join(dir, 'node_modules')
  await mkdir(join(modules, 'pino-courier'), { recursive: true })
  await cp(join(PROJECT_ROOT, 'package.json'), join(modules, 'pino-courier', 'package.json'))
  await cp(join(PROJECT_ROOT, 'dist'), join(modules, 'pino-courier', 'dist'), { recursive: true })
  for (const name of ['pino', 'pino-abstract-transport', 'p-queue', 'zod']) {
    await symlink(join(PROJECT_ROOT, 'node_modules', name), join(modules, name), 'dir')
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }))
  return dir
}
