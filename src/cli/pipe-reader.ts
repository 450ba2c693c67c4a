/**
 * The pipe command's read loop: input chunks → lines → the courier, and the same bytes to `echo`
 * (stdout, like tee). It applies backpressure instead of dropping: while the courier asks the reader
 * to pause, or the echo's destination is full, nothing more is read, so the pipe fills up and the
 * writer upstream waits.
 */
import type { Writable } from 'node:stream'
import type { Courier } from '../input/courier.js'
import { setTimer } from '../timers.js'
import { overQueueBounds } from './cli-courier.js'
import { LineSplitter } from './line-splitter.js'
import type { ChunkSource } from './stdin-chunks.js'
import { fullCollector } from './young-generation.js'

export interface PumpOptions {
  /** The input's chunks: each is valid until the next is asked for (a reused buffer). */
  readonly input: ChunkSource
  readonly courier: Courier
  /** Where the input's bytes are copied unchanged (`--echo`). A broken echo (EPIPE) only stops the copy. */
  readonly echo?: Writable | undefined
  /** Longest line kept whole (the senders' largest queue.maxRecordBytes): see {@link LineSplitter}. */
  readonly maxLineBytes: number
  /** Stops reading (SIGTERM, SIGINT): what is queued is still delivered by the caller's close. */
  readonly signal: AbortSignal
}

/** How the read loop ended. */
export interface PumpResult {
  /** 'end': the input ended; 'stopped': the signal fired first; 'error': the input failed. */
  readonly reason: 'end' | 'stopped' | 'error'
  readonly error?: unknown
}

/** Input bytes read between two full garbage collections (see {@link fullCollector}). */
const COLLECT_EVERY_BYTES = 32 * 1024 * 1024

/** How often a paused reader looks again once a sender's block window is over (see {@link waitForRoom}). */
const ROOM_POLL_MS = 20

const STOPPED = Symbol('stopped')

/** Reads `input` to its end (or until stopped), handing every line to the courier. */
export async function pumpLines(options: PumpOptions): Promise<PumpResult> {
  const { input, courier, signal } = options
  const splitter = new LineSplitter(options.maxLineBytes)
  const echo = options.echo ? new Echo(options.echo) : undefined
  const collect = fullCollector()
  let sinceCollect = 0
  try {
    for (;;) {
      const next = await unlessStopped(input.next(), signal)
      if (next === STOPPED) return { reason: 'stopped' }
      if (next === undefined) break
      const chunk = next
      sinceCollect += chunk.length
      if (sinceCollect >= COLLECT_EVERY_BYTES && collect) {
        sinceCollect = 0
        collect()
      }
      splitter.push(chunk)
      const echoed = echo?.write(chunk)
      if (echoed && (await unlessStopped(echoed, signal)) === STOPPED) return stoppedWith(splitter, courier)
      while (splitter.next()) {
        if (writeLine(courier, splitter)) continue
        if ((await unlessStopped(waitForRoom(courier, signal), signal)) === STOPPED) return stoppedWith(splitter, courier)
      }
    }
  } catch (error) {
    return { reason: 'error', error }
  } finally {
    echo?.detach()
  }
  if (splitter.finish()) writeLine(courier, splitter)
  return { reason: 'end' }
}

/**
 * The line the splitter found, to the courier: as bytes, or as text when it is not valid UTF-8 (the
 * string path makes U+FFFD of what cannot be decoded, as the transport does; see LineSplitter.utf8).
 */
function writeLine(courier: Courier, splitter: LineSplitter): boolean {
  if (splitter.utf8) return courier.writeBytes(splitter.bytes, splitter.start, splitter.end)
  return courier.write(splitter.text())
}

/**
 * Stopped in the middle of a chunk: its remaining complete lines were read already, so they go to
 * the courier without waiting for room (queued past the bounds, or dropped and counted), never lost
 * uncounted. A last partial line is left: the rest of it is still in the pipe, unread.
 */
function stoppedWith(splitter: LineSplitter, courier: Courier): PumpResult {
  while (splitter.next()) writeLine(courier, splitter)
  return { reason: 'stopped' }
}

/**
 * `promise`, or STOPPED as soon as the signal fires. The abort listener goes when the promise settles
 * (racing one shared "stopped" promise instead would pile up a reaction per chunk read).
 */
function unlessStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> {
  if (signal.aborted) return Promise.resolve(STOPPED)
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(STOPPED)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

/**
 * Waits until every `block` sender has room again. A sender's ready() also resolves when its block
 * window (queue.maxBlockMs) is over, after which it would drop: a pipe has no exit deadline to meet,
 * so it keeps waiting (looking again every few ms) until the queue is really back within its bounds.
 */
async function waitForRoom(courier: Courier, signal: AbortSignal): Promise<void> {
  for (;;) {
    await courier.ready()
    if (signal.aborted || !overQueueBounds(courier)) return
    await new Promise<void>((resolve) => setTimer(resolve, ROOM_POLL_MS))
  }
}

/** The `--echo` copy: waits for 'drain' when the destination is full; gives up quietly when it breaks. */
class Echo {
  readonly #out: Writable
  #broken = false
  #waiting: (() => void) | undefined
  readonly #onError = (): void => {
    // EPIPE (the reader of stdout went away) and the like: the copy stops, delivery goes on.
    this.#broken = true
    this.#wake()
  }
  readonly #onDrain = (): void => this.#wake()

  constructor(out: Writable) {
    this.#out = out
    out.on('error', this.#onError)
    out.on('drain', this.#onDrain)
  }

  /** Resolves at once, or once the destination has drained (or broken). */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#broken || this.#out.destroyed) return undefined
    // A copy: the chunk's buffer is read into again, maybe before the destination has taken it.
    if (this.#out.write(Buffer.from(chunk))) return undefined
    return new Promise((resolve) => {
      this.#waiting = resolve
    })
  }

  /** Stops waiting for the destination; an error it reports later is still swallowed. */
  detach(): void {
    this.#out.off('drain', this.#onDrain)
    this.#wake()
  }

  #wake(): void {
    const wake = this.#waiting
    this.#waiting = undefined
    wake?.()
  }
}
