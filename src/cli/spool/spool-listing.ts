import { lstatSync, readdirSync, type Dirent } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { ACK_SUFFIX, readAcks, SEGMENT_SUFFIX } from '../../spool/segment.js'
import { decodeFrame, FRAME_MAGIC, readFrameInfo } from '../../spool/spool-frame.js'
import { ADOPTED_PREFIX, isAlive, OWNER_FILE, readFileNoFollow, type SpoolOwner } from '../../spool/spool-owner.js'
import { recordTime } from './record-time.js'

/**
 * Who holds an instance directory: `live` (its process runs: its records are its own), `dead` (gone:
 * the next start of that sender adopts them), `released` (closed with records left, for the next
 * start), `other-host` (written from another host name: adopted unless `spool.adoptOtherHosts` is
 * false), `unknown` (an owner file that cannot be read).
 */
export type OwnerState = 'live' | 'dead' | 'released' | 'other-host' | 'unknown'

/** Records waiting in a part of the spool. */
export interface Waiting {
  /** Records in frames not done (not acknowledged). */
  readonly records: number
  /** Their bytes as the queue counts them (lines plus newlines). */
  readonly bytes: number
  /** Segment files. */
  readonly segments: number
  /** Bytes of those files (done frames and torn ones included). */
  readonly fileBytes: number
  /** Bytes of torn or corrupt frames (a live owner's last frame may be one being written). */
  readonly corruptBytes: number
  /** Time (ms epoch) of the oldest and newest record waiting: from the records' `time`, else the segment files' times. */
  readonly oldest: number | undefined
  readonly newest: number | undefined
  /** Where those times come from: the records' `time` field, or the files' modification times when records have none. */
  readonly timeSource: 'records' | 'files' | undefined
}

/** One instance directory of a sender's spool (one process's, or one a dead process left). */
export interface OwnerListing extends Waiting {
  /** The directory's name (`<time>-<pid>-<random>`). */
  readonly instance: string
  readonly state: OwnerState
  readonly pid?: number | undefined
  readonly host?: string | undefined
  /** When the owner started (ms epoch). */
  readonly createdAt?: number | undefined
  /** Directories it adopted from dead owners (their records are in its counts). */
  readonly adopted: readonly string[]
}

/** One sender's spool, `<dir>/<sender>/`. */
export interface SenderListing extends Waiting {
  /** The sender's name (the directory's name, decoded). */
  readonly name: string
  /** The directory's name under the spool. */
  readonly dirName: string
  readonly owners: readonly OwnerListing[]
}

/** What a spool directory holds. */
export interface SpoolListing {
  readonly dir: string
  /** When it was read (ms epoch): ages are counted from here. */
  readonly at: number
  readonly senders: readonly SenderListing[]
}

/** The directory given is not a spool (missing, not a directory, or holding something else): exit 2. */
export class NotASpoolError extends Error {
  override readonly name = 'NotASpoolError'
}

/** Instance directory names: `<time base 36>-<pid>-<8 hex>` (spool-owner.ts createInstanceDir). */
const INSTANCE_NAME = /^[0-9a-z]+-\d+-[0-9a-f]{8}$/

/**
 * Lists what waits in the spool directory `dir` (a config's `spool.dir`), per sender and per owner,
 * read-only: no file is written, renamed or removed, no directory taken over, so it works while apps
 * write the spool (what it shows is then a snapshot: files may come and go while it reads). Uses the
 * spool's own readers: frames by their checksums, done frames from the `.ack` files, owners by their
 * owner files and process liveness.
 * @throws {NotASpoolError} when `dir` is missing, not a directory, or holds no sender spools.
 */
export function listSpool(dir: string): SpoolListing {
  const root = resolve(dir)
  let entries: Dirent[]
  try {
    entries = readdirSync(root, { withFileTypes: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new NotASpoolError(`${dir}: no such directory`)
    if (code === 'ENOTDIR') throw new NotASpoolError(`${dir}: not a directory (give the spool.dir of a config)`)
    throw new NotASpoolError(`${dir}: cannot read it (${(error as Error).message})`)
  }
  const senders: SenderListing[] = []
  const strangers: string[] = []
  for (const entry of sorted(entries)) {
    if (entry.isDirectory()) {
      const sender = listSender(join(root, entry.name), entry.name)
      if (sender) senders.push(sender)
      else strangers.push(entry.name)
    } else strangers.push(entry.name)
  }
  if (senders.length === 0 && strangers.length > 0) {
    throw new NotASpoolError(
      `${dir}: not a spool directory (none of its entries is a sender's spool, <sender>/<instance>/ with segment files; found ${strangers.slice(0, 3).join(', ')}${strangers.length > 3 ? ', …' : ''})`,
    )
  }
  return { dir: root, at: Date.now(), senders }
}

/** The sender spool at `path`, or undefined when it does not look like one. */
function listSender(path: string, dirName: string): SenderListing | undefined {
  let entries: Dirent[]
  try {
    entries = readdirSync(path, { withFileTypes: true })
  } catch {
    return undefined
  }
  const owners: OwnerListing[] = []
  let instances = 0
  let strangers = 0
  for (const entry of sorted(entries)) {
    // Names starting with a dot are skipped, as the spool's own start skips them (`.new-` directories
    // are starts in progress, empty; a `.DS_Store` or an editor's file is nobody's spool).
    if (entry.name.startsWith('.')) continue
    // Links are never followed (the spool never makes one).
    if (!entry.isDirectory() || !INSTANCE_NAME.test(entry.name)) {
      strangers++
      continue
    }
    instances++
    const owner = listOwner(join(path, entry.name), entry.name)
    if (owner) owners.push(owner)
  }
  // Something else than a sender's spool; one with instance directories is listed, strangers aside.
  if (strangers > 0 && instances === 0) return undefined
  return { name: senderName(dirName), dirName, owners, ...sum(owners) }
}

function listOwner(path: string, instance: string): OwnerListing | undefined {
  const tally = new Tally()
  const adopted: string[] = []
  if (!tally.walk(path, adopted)) return undefined
  const { state, owner } = ownerOf(path)
  return {
    instance,
    state,
    ...(owner ? { pid: owner.pid, host: owner.host, createdAt: owner.createdAt } : {}),
    adopted,
    ...tally.result(),
  }
}

function ownerOf(dir: string): { state: OwnerState; owner?: SpoolOwner } {
  let owner: SpoolOwner
  try {
    owner = JSON.parse(readFileNoFollow(join(dir, OWNER_FILE)).toString('utf8')) as SpoolOwner
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'released' }
    // A torn owner file (a start that crashed writing it) is taken over as a dead owner's; one that
    // cannot be read (EACCES) is left alone, as the spool's own adoption does.
    return { state: error instanceof SyntaxError ? 'dead' : 'unknown' }
  }
  if (typeof owner !== 'object' || owner === null) return { state: 'unknown' }
  if (owner.host !== hostname()) return { state: 'other-host', owner }
  return { state: isAlive(owner) ? 'live' : 'dead', owner }
}

/** Counts what waits in an instance directory, adopted directories inside it included. */
class Tally {
  records = 0
  bytes = 0
  segments = 0
  fileBytes = 0
  corruptBytes = 0
  #oldest: number | undefined
  #newest: number | undefined
  #oldestFile: number | undefined
  #newestFile: number | undefined
  /** Records without a usable `time`. */
  #untimed = 0

  /** False when `dir` cannot be read (gone: adopted or removed meanwhile). */
  walk(dir: string, adopted: string[]): boolean {
    let entries: Dirent[]
    try {
      entries = sorted(readdirSync(dir, { withFileTypes: true }))
    } catch {
      return false
    }
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name.startsWith(ADOPTED_PREFIX)) {
        adopted.push(entry.name)
        this.walk(join(dir, entry.name), adopted)
      }
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name.endsWith(SEGMENT_SUFFIX)) this.#segment(join(dir, entry.name))
    }
    return true
  }

  result(): Waiting {
    const byRecords = this.#untimed === 0 && this.#oldest !== undefined
    return {
      records: this.records,
      bytes: this.bytes,
      segments: this.segments,
      fileBytes: this.fileBytes,
      corruptBytes: this.corruptBytes,
      oldest: this.records === 0 ? undefined : byRecords ? this.#oldest : this.#oldestFile,
      newest: this.records === 0 ? undefined : byRecords ? this.#newest : this.#newestFile,
      timeSource: this.records === 0 ? undefined : byRecords ? 'records' : 'files',
    }
  }

  #segment(path: string): void {
    let data: Buffer
    let mtime: number
    try {
      // Read as the spool reads it at start-up: never through a link.
      data = readFileNoFollow(path)
      mtime = lstatSync(path).mtimeMs
    } catch {
      // Deleted meanwhile (all its frames done): nothing waits in it.
      return
    }
    const acked = readAcks(`${path.slice(0, -SEGMENT_SUFFIX.length)}${ACK_SUFFIX}`)
    this.segments++
    this.fileBytes += data.length
    let pending = 0
    let offset = 0
    while (offset < data.length) {
      const info = readFrameInfo(data, offset)
      if (!info) {
        const next = nextFrame(data, offset + 1)
        this.corruptBytes += next - offset
        offset = next
        continue
      }
      if (!acked.has(offset)) {
        pending++
        this.records += info.count
        this.bytes += info.bytes
        for (const line of frameLines(data.subarray(offset, offset + info.size))) this.#time(recordTime(line))
      }
      offset += info.size
    }
    if (pending > 0) {
      this.#oldestFile = Math.min(this.#oldestFile ?? mtime, mtime)
      this.#newestFile = Math.max(this.#newestFile ?? mtime, mtime)
    }
  }

  #time(time: number | undefined): void {
    if (time === undefined) {
      this.#untimed++
      return
    }
    if (this.#oldest === undefined || time < this.#oldest) this.#oldest = time
    if (this.#newest === undefined || time > this.#newest) this.#newest = time
  }
}

/** A frame's lines; none when it cannot be decoded (its checksum held, so only a bug of another version would). */
function frameLines(frame: Buffer): readonly string[] {
  try {
    return decodeFrame(frame).lines
  } catch {
    return []
  }
}

/** Offset of the next whole frame at or after `from`, or the buffer's end (as recovery.ts skips torn bytes). */
function nextFrame(data: Buffer, from: number): number {
  for (let at = data.indexOf(FRAME_MAGIC, from); at >= 0; at = data.indexOf(FRAME_MAGIC, at + 1)) {
    if (readFrameInfo(data, at)) return at
  }
  return data.length
}

/** The sum of the owners' counts, for their sender. */
function sum(parts: readonly Waiting[]): Waiting {
  let records = 0
  let bytes = 0
  let segments = 0
  let fileBytes = 0
  let corruptBytes = 0
  let oldest: number | undefined
  let newest: number | undefined
  let files = false
  for (const p of parts) {
    records += p.records
    bytes += p.bytes
    segments += p.segments
    fileBytes += p.fileBytes
    corruptBytes += p.corruptBytes
    if (p.oldest !== undefined) oldest = Math.min(oldest ?? p.oldest, p.oldest)
    if (p.newest !== undefined) newest = Math.max(newest ?? p.newest, p.newest)
    if (p.timeSource === 'files') files = true
  }
  const timeSource = records === 0 ? undefined : files ? 'files' : 'records'
  return { records, bytes, segments, fileBytes, corruptBytes, oldest, newest, timeSource }
}

/** A sender's name from its spool directory's name (the inverse of disk-spool.ts spoolDirName). */
export function senderName(dirName: string): string {
  if (dirName === '%') return ''
  return dirName.replace(/%([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

function sorted(entries: Dirent[]): Dirent[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
