// Produces logs to a Kafka topic (`type: 'kafka'`, with kafkajs: `npm install kafkajs`): each record's
// JSON line is a message's value, its `tenant` field the message key (one tenant, one partition, in
// order), gzip-compressed, with a header carrying each record's stable id for consumers that drop
// the copies a retried batch writes again.
//
//   npm run build && KAFKA_BROKERS=kafka:9092 node examples/kafka.mjs
//
// Without KAFKA_BROKERS it starts a private Kafka: librdkafka's mock cluster through kcat
// (`apt-get install kcat`), which also reads the topic back, so the tally says what the broker holds.
import { spawn } from 'node:child_process'
import pino from 'pino'

const topic = process.env.KAFKA_TOPIC ?? 'pino-courier-example'
const mock = process.env.KAFKA_BROKERS ? undefined : await startMock(topic)
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? [mock.bootstrap]

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'kafka',
        brokers, // host:port each; TLS is `ssl: true` (or options), credentials go in `sasl`
        topic,
        key: 'tenant', // a record field (or a dotted path): records without it get a null key
        compression: 'gzip',
        idHeader: 'courier-id',
        // acks: 'all' is the default: delivered means every in-sync replica has the records.
        // sasl: { mechanism: 'scram-sha-512', username: 'app', password: process.env.KAFKA_PASSWORD },
        // deadLetter: { path: './kafka-dead-letter.ndjson' }, // records Kafka refuses for good
      },
    ],
    stderr: false,
  },
})
const closed = new Promise((resolve) => transport.once('courier:close', resolve))
const logger = pino(transport)

const n = 1000
for (let i = 0; i < n; i++) logger.info({ i, tenant: `tenant-${i % 4}` }, 'order placed')

const ended = new Promise((resolve) => transport.once('close', resolve))
transport.end()
await ended
const report = await closed
const stats = report.senders[0].stats

let held = ''
if (mock) {
  held = `; the broker holds ${await mock.count(n)}`
  mock.stop()
}
console.log(`kafka example: ${n} logged, ${stats.delivered} delivered, ${stats.failed} failed, ${report.undelivered} undelivered${held}`)
process.exit(stats.delivered === n ? 0 : 1)

/** librdkafka's mock cluster, consuming `topic` from the beginning: it prints every message produced. */
async function startMock(topic) {
  const kcat = spawn('kcat', ['-u', '-C', '-b', 'dummy:9092', '-X', 'test.mock.num.brokers=1', '-X', 'fetch.wait.max.ms=50', '-t', topic, '-o', 'beginning', '-q'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  kcat.stdout.on('data', (chunk) => (out += chunk))
  kcat.stderr.on('data', (chunk) => (err += chunk))
  const port = await new Promise((resolve, reject) => {
    kcat.once('error', (error) => reject(new Error(`cannot start kcat (apt-get install kcat), or set KAFKA_BROKERS: ${error.message}`)))
    const poll = setInterval(() => {
      const match = /replaced with 127\.0\.0\.1:(\d+)/.exec(err)
      if (match) {
        clearInterval(poll)
        resolve(Number(match[1]))
      }
    }, 10)
  })
  const lines = () => out.split('\n').filter((line) => line !== '').length
  return {
    bootstrap: `127.0.0.1:${port}`,
    async count(expected) {
      for (let waited = 0; lines() < expected && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50))
      return lines()
    },
    stop: () => kcat.kill(),
  }
}
