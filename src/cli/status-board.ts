/**
 * The live status on stderr. On a terminal: one line per sender (records/s delivered, queued, in
 * flight, delivered, failed, dropped), redrawn in place a few times a second, only when something
 * changed, cut to the terminal's width so a line never wraps (a wrapped line would break the redraw).
 * Elsewhere (a pipe, a file): a plain summary line every `intervalMs`.
 */
import { writeSync } from 'node:fs'
import type { Courier } from '../input/courier.js'
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'
import { setRepeat } from '../timers.js'
import { droppedText } from './tally.js'

/** How often the terminal lines are redrawn. */
export const TTY_REDRAW_MS = 250

/** Where the board writes, and what it knows about it. */
export interface StatusTarget {
  /** Writes text to stderr (synchronously: a status line must not be lost at exit). */
  write(text: string): void
  readonly isTTY: boolean
  /** The terminal's width (undefined when unknown). */
  columns(): number | undefined
}

/** stderr as a {@link StatusTarget}. */
export function stderrTarget(): StatusTarget {
  return {
    write(text) {
      try {
        writeSync(2, text)
      } catch {
        // stderr is gone: nobody is watching the status.
      }
    },
    isTTY: process.stderr.isTTY === true,
    columns: () => process.stderr.columns,
  }
}

export class StatusBoard {
  readonly #courier: Courier
  readonly #target: StatusTarget
  readonly #intervalMs: number
  readonly #started = Date.now()
  #timer: NodeJS.Timeout | undefined
  /** Lines drawn last on the terminal, to move back over them and to skip an unchanged redraw. */
  #drawn: string[] = []
  /** Delivered counts at the start of the rate's window, per sender. */
  #window: { at: number; delivered: number[] } | undefined
  #rates: number[] = []

  /** `intervalMs`: the plain line's period (0 = none); a terminal is redrawn every {@link TTY_REDRAW_MS}. */
  constructor(courier: Courier, target: StatusTarget, intervalMs: number) {
    this.#courier = courier
    this.#target = target
    this.#intervalMs = intervalMs
  }

  start(): void {
    // The first rate is over the first second, not from the first line printed.
    this.#rate(this.#courier.stats().senders)
    if (this.#target.isTTY) {
      this.#timer = setRepeat(() => this.#redraw(), TTY_REDRAW_MS)
      this.#redraw()
    } else if (this.#intervalMs > 0) {
      this.#timer = setRepeat(() => this.#target.write(this.summaryLine() + '\n'), this.#intervalMs)
    }
    // The board never keeps the process alive on its own.
    this.#timer?.unref()
  }

  /** A message (a warning) above the live lines, which are drawn again below it. */
  message(text: string): void {
    if (!this.#target.isTTY || this.#drawn.length === 0) {
      this.#target.write(text + '\n')
      return
    }
    this.#target.write(`${cursorUp(this.#drawn.length)}\x1b[J${text}\n`)
    this.#drawn = []
    this.#redraw()
  }

  /** Stops redrawing; on a terminal the lines are drawn once more with the last counts and left there. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#target.isTTY) this.#redraw()
  }

  /** The plain status line: `pino-courier: 12 s, 10000 lines; http: 800 rec/s, queued 0, ...`. */
  summaryLine(): string {
    const stats = this.#courier.stats()
    const rates = this.#rate(stats.senders)
    const elapsed = Math.round((Date.now() - this.#started) / 1000)
    const senders = stats.senders.map((s, i) => `${s.name}: ${senderStatus(s, rates[i] ?? 0, ', ')}`)
    return `pino-courier: ${elapsed} s, ${stats.lines} lines; ${senders.join('; ')}`
  }

  #redraw(): void {
    const stats = this.#courier.stats()
    const rates = this.#rate(stats.senders)
    // Left one short of the width: a line filling it exactly would wrap on some terminals. A pty
    // without a size says 0: taken as 80.
    const width = Math.max(20, (this.#target.columns() || 80) - 1)
    const names = stats.senders.map((s) => fit(s.name, MAX_NAME_WIDTH))
    const nameWidth = Math.max(...names.map((n) => n.length))
    const lines = stats.senders.map((s, i) => {
      const name = (names[i] ?? '').padEnd(nameWidth)
      const full = `${name}  ${senderStatus(s, rates[i] ?? 0, '  ')}`
      // A narrow terminal gets the short form before anything is cut: the counts that matter last.
      return fit(full.length <= width ? full : `${name} ${shortStatus(s, rates[i] ?? 0)}`, width)
    })
    if (lines.length === this.#drawn.length && lines.every((line, i) => line === this.#drawn[i])) return
    // Back to the first line drawn, then each line erased and written again.
    let out = this.#drawn.length > 0 ? cursorUp(this.#drawn.length) : ''
    for (const line of lines) out += `\x1b[2K${line}\n`
    this.#target.write(out)
    this.#drawn = lines
  }

  /** Records delivered per second, per sender, over a window of about a second. */
  #rate(senders: readonly SenderStats[]): number[] {
    const now = Date.now()
    const delivered = senders.map((s) => s.delivered)
    if (this.#window === undefined) {
      this.#window = { at: now, delivered }
      return this.#rates
    }
    const elapsed = now - this.#window.at
    if (elapsed >= 1000) {
      const before = this.#window.delivered
      this.#rates = delivered.map((d, i) => Math.round(((d - (before[i] ?? 0)) * 1000) / elapsed))
      this.#window = { at: now, delivered }
    }
    return this.#rates
  }
}

function senderStatus(s: SenderStats, rate: number, sep: string): string {
  const spooled = s.spooled > 0 ? `${sep}spooled ${s.spooled}` : ''
  return [`${rate} rec/s`, `queued ${s.queued}`, `in flight ${s.inFlight}`, `delivered ${s.delivered}`, `failed ${s.failed}`, droppedText(s)].join(sep) + spooled
}

/** The status of a narrow terminal: `1200/s q 0 fly 500 ok 9000 fail 0 drop 0`. */
function shortStatus(s: SenderStats, rate: number): string {
  const dropped = DROP_REASONS.reduce((sum, r) => sum + s.dropped[r], 0)
  const spooled = s.spooled > 0 ? ` spool ${s.spooled}` : ''
  return `${rate}/s q ${s.queued} fly ${s.inFlight} ok ${s.delivered} fail ${s.failed} drop ${dropped}${spooled}`
}

/** Longest sender name shown on a terminal line (cut with an ellipsis past it). */
const MAX_NAME_WIDTH = 20

/** Moves the cursor to the start of the line `n` lines up. */
function cursorUp(n: number): string {
  return `\r\x1b[${n}A`
}

/** Cuts a line to `width` characters (the status is ASCII but for sender names). */
function fit(line: string, width: number): string {
  return line.length <= width ? line : line.slice(0, Math.max(0, width - 1)) + '…'
}
