import { closeSync, constants, linkSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { tempNamePattern } from './remainder.js'

const NOFOLLOW = (constants as Partial<typeof constants>).O_NOFOLLOW ?? 0

/** Thrown when another redrive holds the file. */
export class RedriveLockedError extends Error {
  override readonly name = 'RedriveLockedError'
}

/**
 * One redrive of a file at a time: two at once would send the same lines twice and the second rename
 * would put back lines the first had delivered. The lock is a file beside it, `.<name>.redrive.lock`,
 * created exclusively and holding the pid; one whose process is gone (a killed run) is taken over.
 * Under the lock, temp files a killed run left are removed.
 */
export class RedriveLock {
  readonly #path: string

  private constructor(path: string) {
    this.#path = path
  }

  /** Takes the lock of `file` (a real path). Throws {@link RedriveLockedError} when a live process holds it. */
  static take(file: string): RedriveLock {
    const path = join(dirname(file), `.${basename(file)}.redrive.lock`)
    for (let attempt = 0; ; attempt++) {
      try {
        placeLock(path)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error
        const holder = lockHolder(path)
        if (holder !== undefined && alive(holder)) {
          throw new RedriveLockedError(`another redrive (pid ${holder}) is working on this file; if it is not running, remove ${path}`)
        }
        // Left by a run that was killed: taken over.
        rmSync(path, { force: true })
      }
    }
    removeStaleTemps(file)
    return new RedriveLock(path)
  }

  release(): void {
    rmSync(this.#path, { force: true })
  }
}

/** Creates the lock with the pid in it, atomically: written under a name of its own, then linked in place (EEXIST when taken). */
function placeLock(path: string): void {
  const own = `${path}.${process.pid}`
  rmSync(own, { force: true })
  const fd = openSync(own, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600)
  try {
    writeSync(fd, `${process.pid}\n`)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(own, path)
  } finally {
    rmSync(own, { force: true })
  }
}

function lockHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Temp files of runs that were killed before their rename (the lock says none is running). */
function removeStaleTemps(file: string): void {
  const { prefix, suffix } = tempNamePattern(file)
  let names: string[]
  try {
    names = readdirSync(dirname(file))
  } catch {
    return
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(suffix)) rmSync(join(dirname(file), name), { force: true })
  }
}
