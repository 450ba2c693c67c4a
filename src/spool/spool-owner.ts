import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

/**
 * Who writes a spool directory. Every process (every sender instance) spools in a directory of its
 * own, so two processes pointed at the same spool never write the same file; a directory whose owner
 * is gone is adopted, whole, by the next instance that starts.
 */
export interface SpoolOwner {
  readonly pid: number
  readonly host: string
  /** The process's start time as the kernel counts it (Linux), to tell a reused pid apart. */
  readonly start?: string
  readonly instance: string
  readonly createdAt: number
}

/** File in an instance directory naming its owner; removed when the owner closes. */
export const OWNER_FILE = 'owner.json'
/** Prefix of a directory adopted from a dead owner, inside the adopter's own directory. */
export const ADOPTED_PREFIX = 'adopted-'

const thisHost = hostname()
const thisStart = processStart(process.pid)

/**
 * Creates this instance's directory under `root` with its owner file. The directory is prepared under
 * a dot-name and renamed into place, so that another process never sees it without an owner.
 */
export function createInstanceDir(root: string): { dir: string; owner: SpoolOwner } {
  // Time first, so that directory names sort by age (adoption keeps the oldest records first).
  const instance = `${Date.now().toString(36).padStart(9, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`
  const owner: SpoolOwner = {
    pid: process.pid,
    host: thisHost,
    ...(thisStart ? { start: thisStart } : {}),
    instance,
    createdAt: Date.now(),
  }
  const staging = join(root, `.new-${instance}`)
  mkdirSync(staging, { mode: 0o700 })
  writeFileSync(join(staging, OWNER_FILE), JSON.stringify(owner), { mode: 0o600, flag: 'wx' })
  const dir = join(root, instance)
  renameSync(staging, dir)
  return { dir, owner }
}

/**
 * Moves every instance directory under `root` whose owner is gone into `into` (as `adopted-<name>`),
 * oldest first, and returns their new paths. The move is a rename: atomic, so of two processes
 * adopting at once exactly one gets each directory.
 */
export function adoptOrphans(root: string, into: string, self: string, otherHosts = true): string[] {
  const adopted: string[] = []
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return adopted
  }
  for (const name of names.sort()) {
    const dir = join(root, name)
    // A start that crashed between creating its directory and naming it: empty, and safe to remove
    // once its owner file names a dead process. Without an owner file it may be a start happening
    // right now, which has not written it yet: left alone.
    if (name.startsWith('.new-')) {
      const owner = readOwner(dir)
      if (owner && !isAlive(owner, false)) rmSync(dir, { recursive: true, force: true })
      continue
    }
    if (name.startsWith('.') || name === self) continue
    if (!isOrphan(dir, otherHosts)) continue
    const target = join(into, `${ADOPTED_PREFIX}${name}`)
    try {
      renameSync(dir, target)
      adopted.push(target)
    } catch {
      // Someone else adopted it first, or it is not a directory: either way not ours.
    }
  }
  return adopted
}

/**
 * Creates the instance directory again, owner file included, after someone removed it while it was in
 * use: the spool goes on writing there rather than failing for the rest of the process's life.
 */
export function restoreInstanceDir(dir: string, owner: SpoolOwner): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 })
}

/** Removes the owner file: the directory (and what is left in it) is free for the next start. */
export function releaseInstanceDir(dir: string, empty: boolean): void {
  try {
    if (empty) rmSync(dir, { recursive: true, force: true })
    else rmSync(join(dir, OWNER_FILE), { force: true })
  } catch {
    // Best effort: a directory we cannot release is adopted once this process is gone.
  }
}

/**
 * Whether the directory's owner is gone (or it never had one). `otherHosts`: a directory written from
 * another host name counts as gone (see isAlive).
 */
export function isOrphan(dir: string, otherHosts = true): boolean {
  let owner: SpoolOwner
  try {
    owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as SpoolOwner
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // No owner file: released at close, or written by a crashed start. Anything else (EACCES, not a
    // directory) is not ours to take.
    return code === 'ENOENT' || error instanceof SyntaxError
  }
  return !isAlive(owner, otherHosts)
}

/** The owner file of a directory, or undefined when it has none (or not a readable one). */
function readOwner(dir: string): SpoolOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as SpoolOwner
  } catch {
    return undefined
  }
}

/**
 * Whether the process that wrote `owner` still runs. An owner on another host cannot be checked:
 * with `otherHosts` it counts as gone (a container gets a new host name at each start, and its old
 * spool must not be stranded), without it as alive (hosts sharing one spool directory, over NFS say).
 * Other cases that cannot be known count as alive: never steal.
 */
export function isAlive(owner: SpoolOwner, otherHosts = true): boolean {
  if (typeof owner.pid !== 'number') return true
  if (owner.host !== thisHost) return !otherHosts
  if (owner.pid === process.pid) {
    // The same pid and start time is this very process (another thread or sender instance); the same
    // pid with another start time is an earlier process (in a container every start is pid 1).
    return owner.start === undefined || thisStart === undefined || owner.start === thisStart
  }
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // The pid exists: it is the owner unless the kernel says the process started at another time.
  const start = processStart(owner.pid)
  return owner.start === undefined || start === undefined || start === owner.start
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), with the boot id; Linux only. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = fields[19]
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return ticks ? `${boot}:${ticks}` : undefined
  } catch {
    return undefined
  }
}
