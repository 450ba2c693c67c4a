import { setTimer } from '../timers.js'

/** One job waiting out a backoff. */
interface Wait<Job> {
  readonly job: Job
  /** Whether a delivery elsewhere may cut the wait short (the sink could not be reached at all). */
  readonly onRecovery: boolean
}

/**
 * Jobs waiting out a retry backoff (or a rate window before their retry). A wait ends when its time
 * is up, when it is woken early (the sink is back, or close gives every job one last try), or when
 * the sender stops; it then says whether the job should go on.
 */
export class RetryWaits<Job> {
  readonly #waits = new Map<(goOn: boolean) => void, Wait<Job>>()
  readonly #stopped: AbortSignal

  /** `stopped`: fires when the sender gives up on everything in flight (close deadline). */
  constructor(stopped: AbortSignal) {
    this.#stopped = stopped
  }

  /** Jobs waiting now. */
  get size(): number {
    return this.#waits.size
  }

  /** The jobs waiting now. */
  jobs(): IterableIterator<Job> {
    return [...this.#waits.values()].map((w) => w.job).values()
  }

  /**
   * Waits `ms`: resolves true when the time is up or the wait is cut short, false when it is ended
   * (the sender stopped, or close left the job in the spool). `onRecovery`: a delivery elsewhere may
   * cut it short.
   */
  wait(ms: number, onRecovery: boolean, job: Job): Promise<boolean> {
    const signal = this.#stopped
    if (signal.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (goOn: boolean): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#waits.delete(wake)
        resolve(goOn)
      }
      const onAbort = (): void => done(false)
      const wake = (goOn: boolean): void => done(goOn)
      const timer = setTimer(wake, ms, true)
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waits.set(wake, { onRecovery, job })
    })
  }

  /**
   * Ends waits now, unless the sink asked us to wait (`paused`: Retry-After). On a delivery
   * (`'recovery'`) only jobs that could not reach the sink at all wake: the sink is back, and seconds
   * of backoff would only delay the backlog. A job the sink answered with an error status (429, 503)
   * keeps its backoff: the sink is up but shedding load, and waking every such job on each success
   * would hammer it. At close every job gets one last try; during a pause a job that is safe in the
   * spool (`safe`) is left there instead of holding close up.
   */
  wake(why: 'recovery' | 'close', paused: boolean, safe: (job: Job) => boolean): void {
    if (this.#waits.size === 0) return
    for (const [wake, { onRecovery, job }] of [...this.#waits]) {
      if (!paused && (why === 'close' || onRecovery)) wake(true)
      else if (paused && why === 'close' && safe(job)) wake(false)
    }
  }
}
