import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real worker threads, servers and child processes: give them room on a
    // loaded 2-core machine instead of asserting speed.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
