import type { Sender } from '../senders/sender.js'
import type { GroupKind } from './group-stats.js'
import { setTimer } from '../timers.js'

/** Default shortest time between two warnings about the same sender and kind. */
export const DEFAULT_WARN_INTERVAL_MS = 10_000

/** A throttled warning about one sender. */
export interface CourierWarning {
  readonly sender: string
  readonly kind: 'dropped' | 'failed' | 'retrying'
  /**
   * `dropped` and `failed`: records concerned since the previous warning of this sender and kind.
   * `retrying`: records waiting for a retry in the sender now (each counted once, however often it
   * was tried).
   */
  readonly records: number
  /** For `retrying`: the most failed attempts of one batch so far. */
  readonly attempts?: number
  /** Drop reasons with their counts (for `dropped`). */
  readonly reasons?: Readonly<Record<string, number>>
  /**
   * For `dropped` by a sender with `groupBy`: records dropped per queue group key (groups of kind `key`;
   * at most {@link MAX_WARNING_GROUP_KEYS} keys, the first to drop since the previous warning).
   */
  readonly groups?: Readonly<Record<string, number>>
  /** For `dropped` by a sender with `groupBy`: records dropped by the shared groups, by kind. */
  readonly sharedGroups?: Readonly<Partial<Record<'missing' | 'overflow', number>>>
  /** For `dropped`: records dropped under keys past the first {@link MAX_WARNING_GROUP_KEYS}, not in `groups`. */
  readonly groupsLeftOut?: number
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
  /**
   * `dropped` by a grouped sender: records per key group, at most MAX_WARNING_GROUP_KEYS keys. Not
   * group.maxGroups: groups pruned within one interval (group.idleMs 0) make room for new keys.
   */
  groups: Map<string, number> | undefined
  /** Records dropped by the shared groups, by kind (a tenant may be named "(missing)" too). */
  shared: Partial<Record<'missing' | 'overflow', number>> | undefined
  /** Records of keys that did not fit in `groups`. */
  leftOut: number
  error: string | undefined
  /** `retrying`: batches waiting for a retry, and the most attempts one of them has failed. */
  batches: number
  attempts: number
  /** Order of its first event among all events: warnings come out in the order things happened. */
  order: number
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
  #events = 0

  constructor(intervalMs: number, emit: (warning: CourierWarning) => void) {
    this.#intervalMs = intervalMs
    this.#emit = emit
  }

  /** Subscribes to a sender's drop, failure and retry events. */
  watch(sender: Sender): void {
    // A hand-written Sender without events still works; it just cannot feed warnings.
    if (typeof sender.on !== 'function') return
    sender.on('drop', (d) => this.#add(d.sender, 'dropped', d.records, undefined, d.reason, d.group, d.groupKind))
    sender.on('failure', (f) => this.#add(f.sender, 'failed', f.records, f.error))
    sender.on('retry', (r) => {
      // A sender that does not say what waits (a custom one) gets its events summed, as before.
      const pending = this.#pendingOf(r.sender, 'retrying')
      if (r.waitingRecords !== undefined) {
        pending.records = r.waitingRecords
        pending.batches = r.waitingBatches ?? 1
      } else {
        pending.records += r.records
        pending.batches++
      }
      pending.attempts = Math.max(pending.attempts, r.attempt)
      this.#add(r.sender, 'retrying', 0, r.error)
    })
  }

  /** Emits everything pending now (at close). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = Date.now()
    for (const key of this.#inOrder()) this.#emitKey(key, now)
  }

  /** Pending keys in the order of their first event. */
  #inOrder(): string[] {
    return [...this.#pending.entries()].sort(([, a], [, b]) => a.order - b.order).map(([key]) => key)
  }

  #pendingOf(sender: string, kind: Pending['kind']): Pending {
    const key = `${sender}\0${kind}`
    let pending = this.#pending.get(key)
    if (!pending) {
      pending = { sender, kind, records: 0, reasons: {}, groups: undefined, shared: undefined, leftOut: 0, error: undefined, batches: 0, attempts: 0, order: this.#events }
      this.#pending.set(key, pending)
    }
    return pending
  }

  #add(sender: string, kind: Pending['kind'], records: number, error?: string, reason?: string, group?: string, groupKind?: GroupKind): void {
    this.#events++
    const key = `${sender}\0${kind}`
    const pending = this.#pendingOf(sender, kind)
    pending.records += records
    if (reason) pending.reasons[reason] = (pending.reasons[reason] ?? 0) + records
    if (group !== undefined) addGroup(pending, group, groupKind, records)
    if (error) pending.error = error
    const now = Date.now()
    const last = this.#lastEmitted.get(key)
    if (last === undefined || now - last >= this.#intervalMs) {
      // A batch fails or drops after its retries: the retries it had (still held back by the
      // throttle) are told first, so that the lines read in the order things happened.
      if (kind !== 'retrying') this.#emitKey(`${sender}\0retrying`, now, false)
      this.#emitKey(key, now)
    } else this.#schedule(last + this.#intervalMs - now)
  }

  #schedule(delay: number): void {
    if (this.#timer) return
    this.#timer = setTimer(() => {
      this.#timer = undefined
      const now = Date.now()
      let next = Number.POSITIVE_INFINITY
      for (const key of this.#inOrder()) {
        const last = this.#lastEmitted.get(key) ?? 0
        if (now - last >= this.#intervalMs) this.#emitKey(key, now)
        else next = Math.min(next, last + this.#intervalMs - now)
      }
      if (Number.isFinite(next)) this.#schedule(next)
    }, delay)
    // Warnings must never keep a process alive.
    this.#timer.unref()
  }

  /** Emits the pending warning of `key`; `throttle: false` leaves its throttle window as it was. */
  #emitKey(key: string, now: number, throttle = true): void {
    const p = this.#pending.get(key)
    if (!p) return
    this.#pending.delete(key)
    if (throttle) this.#lastEmitted.set(key, now)
    const message = describe(p)
    this.#emit({
      sender: p.sender,
      kind: p.kind,
      records: p.records,
      ...(p.kind === 'dropped' ? { reasons: p.reasons } : {}),
      ...(p.groups ? { groups: Object.fromEntries(p.groups) } : {}),
      ...(p.shared ? { sharedGroups: { ...p.shared } } : {}),
      ...(p.leftOut > 0 ? { groupsLeftOut: p.leftOut } : {}),
      ...(p.kind === 'retrying' ? { attempts: p.attempts } : {}),
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
      return `pino-courier: sender "${p.sender}" dropped ${p.records} record${s} (${why})${p.groups || p.shared ? byGroup(p) : ''}`
    }
    case 'failed':
      return `pino-courier: sender "${p.sender}" could not deliver ${p.records} record${s}: ${p.error ?? 'unknown error'}`
    case 'retrying': {
      const what = p.batches > 1 ? `${p.records} record${s} in ${p.batches} batches wait` : `${p.records} record${s} ${p.records === 1 ? 'waits' : 'wait'}`
      const tries = `${p.attempts} failed attempt${p.attempts === 1 ? '' : 's'}${p.batches > 1 ? ' (the most of one batch)' : ''}`
      return `pino-courier: sender "${p.sender}": ${what} for a retry after ${tries}; last error: ${p.error ?? 'unknown error'}`
    }
  }
}

/** Most group keys a drop warning names: the ones that dropped most (all are in `groups`). */
const GROUPS_NAMED = 3

/** Most keys one warning counts in `groups`; records of further keys are counted in `groupsLeftOut`. */
export const MAX_WARNING_GROUP_KEYS = 1000

function addGroup(pending: Pending, key: string, kind: GroupKind | undefined, records: number): void {
  if (kind === 'missing' || kind === 'overflow') {
    const shared = (pending.shared ??= {})
    shared[kind] = (shared[kind] ?? 0) + records
    return
  }
  const groups = (pending.groups ??= new Map())
  const had = groups.get(key)
  if (had !== undefined) groups.set(key, had + records)
  else if (groups.size < MAX_WARNING_GROUP_KEYS) groups.set(key, records)
  else pending.leftOut += records
}

/**
 * "; by group: "noisy" 4900, (missing) 12, "b" 3 and 3 more": whose records a grouped sender dropped.
 * Keys are quoted, the shared groups not, so a tenant named "(missing)" is told from records without
 * the field.
 */
function byGroup(p: Pending): string {
  const entries: [string, number][] = [...(p.groups ?? [])].map(([key, n]) => [quote(key), n])
  for (const kind of ['missing', 'overflow'] as const) {
    const n = p.shared?.[kind]
    if (n !== undefined) entries.push([`(${kind})`, n])
  }
  const top = entries.sort((a, b) => b[1] - a[1])
  const named = top.slice(0, GROUPS_NAMED).map(([name, n]) => `${name} ${n}`)
  const more = top.length - GROUPS_NAMED
  const leftOut = p.leftOut > 0 ? `; ${p.leftOut} record${p.leftOut === 1 ? '' : 's'} of further keys` : ''
  return `; by group: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}${leftOut}`
}

/**
 * A key as JSON text, and with the characters JSON leaves as they are but a terminal may act on escaped
 * too: DEL and the C1 controls (U+009B starts an escape sequence), line separators, bidi controls.
 */
function quote(key: string): string {
  return JSON.stringify(key).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
