import { accessSync, constants, fstatSync, realpathSync, statSync, type Stats } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Courier, CourierCloseReport } from '../../input/courier.js'
import { nextSeq } from '../../input/record.js'
import { DROP_REASONS, totalDropped, type DropReason } from '../../stats/delivery-stats.js'
import type { RecordObserver } from '../../stats/ledger.js'
import { overQueueBounds } from '../cli-courier.js'
import { LineOutcomes } from './line-outcomes.js'
import { LineReader, type FileLine } from './line-reader.js'
import { RedriveLock } from './redrive-lock.js'
import { writeRemainder, type KeptRange, type RemainderResult } from './remainder.js'
import { isSameFile } from './same-file.js'
import { setTimer } from '../../timers.js'

/** A problem found before anything was sent (exit code 2). */
export class RedriveUsageError extends Error {
  override readonly name = 'RedriveUsageError'
}

/** What {@link redrive} needs. */
export interface RedriveOptions {
  /** The file to send again, as the user named it. */
  readonly file: string
  /** The dead-letter paths of the config's senders: none may be the file. */
  readonly deadLetterPaths: readonly string[]
  /** Builds the courier, with `observer` as every sender's record observer. Called once the file checks out. */
  readonly createCourier: (observer: RecordObserver) => Courier
  /** Aborted (a signal): reading stops, what was sent is settled within the close deadline, the rest stays. */
  readonly stop?: AbortSignal
  /** Runs the rewrite of the file, which a second signal must not cut short (see stopOnSignals). */
  readonly guard?: <T>(work: () => Promise<T>) => Promise<T>
}

/** What a redrive did, line by line (a line sent to several senders counts once). */
export interface RedriveReport {
  /** The file's real path. */
  readonly file: string
  /** Lines sent (blank ones are not). */
  readonly sent: number
  /** Blank lines skipped (and not kept). */
  readonly blank: number
  /** Lines every sender that takes them delivered (or spooled): removed from the file. */
  readonly delivered: number
  /** Of those, lines at least one sender left in its disk spool. */
  readonly spooled: number
  /** Lines some sender failed for good: kept. */
  readonly failed: number
  /** Lines some sender dropped, by the first reason: kept. */
  readonly dropped: Readonly<Record<DropReason, number>>
  /** Lines no sender reported on (below every sender's level, or a sender that tells nothing): kept. */
  readonly untaken: number
  /** Lines left in the file (of those read; appended ones come on top). */
  readonly kept: number
  /**
   * Records the senders counted failed or dropped without saying which (a sink refusing records by
   * count only, a spool losing records): when not 0, every line was kept, delivered or not.
   */
  readonly unattributed: number
  /** Reading was stopped by a signal before the end of the file: the unread lines stay. */
  readonly stopped: boolean
  /** Senders whose outcomes are not followed record by record (not queued senders): they decide nothing. */
  readonly unfollowed: readonly string[]
  /**
   * Whether the file was rewritten (and the bytes appended meanwhile that were kept), or left as it
   * was: `unchanged` when no line was to leave it.
   */
  readonly remainder: RemainderResult | 'unchanged'
  readonly close: CourierCloseReport
}

/**
 * Sends the lines of `file` again through a courier and keeps in the file exactly the lines that were
 * not delivered, so that a second run does not send the first one's deliveries again. See
 * docs/cli-redrive.md for what is kept and why it is at-least-once.
 * @throws {RedriveUsageError} when the file cannot be used (nothing is sent then).
 */
export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const { real } = checkFile(options.file)
  // The lock first, then the file: opened before it, the file could be the version a finishing run was
  // replacing (it renames its remainder over the file, then lets the lock go), whose delivered lines
  // this run would send again.
  let lock: RedriveLock
  try {
    lock = RedriveLock.take(real)
  } catch (error) {
    throw new RedriveUsageError(`${options.file}: ${(error as Error).message}`)
  }
  try {
    let file: FileHandle
    try {
      file = await open(real, 'r')
    } catch (error) {
      throw new RedriveUsageError(`${options.file}: cannot read it (${(error as Error).message})`)
    }
    try {
      const stats = fstatSync(file.fd)
      for (const path of options.deadLetterPaths) {
        if (isSameFile(path, real, stats)) {
          throw new RedriveUsageError(
            `${options.file}: it is the dead-letter file of the config (deadLetter.path "${path}"): lines failing again would be appended to the file being re-sent; set another deadLetter.path`,
          )
        }
      }
      return await send(options, real, file)
    } finally {
      await file.close()
    }
  } finally {
    lock.release()
  }
}

/** The file's real path and stats; refuses what cannot be read, or rewritten in its directory. */
function checkFile(given: string): { real: string; stats: Stats } {
  let real: string
  let stats: Stats
  try {
    real = realpathSync(given)
    stats = statSync(real)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new RedriveUsageError(`${given}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
  }
  if (!stats.isFile()) throw new RedriveUsageError(`${given}: not a regular file`)
  try {
    // The delivered lines leave by writing the remainder beside it and renaming it into place.
    accessSync(dirname(real), constants.W_OK | constants.X_OK)
  } catch {
    throw new RedriveUsageError(`${given}: its directory ${dirname(real)} is not writable, so the delivered lines could not be removed from the file`)
  }
  return { real, stats }
}

async function send(options: RedriveOptions, real: string, file: FileHandle): Promise<RedriveReport> {
  const opened = fstatSync(file.fd)
  const lines = new LineOutcomes()
  const courier = options.createCourier(lines)
  const unfollowed = lines.follow(courier.senders)
  if (unfollowed.length === courier.senders.length) {
    await courier.close()
    throw new RedriveUsageError(
      `no sender of the config reports its records one by one (${unfollowed.join(', ')}): redrive could not tell which lines were delivered`,
    )
  }
  const stop = options.stop
  const stopped = new Promise<void>((resolve) => {
    if (stop?.aborted) resolve()
    else stop?.addEventListener('abort', () => resolve(), { once: true })
  })
  const reader = new LineReader(file)
  let blank = 0
  // Offset past the last line handled (sent or skipped as blank): everything after it stays in the
  // file as the tail, a line read but not sent when a signal came included.
  let handled = 0
  const write = async (line: FileLine): Promise<void> => {
    handled = line.end
    if (isBlank(line.text)) {
      blank++
      return
    }
    // The courier gives the line's record the next arrival seq: that is how outcomes find their line.
    // Added first: a sender that refuses the line (overflow, oversize) reports it within write().
    lines.add(nextSeq() + 1, line.start, line.end)
    const keepGoing = courier.write(line.text)
    if (!keepGoing) await waitForRoom(courier, stopped, stop)
  }
  for (let line = await reader.next(); line && !stop?.aborted; line = await reader.next()) await write(line)
  if (!stop?.aborted && reader.unterminated > 0) {
    // A last line without a newline is a line of a saved file, unless the file is being appended to
    // (the rest of the line may be on its way): then it stays for the next run, with the tail.
    const now = fstatSync(file.fd)
    if (now.size === reader.consumed + reader.unterminated && now.mtimeMs === opened.mtimeMs) {
      const last = reader.takeUnterminated()
      if (last) await write(last)
    }
  }
  try {
    await Promise.race([courier.flush(), stopped])
  } catch {
    // A custom sender's flush failing: its records are counted, close reports them.
  }
  const close = await courier.close()
  const run = { real, file, opened, lines, blank, unfollowed, close, stopped: stop?.aborted === true, consumed: handled }
  return options.guard ? options.guard(() => finish(run)) : finish(run)
}

async function finish(run: {
  real: string
  file: FileHandle
  opened: Stats
  lines: LineOutcomes
  blank: number
  unfollowed: string[]
  close: CourierCloseReport
  stopped: boolean
  consumed: number
}): Promise<RedriveReport> {
  const { lines, close } = run
  const followed = close.senders.filter((s) => !run.unfollowed.includes(s.name))
  const bad = followed.reduce((n, s) => n + s.stats.failed + totalDropped(s.stats), 0)
  const unattributed = Math.max(0, bad - lines.badReports)
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>
  const counts = { delivered: 0, spooled: 0, failed: 0, untaken: 0 }
  const kept: KeptRange[] = []
  for (let i = 0; i < lines.count; i++) {
    const fate = lines.fate(i)
    if (fate === 'delivered' || fate === 'spooled') {
      counts.delivered++
      if (fate === 'spooled') counts.spooled++
      if (unattributed === 0) continue
    } else if (fate === 'failed' || fate === 'untaken') counts[fate]++
    else dropped[fate]++
    const start = lines.start(i)
    const last = kept[kept.length - 1]
    // Neighbouring lines are one range: fewer, larger copies.
    if (last && last.end === start) kept[kept.length - 1] = { start: last.start, end: lines.end(i) }
    else kept.push({ start, end: lines.end(i) })
  }
  const keptLines = unattributed > 0 ? lines.count : lines.count - counts.delivered
  let remainder: RemainderResult | 'unchanged' = 'unchanged'
  if (keptLines < lines.count || run.blank > 0) {
    try {
      remainder = await writeRemainder(run.real, run.file.fd, run.opened, kept, run.consumed)
    } catch (error) {
      // A full disk, say: the file stays as it was (the temp file is gone), and the run says so.
      remainder = { written: false, reason: `its remainder could not be written (${(error as Error).message})` }
    }
  }
  return {
    file: run.real,
    sent: lines.count,
    blank: run.blank,
    ...counts,
    dropped,
    kept: keptLines,
    unattributed,
    stopped: run.stopped,
    unfollowed: run.unfollowed,
    remainder,
    close,
  }
}

/** How often a paused reader looks again once a sender's block window is over. */
const ROOM_POLL_MS = 20

/**
 * Waits until every `block` sender has room again. A sender's ready() also resolves when its block
 * window (queue.maxBlockMs) is over, after which it would drop; a file has no deadline to meet, so the
 * reader keeps waiting until the queue is back within its bounds (as the pipe command does).
 */
async function waitForRoom(courier: Courier, stopped: Promise<void>, stop: AbortSignal | undefined): Promise<void> {
  for (;;) {
    await Promise.race([courier.ready(), stopped])
    if (stop?.aborted || !overQueueBounds(courier)) return
    await Promise.race([sleep(ROOM_POLL_MS), stopped])
  }
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true
  const first = text.charCodeAt(0)
  // Only a line starting with white space can be all white space: the common line is not trimmed.
  return (first === 32 || first === 9 || first === 13) && text.trim() === ''
}

/** Resolves after `ms` (through the library's timers, like every wait it makes). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms))
}
