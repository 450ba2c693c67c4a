import { setFlagsFromString } from 'node:v8'

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
