import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The server suite (real Redis, NATS, rsyslog, Kafka mock) runs apart: npm run test:servers.
    exclude: ['test/servers/**', '**/node_modules/**'],
    // Integration tests start real worker threads, servers and child processes: give them room on a
    // loaded 2-core machine instead of asserting speed.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
