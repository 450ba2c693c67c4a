import { closeSync, constants, linkSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
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
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error
        const holder = lockHolder(path)
        if (holder !== undefined && alive(holder)) throw lockedError(holder, path)
        // Left by a run that was killed: taken over.
        removeStale(path, holder)
      }
    }
    removeStaleTemps(file)
    return new RedriveLock(path)
  }

  release(): void {
    rmSync(this.#path, { force: true })
  }
}

function lockedError(holder: number, path: string): RedriveLockedError {
  return new RedriveLockedError(`another redrive (pid ${holder}) is working on this file; if it is not running, remove ${path}`)
}

/**
 * Removes a killed run's lock (held by `holder`, a pid not running). Another run may have found it
 * stale too and placed its own lock meanwhile: removing the lock by name could remove that one, and
 * both runs would send every line. So the lock is first moved to a name of this process's own, where
 * nobody else changes it, and looked at again; a live run's lock found there is linked back (and this
 * run refused).
 */
function removeStale(path: string, holder: number | undefined): void {
  const aside = `${path}.stale-${process.pid}`
  rmSync(aside, { force: true })
  try {
    renameSync(path, aside)
  } catch (error) {
    // Taken over and released by another run meanwhile: try to place it again.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  try {
    const moved = lockHolder(aside)
    if (moved !== holder && moved !== undefined && alive(moved)) {
      // Put back (EEXIST: a third run placed one meanwhile, and holds it).
      try {
        linkSync(aside, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      throw lockedError(moved, path)
    }
  } finally {
    rmSync(aside, { force: true })
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
  // The names the lock is placed and taken over under (`<lock>.<pid>`, `<lock>.stale-<pid>`), left by a
  // run killed in between: removed when their process is gone (a live one is using its own).
  const lockName = `.${basename(file)}.redrive.lock.`
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(suffix)) rmSync(join(dirname(file), name), { force: true })
    const pid = name.startsWith(lockName) ? /^(?:stale-)?(\d+)$/.exec(name.slice(lockName.length))?.[1] : undefined
    if (pid !== undefined && !alive(Number(pid))) rmSync(join(dirname(file), name), { force: true })
  }
}
