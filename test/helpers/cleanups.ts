import { afterEach } from 'vitest'
import { startHttpSink, type HttpSink } from './http-sink.js'
import { makeTempDir } from './temp-dir.js'

/** Per-test resources released after each test, newest first. */
export interface Cleanups {
  /** Registers a cleanup to run after the current test. */
  defer(cleanup: () => Promise<unknown> | unknown): void
  /** A local HTTP sink, closed after the test. */
  sink(...args: Parameters<typeof startHttpSink>): Promise<HttpSink>
  /** A temp directory, removed after the test. */
  tempDir(): Promise<string>
}

/** Call at the top of a test file: registers an afterEach that releases what the tests deferred. */
export function useCleanups(): Cleanups {
  const cleanups: (() => Promise<unknown> | unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  return {
    defer: (cleanup) => void cleanups.push(cleanup),
    async sink(...args) {
      const started = await startHttpSink(...args)
      cleanups.push(() => started.close())
      return started
    },
    async tempDir() {
      const { dir, cleanup } = await makeTempDir()
      cleanups.push(cleanup)
      return dir
    },
  }
}
