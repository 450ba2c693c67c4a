/**
 * The spool and the dead-letter file trust only directories nobody else can write, and never follow a
 * link planted where one of their files or directories goes (issue 10, item 9). Each test states what
 * went wrong before the fix.
 *
 * "Another user" is uid 1001 when the tests run as root (as in CI): root can chown a temp dir to it.
 * Run as another user, the same tests use a directory of our own writable by others, which the rule
 * refuses just as well; the assertions hold either way.
 */
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { checkDeadLetterPath, DeadLetterFile } from '../../src/spool/dead-letter-file.js'
import type { CommonSenderOptions } from '../../src/config/delivery-options.js'
import type { QueuedSender } from '../../src/senders/queued-sender.js'
import type { Sink } from '../../src/senders/sender.js'
import { DiskSpool, SpoolReadError, type SpoolFrame } from '../../src/spool/disk-spool.js'
import { trustProblem } from '../../src/spool/spool-owner.js'
import { DEFAULT_SPOOL } from '../../src/spool/spool-options.js'
import { useCleanups } from '../helpers/cleanups.js'
import { frameContent as batch, ledgerGap, rec, spooledSender, SwitchSink } from '../helpers/switch-sink.js'

const { tempDir, defer } = useCleanups()

const me = process.geteuid?.() ?? 0
const asRoot = me === 0
const OTHER_UID = 1001

/** The name of the first segment a fresh spool appends to (BASE_SEGMENT_NO, padded). */
const FIRST_SEGMENT = '100000000000.seg'

/**
 * Makes `path` a directory with `mode` that someone else can write: owned by uid 1001 when we are
 * root, otherwise ours (then only `mode` makes it untrusted).
 */
function othersDir(path: string, mode: number): string {
  mkdirSync(path, { recursive: true })
  chmodSync(path, mode)
  if (asRoot) chownSync(path, OTHER_UID, OTHER_UID)
  return path
}

function openSpool(dir: string): DiskSpool {
  const spool = new DiskSpool({ ...DEFAULT_SPOOL, dir, fsync: 'never' }, 'http', () => undefined)
  defer(() => spool.close())
  return spool
}

function append(spool: DiskSpool, id: string, from: number, n: number): SpoolFrame {
  const result = spool.append(batch(id, from, n), from + 1, 'tail')
  if ('error' in result) throw result.error
  return result
}

function make(dir: string, sink: Sink, options: Partial<CommonSenderOptions> = {}): QueuedSender {
  return spooledSender(defer, dir, sink, options)
}

/** What `fn` threw, or a failure if it threw nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

/** Stats of a directory as lstat would give them, for the rule's table. */
function dirStats(mode: number, uid: number, kind: 'dir' | 'link' | 'file' = 'dir'): Stats {
  return {
    mode,
    uid,
    isDirectory: () => kind === 'dir',
    isSymbolicLink: () => kind === 'link',
  } as Stats
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the trust rule', () => {
  // OpenSSH's StrictModes (owned by you or root, writable by nobody else), with /tmp's sticky bit
  // allowed in a directory the user names when you or root own it (its owner can replace anything in
  // it, sticky or not); the spool's own directories get no sticky exception.
  it('trusts a shared directory owned by you or root and writable by nobody else, or sticky; refuses the rest', () => {
    const other = me === OTHER_UID ? OTHER_UID + 1 : OTHER_UID
    const table = {
      'yours 0700': trustProblem(dirStats(0o40700, me), 'shared'),
      "root's 0755": trustProblem(dirStats(0o40755, 0), 'shared'),
      "root's 1777 (/tmp)": trustProblem(dirStats(0o41777, 0), 'shared'),
      "another's 1777": trustProblem(dirStats(0o41777, other), 'shared'),
      'yours 1777': trustProblem(dirStats(0o41777, me), 'shared'),
      "another's 0755": trustProblem(dirStats(0o40755, other), 'shared'),
      "another's 0777": trustProblem(dirStats(0o40777, other), 'shared'),
      'yours 0775': trustProblem(dirStats(0o40775, me), 'shared'),
      'yours 0757': trustProblem(dirStats(0o40757, me), 'shared'),
      'own: yours 0700': trustProblem(dirStats(0o40700, me), 'own'),
      'own: yours 1777': trustProblem(dirStats(0o41777, me), 'own'),
      "own: another's 0700": trustProblem(dirStats(0o40700, other), 'own'),
      'a link': trustProblem(dirStats(0o120777, me, 'link'), 'shared'),
      'a file': trustProblem(dirStats(0o100600, me, 'file'), 'shared'),
    }
    expect(table).toEqual({
      'yours 0700': undefined,
      "root's 0755": undefined,
      "root's 1777 (/tmp)": undefined,
      // Found by review: accepted at first, though its owner could rename <dir>/<sender> and plant a link.
      "another's 1777": expect.stringMatching(new RegExp(`^is owned by uid ${other} and writable by others, mode 1777: use a directory owned by you`)),
      'yours 1777': undefined,
      "another's 0755": expect.stringMatching(new RegExp(`^is owned by uid ${other}, mode 0755: use a directory owned by you`)),
      "another's 0777": expect.stringMatching(
        new RegExp(`^is owned by uid ${other} and writable by others, mode 0777: use a directory owned by you .* or root`),
      ),
      'yours 0775': expect.stringMatching(/^is writable by its group, mode 0775, without the sticky bit: chmod go-w/),
      'yours 0757': expect.stringMatching(/^is writable by others, mode 0757/),
      'own: yours 0700': undefined,
      'own: yours 1777': expect.stringMatching(/^is writable by others, mode 1777, but it is the spool's own directory/),
      "own: another's 0700": expect.stringMatching(new RegExp(`^is owned by uid ${other}, mode 0700, but it is the spool's own`)),
      'a link': 'is a symbolic link',
      'a file': 'is not a directory',
    })
  })
})

describe('spool.dir at start-up', () => {
  // Before the fix: used silently. Anyone who can write it can replace <dir>/<sender> with a link
  // between two runs and have the next run write its spool (the logs) wherever they like.
  it('refuses a directory owned by another user and writable by others without the sticky bit, naming spool.dir', async () => {
    const dir = othersDir(join(await tempDir(), 'shared'), 0o777)
    const error = thrown(() => make(dir, new SwitchSink()))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).paths).toEqual(['spool.dir'])
    expect((error as Error).message).toMatch(
      asRoot
        ? new RegExp(
            '^pino-courier: invalid options: spool\\.dir: cannot use ".*" \\(".*shared" is owned by uid 1001 and ' +
              'writable by others, mode 0777: use a directory owned by you \\(uid 0\\) or root that nobody else can write ' +
              '\\(a sticky one such as /tmp is fine when root owns it\\)\\)$',
          )
        : /spool\.dir: cannot use .* is writable by others, mode 0777, without the sticky bit: chmod go-w/,
    )
    expect(readdirSync(dir)).toEqual([])
  })

  // Found by review: a sticky directory of another user was accepted, but the sticky bit does not
  // restrict the directory's owner, who could rename <dir>/<sender> and plant a link in its place.
  it("refuses another user's sticky directory (as root; without root the directory made here is ours)", async () => {
    const dir = othersDir(join(await tempDir(), 'shared'), 0o1777)
    if (!asRoot) {
      expect(() => make(dir, new SwitchSink())).not.toThrow()
      return
    }
    const error = thrown(() => make(dir, new SwitchSink()))
    expect((error as ConfigError).paths).toEqual(['spool.dir'])
    expect((error as Error).message).toMatch(/is owned by uid 1001 and writable by others, mode 1777: use a directory owned by you/)
    expect(readdirSync(dir)).toEqual([])
  })

  // Guards the rule against refusing /tmp itself: others may create entries there but not replace ours.
  it('accepts a sticky directory that root (or you) owns, as /tmp is, and spools in it', async () => {
    const dir = join(await tempDir(), 'shared')
    mkdirSync(dir)
    chmodSync(dir, 0o1777)
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink)
    for (let i = 0; i < 25; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(150)
    expect((await sender.close()).spooled).toBe(25)
    const own = statSync(join(dir, 'http'))
    expect({ uid: own.uid, mode: own.mode & 0o7777 }).toEqual({ uid: me, mode: 0o700 })
  })

  // Before the fix: mkdirSync(recursive) accepted the link as the directory and the spool's instance
  // directory, owner file and segments were written where it pointed.
  it('refuses a symbolic link planted at <dir>/<sender name>, and writes nothing where it points', async () => {
    const base = await tempDir()
    const dir = join(base, 'spool')
    const elsewhere = join(base, 'elsewhere')
    mkdirSync(dir)
    mkdirSync(elsewhere)
    symlinkSync(elsewhere, join(dir, 'http'))
    const error = thrown(() => make(dir, new SwitchSink()))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).paths).toEqual(['spool.dir'])
    expect((error as Error).message).toMatch(/spool\.dir: cannot use ".*spool" \(".*spool\/http" is a symbolic link/)
    expect(readdirSync(elsewhere)).toEqual([])
  })

  // Before the fix: a <dir>/<sender> made in a shared (sticky) spool dir by another user before our
  // first start was used as ours: they could rename our files away and put links in their place.
  it('refuses a <dir>/<sender name> that is not its own (another user could write it)', async () => {
    const dir = join(await tempDir(), 'spool')
    mkdirSync(dir)
    othersDir(join(dir, 'http'), asRoot ? 0o700 : 0o777)
    const error = thrown(() => make(dir, new SwitchSink()))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).paths).toEqual(['spool.dir'])
    expect((error as Error).message).toMatch(
      asRoot ? /".*spool\/http" is owned by uid 1001, mode 0700, but it is the spool's own directory: remove it/ : /is writable by others/,
    )
    expect(readdirSync(join(dir, 'http'))).toEqual([])
  })
})

describe('the path to spool.dir (as root: another user is uid 1001)', () => {
  // Found by a second review: only the directory the path resolved to was checked. A link owned by
  // another user (they can repoint it) or a parent they own (they can rename what is below) let them
  // choose where root makes the spool. The path is now walked as OpenSSH's StrictModes walks it.
  it("refuses a spool.dir that is another user's link, or lies in another user's directory", async () => {
    const base = await tempDir()
    const target = join(base, 'target')
    mkdirSync(target, { mode: 0o700 })
    const link = join(base, 'link')
    symlinkSync(target, link)
    const theirs = join(base, 'theirs')
    mkdirSync(join(theirs, 'spool'), { recursive: true, mode: 0o755 })
    if (!asRoot) {
      // Without root both are ours: nothing to refuse.
      expect(() => openSpool(link)).not.toThrow()
      return
    }
    lchownSync(link, OTHER_UID, OTHER_UID)
    chownSync(theirs, OTHER_UID, OTHER_UID)
    expect(() => openSpool(link)).toThrow(new RegExp(`"${link}" is a symbolic link owned by uid 1001, who could point it elsewhere`))
    expect(readdirSync(target)).toEqual([])
    expect(() => openSpool(join(theirs, 'spool'))).toThrow(new RegExp(`"${theirs}" is owned by uid 1001, mode 0755`))
    expect(readdirSync(join(theirs, 'spool'))).toEqual([])
    // Not made yet below it: refused before anything is made through it.
    expect(() => openSpool(join(theirs, 'new', 'spool'))).toThrow(/is owned by uid 1001/)
    expect(existsSync(join(theirs, 'new'))).toBe(false)
    // Our own link to our own directory is fine.
    lchownSync(link, me, me)
    expect(() => openSpool(link)).not.toThrow()
  })
})

describe('files below the sender directory', () => {
  // Already refused before the fix ('wx+' has O_EXCL, which does not follow a final link); kept as a
  // guard: a link where the next segment goes must be a counted spool write error, not a write through.
  it('a link planted where the next segment goes is not written through: the batch is counted as a spool write error', async () => {
    const base = await tempDir()
    const dir = join(base, 'spool')
    const target = join(base, 'target.seg')
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    const [instance] = readdirSync(join(dir, 'http'))
    symlinkSync(target, join(dir, 'http', instance as string, FIRST_SEGMENT))
    for (let i = 0; i < 30; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    const stats = sender.stats()
    expect(stats.dropped.spoolError).toBeGreaterThan(0)
    expect(stats.spool?.lastError).toMatch(/EEXIST|ELOOP/)
    expect(ledgerGap(stats)).toBe(0)
    expect(existsSync(target)).toBe(false)
  })

  // Before the fix: appendFileSync followed the link and wrote the ack entry into its target.
  it('a link planted at a segment’s .ack file is not written through (the ack is lost: at worst a duplicate)', async () => {
    const base = await tempDir()
    const target = join(base, 'precious')
    writeFileSync(target, 'keep me')
    const spool = openSpool(join(base, 'spool'))
    const first = append(spool, 'a', 0, 2)
    append(spool, 'b', 2, 2)
    symlinkSync(target, join(spool.dir, FIRST_SEGMENT.replace('.seg', '.ack')))
    spool.take(first)
    spool.done(first)
    expect(readFileSync(target, 'utf8')).toBe('keep me')
    expect(spool.stats().lastError).toMatch(/ELOOP/)
  })

  // Before the fix: restoreInstanceDir made the directory with mkdirSync(recursive), which went
  // through a link planted at <dir>/<sender>, and wrote owner.json and the segment where it pointed.
  it('a sender directory removed while in use and replaced by a link is not written through when the spool makes it again', async () => {
    const base = await tempDir()
    const dir = join(base, 'spool')
    const elsewhere = join(base, 'elsewhere')
    mkdirSync(elsewhere)
    const sink = new SwitchSink()
    sink.mode = 'fail'
    const sender = make(dir, sink, { pool: { concurrency: 1 } })
    for (let i = 0; i < 30; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    expect(sender.stats().spooled).toBe(20)
    rmSync(join(dir, 'http'), { recursive: true, force: true })
    symlinkSync(elsewhere, join(dir, 'http'))
    for (let i = 30; i < 60; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    const stats = sender.stats()
    expect(stats.spool?.lastError).toMatch(/symbolic link/)
    expect(stats.dropped.spoolError).toBeGreaterThan(20)
    expect(ledgerGap(stats)).toBe(0)
    expect(readdirSync(elsewhere)).toEqual([])
  })

  // Before the fix: a link in <dir>/<sender> was taken for a dead owner's directory (its owner.json,
  // read through the link, was missing), moved into ours, and what it pointed at was read and sent.
  it('recovery does not follow a link in the sender directory, nor a segment link in an adopted directory', async () => {
    const base = await tempDir()
    // Another spool's leftovers, outside ours: two frames not delivered.
    const other = openSpool(join(base, 'other'))
    append(other, 'x', 0, 3)
    other.close()
    const otherInstance = other.dir
    const otherSegment = join(otherInstance, FIRST_SEGMENT)
    const dir = join(base, 'spool')
    mkdirSync(join(dir, 'http', '000000000-1-dead'), { recursive: true, mode: 0o700 })
    symlinkSync(otherInstance, join(dir, 'http', '000000000-2-link'))
    symlinkSync(otherSegment, join(dir, 'http', '000000000-1-dead', FIRST_SEGMENT))
    const spool = openSpool(dir)
    expect(spool.stats().recoveredRecords).toBe(0)
    expect(spool.peek()).toBeUndefined()
    expect(existsSync(otherSegment)).toBe(true)
  })

  // Before the fix: take() opened the segment with 'r', following the link, and sent what it read.
  it('a spooled segment replaced by a link is not read: its frame is lost (not retried forever)', async () => {
    const base = await tempDir()
    const dir = join(base, 'spool')
    const crashed = new DiskSpool({ ...DEFAULT_SPOOL, dir, fsync: 'never' }, 'http', () => undefined)
    append(crashed, 'a', 0, 2)
    crashed.close()
    const spool = openSpool(dir)
    const frame = spool.peek() as SpoolFrame
    expect(frame.id).toBe('a')
    // A copy elsewhere, with the same intact bytes, and a link to it in the segment's place.
    const [adopted] = readdirSync(spool.dir).filter((n) => n.startsWith('adopted-'))
    const segment = join(spool.dir, adopted as string, FIRST_SEGMENT)
    const copy = join(base, 'copy.seg')
    writeFileSync(copy, readFileSync(segment))
    rmSync(segment)
    symlinkSync(copy, segment)
    const error = thrown(() => spool.take(frame))
    expect(error).toBeInstanceOf(SpoolReadError)
    expect({ transient: (error as SpoolReadError).transient, message: (error as Error).message }).toEqual({
      transient: false,
      message: expect.stringMatching(/replaced by a symbolic link/),
    })
    expect(spool.peek()).toBeUndefined()
  })
})

describe('deadLetter.path', () => {
  // Before the fix: no start-up check existed, and the first write appended through the link.
  it('checkDeadLetterPath refuses a symbolic link at the path, naming deadLetter.path', async () => {
    const base = await tempDir()
    writeFileSync(join(base, 'target'), '')
    symlinkSync(join(base, 'target'), join(base, 'dead.ndjson'))
    const error = thrown(() => checkDeadLetterPath({ path: join(base, 'dead.ndjson') }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).paths).toEqual(['deadLetter.path'])
    expect((error as Error).message).toMatch(
      /^pino-courier: invalid options: deadLetter\.path: cannot use ".*dead\.ndjson" \(it is a symbolic link/,
    )
  })

  // Before the fix: not checked. Others could replace the file with a link before the first write.
  it("checkDeadLetterPath refuses a directory owned by another user and writable by others, accepts a sticky one of root's", async () => {
    const base = await tempDir()
    const loose = othersDir(join(base, 'loose'), 0o777)
    const sticky = join(base, 'sticky')
    mkdirSync(sticky)
    chmodSync(sticky, 0o1777)
    const error = thrown(() => checkDeadLetterPath({ path: join(loose, 'dead.ndjson') }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).paths).toEqual(['deadLetter.path'])
    expect((error as Error).message).toMatch(
      asRoot ? /its directory ".*loose" is owned by uid 1001 and writable by others, mode 0777/ : /its directory ".*loose" is writable by others/,
    )
    expect(() => checkDeadLetterPath({ path: join(sticky, 'dead.ndjson') })).not.toThrow()
    // A directory not made yet is made owner-only at the first write.
    expect(() => checkDeadLetterPath({ path: join(base, 'not', 'yet', 'dead.ndjson') })).not.toThrow()
  })

  // Before the fix: openSync(path, 'a') followed the link and appended the records to its target.
  it('a link planted at the path after start-up is not written through: a dead-letter write error', async () => {
    const base = await tempDir()
    const target = join(base, 'precious')
    writeFileSync(target, 'keep me')
    const dlq = join(base, 'dead.ndjson')
    const sink = new SwitchSink()
    sink.mode = 'reject'
    const sender = make(join(base, 'spool'), sink, { deadLetter: { path: dlq }, spool: false })
    symlinkSync(target, dlq)
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    const stats = sender.stats()
    expect({ failed: stats.failed, deadLettered: stats.deadLettered }).toEqual({ failed: 10, deadLettered: 0 })
    expect(stats.recentFailures[0]?.error).toMatch(/not written to the dead-letter file either: .*is a symbolic link/)
    expect(readFileSync(target, 'utf8')).toBe('keep me')
  })

  // Found by review: in a sticky directory such as /tmp another user can make the file first (mode
  // 0666) and read every failed record appended to it. Needs root to make a file another user owns.
  it("refuses a file another user made at the path, at start-up and when it appears later (as root)", async () => {
    const base = await tempDir()
    const shared = join(base, 'tmp-like')
    mkdirSync(shared)
    chmodSync(shared, 0o1777)
    const dlq = join(shared, 'dead.ndjson')
    const plant = (): void => {
      writeFileSync(dlq, '')
      chmodSync(dlq, 0o666)
      chownSync(dlq, asRoot ? OTHER_UID : me, asRoot ? OTHER_UID : me)
    }
    plant()
    if (!asRoot) {
      // Without root the file made here is ours: nothing to refuse.
      expect(() => checkDeadLetterPath({ path: dlq })).not.toThrow()
      return
    }
    const error = thrown(() => checkDeadLetterPath({ path: dlq }))
    expect((error as ConfigError).paths).toEqual(['deadLetter.path'])
    expect((error as Error).message).toMatch(/it is owned by uid 1001, who could read the failed records/)

    rmSync(dlq)
    const sink = new SwitchSink()
    sink.mode = 'reject'
    const sender = make(join(base, 'spool'), sink, { deadLetter: { path: dlq }, spool: false })
    plant()
    for (let i = 0; i < 10; i++) sender.send(rec(i))
    await vi.advanceTimersByTimeAsync(200)
    const stats = sender.stats()
    expect({ failed: stats.failed, deadLettered: stats.deadLettered }).toEqual({ failed: 10, deadLettered: 0 })
    expect(stats.recentFailures[0]?.error).toMatch(/not written to the dead-letter file either: .*owned by uid 1001/)
    expect(readFileSync(dlq, 'utf8')).toBe('')
  })

  // Found by a second review: a FIFO made at the path after start-up (the file does not exist until the
  // first failure) blocked the thread in open() until someone read it: the sender hung.
  it('a FIFO at the path is refused without blocking: a dead-letter write error', async () => {
    const base = await tempDir()
    const dlq = join(base, 'dead.ndjson')
    const sink = new SwitchSink()
    sink.mode = 'reject'
    const sender = make(join(base, 'spool'), sink, { deadLetter: { path: dlq }, spool: false })
    execFileSync('mkfifo', [dlq])
    sender.send(rec(1))
    await vi.advanceTimersByTimeAsync(200)
    const stats = sender.stats()
    expect({ failed: stats.failed, deadLettered: stats.deadLettered }).toEqual({ failed: 1, deadLettered: 0 })
    expect(stats.recentFailures[0]?.error).toMatch(/not written to the dead-letter file either: .*(ENXIO|not a regular file)/)
  })

  // Found by a second review: a hard link at the path (to a file the app can write) passed the checks,
  // and the failed records were appended to the other file.
  it('a hard link at the path is refused, at start-up and at the first write', async () => {
    const base = await tempDir()
    const victim = join(base, 'victim')
    writeFileSync(victim, 'keep me\n')
    const dlq = join(base, 'dead.ndjson')
    linkSync(victim, dlq)
    expect(() => checkDeadLetterPath({ path: dlq })).toThrow(/deadLetter\.path: .*has 1 other hard link/)
    const file = new DeadLetterFile({ path: dlq })
    defer(() => file.close())
    expect(() => file.write([rec(1)])).toThrow(/has 1 other hard link/)
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n')
  })

  // Before the fix: written into whatever directory was there, whoever could write it.
  it('a write into a directory that others can write is refused', async () => {
    const base = await tempDir()
    const loose = othersDir(join(base, 'loose'), 0o777)
    const file = new DeadLetterFile({ path: join(loose, 'dead.ndjson') })
    defer(() => file.close())
    expect(() => file.write([rec(1)])).toThrow(asRoot ? /owned by uid 1001 and writable by others/ : /writable by others/)
    expect(readdirSync(loose)).toEqual([])
  })
})
