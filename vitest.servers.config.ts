import { defineConfig } from 'vitest/config'

/**
 * The server suite (`npm run test:servers`): tests against real redis-server, nats-server, rsyslogd
 * and librdkafka's Kafka mock cluster (through kcat), each started by the test on free ports and
 * stopped by pid. Nothing here is skipped: a server that is not installed fails with the command that
 * installs it. `npm test` (vitest.config.ts) leaves these out, so it needs no server.
 */
export default defineConfig({
  test: {
    include: ['test/servers/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: servers, workers and the tests themselves compete; one file at a time keeps outage
    // timings honest.
    fileParallelism: false,
  },
})
