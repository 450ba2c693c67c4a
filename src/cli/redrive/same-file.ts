import { realpathSync, statSync, type Stats } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * Whether `other` names the file whose real path is `real` and whose stats are `stats`: the same inode
 * when `other` exists (through symbolic links and hard links alike), else the same real path once its
 * directory's links are resolved (a dead-letter file not written yet would be created there).
 */
export function isSameFile(other: string, real: string, stats: Stats): boolean {
  const path = resolve(other)
  try {
    const found = statSync(path)
    return found.dev === stats.dev && found.ino === stats.ino
  } catch {
    // Not there: it is the file only if it would be created at the file's own real path.
  }
  try {
    return join(realpathSync(dirname(path)), basename(path)) === real
  } catch {
    return false
  }
}
