// Ships logs to Redis (`type: 'redis'`): a stream for your own consumers (XADD, one entry per record)
// and a list for Logstash's `redis` input or Vector's `redis` source (RPUSH), from one logger.
//
//   npm run build && node examples/redis.mjs                       # starts a private redis-server
//   REDIS_URL=redis://127.0.0.1:6379 node examples/redis.mjs       # or uses yours (keys example:*)
//
// Needs the client: npm install ioredis
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import pino from 'pino'

const N = 1000
const private_ = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined
const url = process.env.REDIS_URL ?? private_.url
const reader = new Redis(url, { maxRetriesPerRequest: 1 })
reader.on('error', () => {})

try {
  await reader.del('example:logs', 'example:logstash')

  const transport = pino.transport({
    target: 'pino-courier',
    options: {
      senders: [
        {
          type: 'redis',
          name: 'stream',
          // redis://[[user]:password@]host[:port][/db], or rediss:// for TLS (settings in `tls`).
          // Messages and stats show only the scheme, host and port.
          url,
          key: 'example:logs',
          // mode: 'stream' is the default: XADD example:logs MAXLEN ~ 100000 * line <json> id <identity>
          maxLen: 100_000, // about; old entries go whether read or not
          // idField: 'id' is the default: the record's identity, the same when a record is sent
          // again after a lost connection, so a consumer can drop the repeat.
        },
        {
          type: 'redis',
          name: 'list',
          url,
          key: 'example:logstash',
          mode: 'list', // RPUSH example:logstash <json> …: Logstash `input { redis { data_type => "list" key => … } }`
          level: 'warn', // only warnings and errors go here
        },
      ],
      stderr: false,
    },
  })
  const closed = new Promise((resolve) => transport.once('courier:close', resolve))
  const logger = pino(transport)
  let warnings = 0
  for (let i = 0; i < N; i++) {
    if (i % 10 === 9) {
      logger.warn({ i, orderId: `o-${i}` }, 'payment slow')
      warnings++
    } else logger.info({ i, orderId: `o-${i}` }, 'order placed')
  }
  await new Promise((resolve) => logger.flush(resolve))
  transport.end()
  const report = await closed

  // ---- what a consumer reads ---------------------------------------------------------------------
  const entries = await reader.xrange('example:logs', '-', '+', 'COUNT', 1)
  const [entryId, fields] = entries[0]
  console.log(`first stream entry ${entryId}: ${fields.join(' ')}`)
  const streamed = await reader.xlen('example:logs')
  const listed = await reader.llen('example:logstash')
  const stats = Object.fromEntries(report.senders.map((s) => [s.name, s.stats]))
  console.log(
    `stream: ${streamed} of ${N} entries (${stats.stream.delivered} delivered, ${stats.stream.failed} failed); ` +
      `list: ${listed} of ${warnings} warnings (${stats.list.delivered} delivered, ${stats.list.failed} failed)`,
  )
  if (streamed !== N || listed !== warnings) process.exitCode = 1
} finally {
  reader.disconnect()
  await private_?.stop()
}

/** redis-server on a free port, in the foreground, nothing written to disk; stopped by its pid. */
async function startRedisServer() {
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('close', resolve))
  await new Promise((resolve, reject) => {
    let out = ''
    child.once('error', () => reject(new Error('redis-server is not installed (apt-get install -y redis-server), or set REDIS_URL')))
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('Ready to accept connections')) resolve()
    })
    exited.then(() => reject(new Error(`redis-server exited:\n${out}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
