import { randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
  type Stats,
} from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join, parse, resolve, sep } from 'node:path'

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

// ---- trusting directories and opening files -----------------------------------------------------

/** O_NOFOLLOW, or 0 where the platform has none (Windows, where planting a link takes privileges). */
const NOFOLLOW: number = (constants as Partial<typeof constants>).O_NOFOLLOW ?? 0

/**
 * Open flags for spool and dead-letter files that never follow a symbolic link at the file itself: a
 * link planted where such a file goes makes the open fail (ELOOP, or EEXIST for a new file) rather
 * than read or write whatever it points at.
 * @internal
 */
export const OPEN_NOFOLLOW = Object.freeze({
  /** Reads an existing file. */
  read: constants.O_RDONLY | NOFOLLOW,
  /** Creates a new file for reading and writing; fails when anything, a link included, is at the path. */
  create: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW,
  /** Appends, creating the file when missing. */
  append: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW,
  /** Writes from the start, creating or truncating the file. */
  replace: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW,
})

/**
 * Reads a whole file without following a link at `path` (ELOOP if it is one).
 * @internal
 */
export function readFileNoFollow(path: string): Buffer {
  // @types/node types `flag` as a string; Node passes fs.constants numbers to open(2) as they are.
  return readFileSync(path, { flag: OPEN_NOFOLLOW.read as unknown as string })
}

/**
 * How a directory is used, which decides what may write it besides this process's user and root:
 * - `shared`: a directory the user names (`spool.dir`, the dead-letter file's directory), which may
 *   be shared like /tmp: trusted when it is owned by this user or root and writable by nobody else,
 *   or when it has the sticky bit (others may create entries there, but not rename or remove ours).
 * - `own`: a directory the spool makes for itself (`<spool.dir>/<sender>` and everything below):
 *   trusted only when it is owned by this user or root and writable by nobody else, sticky or not.
 * @internal
 */
export type DirectoryRole = 'shared' | 'own'

/**
 * What makes a directory untrustworthy for spool or dead-letter files, or undefined when it can be
 * trusted (see {@link DirectoryRole}; the rule is OpenSSH's StrictModes, with /tmp's sticky bit
 * allowed in a shared directory). Whoever else can write a directory can swap what is in it for a
 * link, and send the spool's writes (or its reads, shipped to the sink) wherever the link points.
 * The message names what is wrong and how to fix it; it is meant to follow the directory's path.
 * Where there are no uids (Windows) only "is a directory" is checked.
 * @internal
 */
export function trustProblem(stats: Stats, role: DirectoryRole): string | undefined {
  if (stats.isSymbolicLink()) return 'is a symbolic link'
  if (!stats.isDirectory()) return 'is not a directory'
  // Files are created as the effective uid: that is the user the spool writes as.
  const uid = process.geteuid?.() ?? process.getuid?.()
  if (uid === undefined) return undefined
  const mode = stats.mode & 0o7777
  // Its owner can rename or replace anything in a directory, sticky or not: another user's directory
  // is never trusted. A sticky one of ours or root's (/tmp) is: others may add entries, not touch ours.
  const foreign = stats.uid !== uid && stats.uid !== 0
  const sticky = role === 'shared' && (mode & 0o1000) !== 0
  const writable = (mode & 0o022) !== 0 && !sticky
  if (!foreign && !writable) return undefined
  const octal = mode.toString(8).padStart(4, '0')
  const others = (mode & 0o002) !== 0 ? 'writable by others' : 'writable by its group'
  const what = foreign
    ? `is owned by uid ${stats.uid}${(mode & 0o022) !== 0 ? ` and ${others}` : ''}, mode ${octal}`
    : `is ${others}, mode ${octal}${role === 'shared' ? ', without the sticky bit' : ''}`
  if (role === 'own') {
    const fix = `remove it (it is made again, owner-only)${foreign ? '' : ' or chmod go-w it'}`
    return `${what}, but it is the spool's own directory: ${fix}`
  }
  return foreign
    ? `${what}: use a directory owned by you (uid ${uid}) or root that nobody else can write (a sticky one such as /tmp is fine when root owns it)`
    : `${what}: chmod go-w it (or +t, as /tmp is), or use a directory only you can write`
}

/**
 * Throws unless the directory `path` names (the user's: `spool.dir`, the dead-letter file's
 * directory) and every directory on the way to it can be trusted, as OpenSSH's StrictModes walks the
 * path: see {@link pathProblem}. Parts of the path that do not exist yet are not checked (they are
 * made owner-only); call it again once they are made.
 * @internal
 */
export function checkSharedDir(path: string): void {
  const problem = pathProblem(path)
  if (problem) throw new Error(problem)
}

/**
 * Why the directories on the way to `path` (`path` included, when it exists) cannot be trusted, or
 * undefined. Each is checked with lstat from the root down: a directory must pass
 * {@link trustProblem} as a shared one (owned by you or root, writable by nobody else unless sticky
 * and yours or root's), and a symbolic link must be owned by you or root (anyone else could point it
 * elsewhere between the check and the use); the real path behind the links is walked the same way.
 * Anyone who can replace a directory on the way can redirect everything below it.
 */
export function pathProblem(path: string): string | undefined {
  const absolute = resolve(path)
  const given = walkProblem(absolute)
  if (given) return given
  // The deepest part that exists, resolved: where the links actually lead.
  let existing = absolute
  for (;;) {
    try {
      const real = realpathSync(existing)
      return real === existing ? undefined : walkProblem(real)
    } catch (error) {
      const parent = dirname(existing)
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === existing) return `"${existing}": ${(error as Error).message}`
      existing = parent
    }
  }
}

function walkProblem(absolute: string): string | undefined {
  const uid = process.geteuid?.() ?? process.getuid?.()
  let current = parse(absolute).root
  const parts = absolute.slice(current.length).split(sep).filter(Boolean)
  for (let i = 0; ; i++) {
    let stats: Stats
    try {
      stats = lstatSync(current)
    } catch (error) {
      // Not made yet: what is made below is made owner-only.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      return `"${current}": ${(error as Error).message}`
    }
    if (stats.isSymbolicLink()) {
      if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
        return `"${current}" is a symbolic link owned by uid ${stats.uid}, who could point it elsewhere: use a path without it`
      }
    } else {
      const problem = trustProblem(stats, 'shared')
      if (problem) return `"${current}" ${problem}`
    }
    const next = parts[i]
    if (next === undefined) return undefined
    current = join(current, next)
  }
}

/**
 * Makes the spool's own directory `path` (owner-only) unless it is there, then throws unless what is
 * there is a real directory (not a link to one) that can be trusted as the spool's own.
 * @internal
 */
export function ensureOwnDir(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const stats = lstatSync(path)
  if (stats.isSymbolicLink()) {
    throw new Error(
      `"${path}" is a symbolic link, where the spool keeps its own directory: the spool does not follow links ` +
        'it did not make: remove it, or point spool.dir where the link goes',
    )
  }
  const problem = trustProblem(stats, 'own')
  if (problem) throw new Error(`"${path}" ${problem}`)
}

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
  // Both fail on anything already there, a link included: nothing is followed.
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
    // Only real directories: a link (or a file) here was not made by a spool, and following it
    // would send what it points at to the sink as recovered records.
    names = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
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
  const root = dirname(dir)
  const spoolDir = dirname(root)
  // The whole spool may have gone with it (rm -rf by an operator): made again and checked as at
  // start-up, since whoever removed it may have put a link in its place.
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 })
  checkSharedDir(spoolDir)
  ensureOwnDir(root)
  ensureOwnDir(dir)
  const fd = openSync(join(dir, OWNER_FILE), OPEN_NOFOLLOW.replace, 0o600)
  try {
    writeFileSync(fd, JSON.stringify(owner))
  } finally {
    closeSync(fd)
  }
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
    owner = JSON.parse(readFileNoFollow(join(dir, OWNER_FILE)).toString('utf8')) as SpoolOwner
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
    return JSON.parse(readFileNoFollow(join(dir, OWNER_FILE)).toString('utf8')) as SpoolOwner
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
