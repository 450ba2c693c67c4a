import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { syncDir } from '../../spool/segment.js'
import { setTimer } from '../../timers.js'

/** A stretch of the original file to keep: [start, end) in bytes. */
export interface KeptRange {
  readonly start: number
  readonly end: number
}

/** What writing the remainder did. */
export type RemainderResult =
  | {
      readonly written: true
      /** Bytes that were appended to the file after the point reading stopped, kept at the end. */
      readonly tailBytes: number
      /** Something went wrong after the rename (copying late appends): said on stderr. */
      readonly warning?: string
    }
  | {
      readonly written: false
      /** Why the file was left as it was (the caller says it: every line stays, nothing is lost). */
      readonly reason: string
    }

/** Name of the temp file the remainder is written to, beside the file. */
export function tempPathFor(path: string, pid = process.pid): string {
  return join(dirname(path), `.${basename(path)}.redrive-${pid}.tmp`)
}

/** Prefix and suffix of temp names, to find the ones a killed run left. */
export function tempNamePattern(path: string): { prefix: string; suffix: string } {
  return { prefix: `.${basename(path)}.redrive-`, suffix: '.tmp' }
}

/** How long to look again for appends that raced the rename, when something was appending. */
const LATE_APPEND_CHECK_MS = 200

const COPY_BYTES = 1024 * 1024
const NOFOLLOW = (constants as Partial<typeof constants>).O_NOFOLLOW ?? 0

/**
 * Replaces `path` with its remainder, crash-safely: the kept ranges of the version that was read, then
 * everything appended past `consumed` meanwhile, written to a temp file in the same directory (same
 * mode and, where allowed, owner), synced, and renamed over the file; the directory is synced after.
 * A crash before the rename leaves the file as it was (a re-run sends its lines again: at least once);
 * after it, the remainder is in place. Nothing is ever only in memory.
 *
 * `source` is a descriptor of the file as it was opened for reading. The file is left alone (and the
 * reason returned) when it was replaced or truncated meanwhile: the lines there are not the ones read.
 * An app appending to it (a dead-letter file of a running app) loses nothing: the tail is copied until
 * it stops growing, and after the rename the old file is checked once more for appends that raced it
 * (the dead-letter writer reopens the path at its next write, so later ones land in the new file).
 */
export async function writeRemainder(path: string, source: number, opened: Stats, kept: Iterable<KeptRange>, consumed: number): Promise<RemainderResult> {
  const temp = tempPathFor(path)
  // O_APPEND: late appends copied after the rename go to the end even while the app appends too.
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | NOFOLLOW, 0o600)
  let renamed = false
  try {
    const buffer = Buffer.allocUnsafe(COPY_BYTES)
    for (const range of kept) {
      copy(source, fd, range.start, range.end, buffer)
      // A kept last line without a newline: what is appended after it must start a line of its own.
      if (!endsWithNewline(source, range.end, buffer)) writeAll(fd, Buffer.from('\n'))
    }
    let copied = consumed
    for (;;) {
      const size = fstatSync(source).size
      if (size < consumed) return { written: false, reason: 'it was truncated while the lines were sent' }
      if (size === copied) break
      copy(source, fd, copied, size, buffer)
      copied = size
    }
    const now = statOrUndefined(path)
    if (!now || now.dev !== opened.dev || now.ino !== opened.ino) {
      return { written: false, reason: 'it was moved, removed or replaced while the lines were sent' }
    }
    try {
      fchownSync(fd, opened.uid, opened.gid)
    } catch {
      // Not ours to give away (another owner needs privileges): the file keeps our ownership.
    }
    fchmodSync(fd, opened.mode & 0o7777)
    fsyncSync(fd)
    renameSync(temp, path)
    renamed = true
    syncDir(dirname(path))
    try {
      // Appends that raced the rename went to the old file: copied over. Waiting a moment only when
      // something was appending, for a write that was between its check of the path and its write.
      copied = copyLate(source, fd, copied, buffer)
      if (copied !== consumed || fstatSync(source).mtimeMs !== opened.mtimeMs) {
        await sleep(LATE_APPEND_CHECK_MS)
        copied = copyLate(source, fd, copied, buffer)
      }
      fsyncSync(fd)
    } catch (error) {
      const warning = `lines appended to it while it was being replaced may not all have been copied over (${(error as Error).message})`
      return { written: true, tailBytes: copied - consumed, warning }
    }
    return { written: true, tailBytes: copied - consumed }
  } finally {
    closeSync(fd)
    if (!renamed) rmSync(temp, { force: true })
  }
}

function copyLate(source: number, fd: number, from: number, buffer: Buffer): number {
  const size = fstatSync(source).size
  if (size <= from) return from
  copy(source, fd, from, size, buffer)
  return size
}

function copy(source: number, fd: number, start: number, end: number, buffer: Buffer): void {
  let at = start
  while (at < end) {
    const n = readSync(source, buffer, 0, Math.min(buffer.length, end - at), at)
    if (n === 0) throw new Error(`the file ended at byte ${at} while copying up to ${end}`)
    writeAll(fd, buffer.subarray(0, n))
    at += n
  }
}

function endsWithNewline(source: number, end: number, buffer: Buffer): boolean {
  if (end === 0) return true
  return readSync(source, buffer, 0, 1, end - 1) === 1 && buffer[0] === 0x0a
}

function writeAll(fd: number, data: Buffer): void {
  let written = 0
  while (written < data.length) written += writeSync(fd, data, written, data.length - written)
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

/** Resolves after `ms` (through the library's timers, like every wait it makes). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms))
}
