import { performance } from 'node:perf_hooks'

/** Wall-clock time in ms since the epoch, with sub-millisecond precision, comparable across processes. */
export const now = () => performance.timeOrigin + performance.now()
