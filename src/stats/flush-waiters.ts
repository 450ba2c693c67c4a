/**
 * Callers of flush(), each waiting until every record up to its seq has settled. The sender says what
 * "settled up to" means (`oldestUnsettled`); this only keeps the waiters and wakes them.
 */
export class FlushWaiters {
  readonly #oldestUnsettled: () => number
  #waiters: { readonly seq: number; readonly resolve: () => void }[] = []

  /** `oldestUnsettled`: the seq of the oldest record not yet settled (Infinity when none). */
  constructor(oldestUnsettled: () => number) {
    this.#oldestUnsettled = oldestUnsettled
  }

  /** Resolves once every record up to `seq` has settled (at once if they have). */
  wait(seq: number): Promise<void> {
    if (this.#oldestUnsettled() > seq) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }))
  }

  get waiting(): boolean {
    return this.#waiters.length > 0
  }

  /** Wakes the waiters whose records have all settled. Cheap when nobody waits. */
  check(): void {
    if (this.#waiters.length === 0) return
    const oldest = this.#oldestUnsettled()
    const still = []
    for (const waiter of this.#waiters) {
      if (waiter.seq < oldest) waiter.resolve()
      else still.push(waiter)
    }
    this.#waiters = still
  }
}
