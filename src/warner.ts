import type { Sender } from './senders/sender.js'

/** Default shortest time between two warnings about the same sender and kind. */
export const DEFAULT_WARN_INTERVAL_MS = 10_000

/** A throttled warning about one sender. */
export interface CourierWarning {
  readonly sender: string
  readonly kind: 'dropped' | 'failed' | 'retrying'
  /** Records concerned since the previous warning of this sender and kind. */
  readonly records: number
  /** Drop reasons with their counts (for `dropped`). */
  readonly reasons?: Readonly<Record<string, number>>
  /** The latest error message (for `failed` and `retrying`). */
  readonly error?: string
  /** A one-line human message. */
  readonly message: string
}

interface Pending {
  sender: string
  kind: CourierWarning['kind']
  records: number
  reasons: Record<string, number>
  error: string | undefined
}

/**
 * Turns a stream of drop/failure/retry events into at most one warning per sender and kind per
 * interval: the first one at once, the rest summed up. A failing sink thus produces a readable
 * trickle of warnings instead of one per record, and never recurses into the sender that failed.
 */
export class Warner {
  readonly #intervalMs: number
  readonly #emit: (warning: CourierWarning) => void
  readonly #pending = new Map<string, Pending>()
  readonly #lastEmitted = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined

  constructor(intervalMs: number, emit: (warning: CourierWarning) => void) {
    this.#intervalMs = intervalMs
    this.#emit = emit
  }

  /** Subscribes to a sender's drop, failure and retry events. */
  watch(sender: Sender): void {
    // A hand-written Sender without events still works; it just cannot feed warnings.
    if (typeof sender.on !== 'function') return
    sender.on('drop', (d) => this.#add(d.sender, 'dropped', d.records, undefined, d.reason))
    sender.on('failure', (f) => this.#add(f.sender, 'failed', f.records, f.error))
    sender.on('retry', (r) => this.#add(r.sender, 'retrying', r.records, r.error))
  }

  /** Emits everything pending now (at close). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const key of [...this.#pending.keys()]) this.#emitKey(key, Date.now())
  }

  #add(sender: string, kind: Pending['kind'], records: number, error?: string, reason?: string): void {
    const key = `${sender}\0${kind}`
    let pending = this.#pending.get(key)
    if (!pending) {
      pending = { sender, kind, records: 0, reasons: {}, error: undefined }
      this.#pending.set(key, pending)
    }
    pending.records += records
    if (reason) pending.reasons[reason] = (pending.reasons[reason] ?? 0) + records
    if (error) pending.error = error
    const now = Date.now()
    const last = this.#lastEmitted.get(key)
    if (last === undefined || now - last >= this.#intervalMs) this.#emitKey(key, now)
    else this.#schedule(last + this.#intervalMs - now)
  }

  #schedule(delay: number): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const now = Date.now()
      let next = Number.POSITIVE_INFINITY
      for (const key of [...this.#pending.keys()]) {
        const last = this.#lastEmitted.get(key) ?? 0
        if (now - last >= this.#intervalMs) this.#emitKey(key, now)
        else next = Math.min(next, last + this.#intervalMs - now)
      }
      if (Number.isFinite(next)) this.#schedule(next)
    }, delay)
    // Warnings must never keep a process alive.
    this.#timer.unref()
  }

  #emitKey(key: string, now: number): void {
    const p = this.#pending.get(key)
    if (!p) return
    this.#pending.delete(key)
    this.#lastEmitted.set(key, now)
    const message = describe(p)
    this.#emit({
      sender: p.sender,
      kind: p.kind,
      records: p.records,
      ...(p.kind === 'dropped' ? { reasons: p.reasons } : {}),
      ...(p.error ? { error: p.error } : {}),
      message,
    })
  }
}

function describe(p: Pending): string {
  const s = p.records === 1 ? '' : 's'
  switch (p.kind) {
    case 'dropped': {
      const why = Object.entries(p.reasons)
        .map(([reason, n]) => `${reason}: ${n}`)
        .join(', ')
      return `pino-courier: sender "${p.sender}" dropped ${p.records} record${s} (${why})`
    }
    case 'failed':
      return `pino-courier: sender "${p.sender}" could not deliver ${p.records} record${s}: ${p.error ?? 'unknown error'}`
    case 'retrying':
      return `pino-courier: sender "${p.sender}" is retrying ${p.records} record${s} after: ${p.error ?? 'unknown error'}`
  }
}
