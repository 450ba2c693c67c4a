/**
 * Orders work that shares keys while letting unrelated work run in parallel: a request for keys K
 * starts only once every request made earlier (by call order) that holds any key of K has settled.
 * The Loki sink uses it so that first attempts of one stream's requests reach Loki in order when a
 * user raises its concurrency above the default of 1; keys are plain strings, so queue groups (a
 * later issue) can order their batches with it too.
 *
 * What it cannot do: order a retry. A request that failed has released its keys; when it is tried
 * again, later requests of its keys may have gone already. And the wait is the caller's: a caller
 * that bounds its work by a deadline (the attempt's `pool.timeoutMs`) spends it waiting here too.
 *
 * No deadlock is possible: a request takes its place on all of its keys at once, synchronously, in
 * the call to {@link KeySequencer.acquire}, and waits only for requests that took theirs before it.
 * The waits thus follow the (total) call order and can never form a cycle.
 */
export class KeySequencer {
  /** The newest turn on each key (a turn not done yet): the next request for the key waits for it. */
  readonly #tails = new Map<string, Turn>()

  /**
   * Takes a place on every key of `keys` and resolves, with the function that gives it up, once every
   * earlier request holding any of them has settled: call that function (once; later calls do
   * nothing) when the work is done, failed or not, or the keys stay held. Rejects with the signal's
   * reason when `signal` fires first; the place is then given up, but a later request still waits for
   * the earlier ones this one was waiting for.
   */
  acquire(keys: Iterable<string>, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown)
    const turn = new Turn([...new Set(keys)])
    for (const key of turn.keys) {
      const previous = this.#tails.get(key)
      if (previous !== undefined) {
        previous.next.push(turn)
        turn.pending++
      }
      this.#tails.set(key, turn)
    }
    const release = (): void => {
      if (turn.released) return
      turn.released = true
      if (turn.pending === 0) this.#finish(turn)
    }
    if (turn.pending === 0) return Promise.resolve(release)
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        turn.grant = undefined
        // Given up while waiting: done as soon as those before it are, so that a request after it
        // still waits for them (it must not overtake them through a turn that never ran).
        turn.released = true
        reject(signal?.reason as unknown)
      }
      turn.grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(release)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Keys held or waited for now (0 when everything has settled: nothing is kept longer). */
  get size(): number {
    return this.#tails.size
  }

  /** A turn is over: its keys are free for the turns after it, which start once nothing else holds them back. */
  #finish(first: Turn): void {
    // A loop, not recursion: a long chain of turns given up while waiting would otherwise grow the stack.
    const over = [first]
    for (let turn = over.pop(); turn !== undefined; turn = over.pop()) {
      for (const key of turn.keys) if (this.#tails.get(key) === turn) this.#tails.delete(key)
      for (const next of turn.next) {
        if (--next.pending > 0) continue
        if (next.released) over.push(next)
        else next.grant?.()
      }
      turn.next.length = 0
    }
  }
}

/** One request's place on its keys. */
class Turn {
  readonly keys: readonly string[]
  /** Turns that came later on one of its keys (once per shared key: `pending` counts the same way). */
  readonly next: Turn[] = []
  /** Earlier turns (per shared key) not done yet. */
  pending = 0
  /** Its work is over, or it gave up waiting. */
  released = false
  /** Starts it (resolves its acquire); unset when it is not waiting. */
  grant: (() => void) | undefined

  constructor(keys: readonly string[]) {
    this.keys = keys
  }
}
