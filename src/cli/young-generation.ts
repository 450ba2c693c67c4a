import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * Keeps V8's young generation at its starting size for the CLI's commands. V8 doubles it (up to 2 x 16
 * MiB on 64-bit) as objects survive, and a long pipe always gets there: about 30 MB of the 100 MB the
 * command may use on a 1 GB input, for no gain in speed measured (the lines die young; what is queued
 * lives outside the JS heap). `--max-semi-space-size` would say it better, but it is read only when
 * the heap is set up, and the bin's `#!/usr/bin/env node` line cannot pass it portably; the growth
 * factor is read each time the young generation would grow, so setting it now still works. Left
 * alone when the user tunes the young generation through NODE_OPTIONS or node's own flags.
 */
export function keepYoungGenerationSmall(): void {
  const given = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`
  if (/semi[-_]space/.test(given)) return
  try {
    setFlagsFromString('--semi-space-growth-factor=1')
  } catch {
    // A runtime without the flag: memory is still bounded, only larger.
  }
}

/**
 * A full garbage collection, to run every few tens of megabytes of input (undefined when the runtime
 * refuses the flag). Buffers that lived a little while (a batch's body in flight, a slab) die in the
 * old generation, outside the JS heap, and V8 frees them only at a full collection, which it starts
 * late for memory it does not see: about 35 MB of dead buffers on a long pipe, a third of the budget.
 * One collection of the CLI's small heap takes a few milliseconds.
 */
export function fullCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? () => void (gc as () => void)() : undefined
  } catch {
    return undefined
  }
}
