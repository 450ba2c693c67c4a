import { AlertDigest, type AlertDigestOptions, type DigestSnapshot, type PostReason } from './alert-digest.js'
import type { LogRecord } from '../../input/record.js'
import { setTimer } from '../../timers.js'

/** When posts are made. */
export interface AlertWindowOptions {
  /** Length of a window. */
  readonly windowMs: number
  /** Most posts per window (the digest that ends a window opens the next). */
  readonly maxPosts: number
  /** A record at or above it posts at once, while the window has posts left. */
  readonly flushLevel: number
}

interface Window {
  readonly start: number
  readonly end: number
  posts: number
}

/**
 * Decides when collected alerts go out. The first record after a quiet spell is posted at once and
 * opens a window of `windowMs`; later ones wait in the {@link AlertDigest} and go out as one digest when
 * the window ends, which opens the next window with that digest as its first post. A record at or above
 * `flushLevel` posts the digest at once, within `maxPosts` posts per window.
 */
export class AlertWindows {
  /** How records were taken in, and why posts were held back. */
  readonly counts = { suppressed: 0, grouped: 0, otherOccurrences: 0, deferredFlushes: 0 }
  readonly #options: AlertWindowOptions
  readonly #digest: AlertDigest
  readonly #post: (snapshot: DigestSnapshot) => void
  #window: Window | undefined
  #timer: NodeJS.Timeout | undefined

  /** `post`: called with each digest to send. */
  constructor(options: AlertWindowOptions, digest: AlertDigestOptions, post: (snapshot: DigestSnapshot) => void) {
    this.#options = options
    this.#digest = new AlertDigest(digest)
    this.#post = post
  }

  /** Records collected and not yet in a post. */
  get pending(): number {
    return this.#digest.pending
  }

  /** Groups in the current window. */
  get groups(): number {
    return this.#digest.groups
  }

  /** Posts made in the current window. */
  get windowPosts(): number {
    return this.#window?.posts ?? 0
  }

  /** Takes an alert in; posts at once when it opens a window or reaches `flushLevel` with posts left. */
  add(record: LogRecord, now: number): void {
    const counts = this.counts
    const taken = this.#digest.add(record, now)
    if (taken === 'grouped') counts.grouped++
    else if (taken === 'other') counts.otherOccurrences++

    const window = this.#window
    if (window === undefined) return this.#postNow('first', this.#openWindow(now), now)
    if (record.level >= this.#options.flushLevel) {
      if (window.posts < this.#options.maxPosts) return this.#postNow('flushLevel', window, now)
      counts.deferredFlushes++
    }
    counts.suppressed++
  }

  /** Closing: no window opens again; returns what is collected as the closing digest (whatever the window's count of posts). */
  close(now: number): DigestSnapshot | undefined {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const snapshot = this.#digest.take('close', this.#window ?? { start: now, end: now }, now)
    this.#digest.clear()
    this.#window = undefined
    return snapshot
  }

  #openWindow(now: number): Window {
    const window: Window = { start: now, end: now + this.#options.windowMs, posts: 0 }
    this.#window = window
    this.#timer = setTimer(() => this.#windowEnded(), this.#options.windowMs)
    // A quiet app must be able to exit: pino closes the transport at exit, and close() posts the digest.
    this.#timer.unref?.()
    return window
  }

  /**
   * The window is over: what it collected goes out as one digest, and a new window opens with that
   * digest as its first post, so a steady storm gives one post per window. A quiet window just ends:
   * the next alert is posted at once.
   */
  #windowEnded(): void {
    const ended = this.#window
    this.#timer = undefined
    this.#window = undefined
    if (!ended) return
    const now = Date.now()
    const snapshot = this.#digest.take('window', ended, now)
    this.#digest.clear()
    if (!snapshot) return
    const next = this.#openWindow(now)
    next.posts++
    this.#post(snapshot)
  }

  #postNow(reason: Exclude<PostReason, 'window' | 'close'>, window: Window, now: number): void {
    const snapshot = this.#digest.take(reason, window, now)
    if (!snapshot) return
    window.posts++
    this.#post(snapshot)
  }
}
