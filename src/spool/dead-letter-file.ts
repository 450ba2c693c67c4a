import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, writeSync, type Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../config/config-error.js'
import type { LogRecord } from '../input/record.js'
import type { DeadLetterOptions } from './spool-options.js'
import { OPEN_NOFOLLOW, pathProblem } from './spool-owner.js'

/**
 * Checks at start-up that `deadLetter.path` can be trusted with the records it will hold: its
 * directory, if it exists, is writable only by this user or root (or sticky, like /tmp: the rule of
 * `spool.dir`), and nothing but a regular file (or nothing) is at the path, in particular no
 * symbolic link, which the file is never written through. A missing directory is fine: it is made,
 * owner-only, at the first write.
 *
 * @throws {ConfigError} naming `deadLetter.path`, saying what is wrong and how to fix it.
 * @example
 * if (options.deadLetter) checkDeadLetterPath(options.deadLetter)
 */
export function checkDeadLetterPath(options: DeadLetterOptions): void {
  const problem = deadLetterPathProblem(resolve(options.path))
  if (problem === undefined) return
  throw new ConfigError(`pino-courier: invalid options: deadLetter.path: cannot use "${options.path}" (${problem})`, {
    paths: ['deadLetter.path'],
  })
}

function deadLetterPathProblem(path: string): string | undefined {
  const directory = directoryProblem(dirname(path))
  if (directory) return directory
  let stats
  try {
    stats = lstatSync(path)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : errorText(error)
  }
  if (stats.isSymbolicLink()) {
    return (
      'it is a symbolic link, and the dead-letter file is never written through one: remove it, ' +
      'or set the path the link points at'
    )
  }
  if (stats.isDirectory()) return 'it is a directory'
  return fileProblem(stats)
}

/**
 * Why a file found at the dead-letter path must not receive the failed records: one another user made
 * first (in a sticky directory such as /tmp) could be read by that user, and anything but a regular
 * file is not a file to keep records in. Found by review: such a file was appended to.
 */
function fileProblem(stats: Stats): string | undefined {
  if (!stats.isFile()) return 'it is not a regular file'
  // Another name for a file elsewhere (made where protected_hardlinks is off): the records would land there too.
  if (stats.nlink > 1) return `it has ${stats.nlink - 1} other hard link(s): use a file of its own`
  const uid = process.geteuid?.() ?? process.getuid?.()
  if (uid === undefined || stats.uid === uid || stats.uid === 0) return undefined
  return `it is owned by uid ${stats.uid}, who could read the failed records: remove it, or set a path in a directory only you can write`
}

/**
 * Where a sender appends the records of batches that failed for good (a 400, retries used up): the
 * NDJSON lines exactly as they would have been sent, so they can be inspected and sent again by hand.
 * Writes are synchronous appends (one per failed batch, which is rare), so that a crash right after
 * a failure cannot lose the record of it.
 *
 * The file is opened with O_NOFOLLOW, and only in a directory that {@link checkDeadLetterPath} would
 * accept: a link planted at the path, or a directory others can write, fails the write (counted as a
 * dead-letter write error) rather than sending the records wherever the link points.
 */
export class DeadLetterFile {
  readonly path: string
  readonly #mode: number
  #fd: number | undefined

  constructor(options: DeadLetterOptions) {
    this.path = resolve(options.path)
    this.#mode = options.mode ?? 0o600
  }

  /** Appends the records; throws when the file cannot be written. */
  write(records: readonly LogRecord[]): void {
    let text = ''
    for (const record of records) text += `${record.line}\n`
    const data = Buffer.from(text)
    // Moved away (log rotation) or removed, directory and all: writes to the old descriptor would
    // succeed and land nowhere anyone looks. Failures are rare, so a stat per write costs nothing.
    if (this.#fd !== undefined && !this.#stillThere(this.#fd)) this.close()
    this.#fd ??= this.#open()
    let written = 0
    try {
      while (written < data.length) written += writeSync(this.#fd, data, written, data.length - written)
    } catch (error) {
      // Open again next time: the file may have been moved away or its disk remounted.
      this.close()
      throw error
    }
  }

  #open(): number {
    const dir = dirname(this.path)
    // Checked at every open, not only at start-up (the directory may have been made or changed since;
    // an open happens only after a rotation or an error), before and after making what is missing.
    for (const when of ['before', 'after']) {
      const problem = directoryProblem(dir)
      if (problem) throw new Error(`dead-letter file "${this.path}": ${problem}`)
      if (when === 'before') mkdirSync(dir, { recursive: true, mode: 0o700 })
    }
    let fd: number
    try {
      // Non-blocking: a FIFO put at the path would otherwise hold the thread until someone reads it
      // (ENXIO instead); it makes no difference to a regular file.
      fd = openSync(this.path, OPEN_NOFOLLOW.append | constants.O_NONBLOCK, this.#mode)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error
      throw new Error(`dead-letter file "${this.path}" is a symbolic link; not written through it`, { cause: error })
    }
    // Checked on the open descriptor: what was opened is what is written, whatever is at the path now.
    const opened = fileProblem(fstatSync(fd))
    if (opened) {
      closeSync(fd)
      throw new Error(`dead-letter file "${this.path}": ${opened}`)
    }
    return fd
  }

  #stillThere(fd: number): boolean {
    try {
      const open = fstatSync(fd)
      // lstat: a link put in the file's place is not the file, even when it points at it.
      const named = lstatSync(this.path)
      return open.nlink > 0 && open.ino === named.ino && open.dev === named.dev
    } catch {
      return false
    }
  }

  close(): void {
    if (this.#fd === undefined) return
    try {
      closeSync(this.#fd)
    } catch {
      // Already closed.
    }
    this.#fd = undefined
  }
}

/** Why the dead-letter file's directory, or one on the way to it, cannot be trusted (see pathProblem). */
function directoryProblem(dir: string): string | undefined {
  const problem = pathProblem(dir)
  if (problem === undefined) return undefined
  return problem.startsWith(`"${dir}"`) ? `its directory ${problem}` : `a directory on the way to it: ${problem}`
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
