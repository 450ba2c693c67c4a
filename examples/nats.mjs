// Publishes logs to NATS JetStream (`type: 'nats'`): one subject per service and level
// (`logs.{service}.{level}`), each record acknowledged by the stream and de-duplicated by its identity.
//
//   npm run build && node examples/nats.mjs                      # starts a private nats-server -js
//   NATS_URL=nats://127.0.0.1:4222 node examples/nats.mjs        # or uses yours
//
// Needs the client: npm install @nats-io/transport-node @nats-io/jetstream
// The stream is the operator's to create (`nats stream add LOGS --subjects 'logs.>'`): this example
// creates it when it is missing, as a deploy script would.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect as tcpConnect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import pino from 'pino'

const N = 1000
const private_ = process.env.NATS_URL === undefined ? await startNatsServer() : undefined
const url = process.env.NATS_URL ?? private_.url

try {
  // ---- the operator's part: a stream capturing logs.> (kept 7 days, on disk) -----------------------
  const nc = await connect({ servers: url, reconnect: false })
  const jsm = await jetstreamManager(nc)
  const before = await jsm.streams.info('LOGS').then(
    (info) => info.state.messages,
    async () => {
      await jsm.streams.add({ name: 'LOGS', subjects: ['logs.>'], storage: 'file', max_age: 7 * 24 * 3600 * 1e9 })
      return 0
    },
  )

  // ---- the app's part ----------------------------------------------------------------------------
  const transport = pino.transport({
    target: 'pino-courier',
    options: {
      senders: [
        {
          type: 'nats',
          servers: url, // or a list for a cluster; nats://user:pass@host, token, credsFile and tls work too
          subject: 'logs.{service}.{level}', // {level} is the level's name; a record without service goes to logs.unknown.<level>
        },
      ],
    },
  })
  const closed = new Promise((resolve) => transport.once('courier:close', resolve))
  const logger = pino(transport)
  const checkout = logger.child({ service: 'checkout' })
  const search = logger.child({ service: 'search' })
  for (let i = 0; i < N; i++) {
    if (i % 10 === 0) search.warn({ i, query: `q${i}` }, 'slow query')
    else checkout.info({ i, order: 1000 + i }, 'order placed')
  }
  transport.end() // as pino does at exit: the transport delivers what it holds, then closes
  const report = await closed
  const stats = report.senders[0].stats

  // ---- what the stream holds now -----------------------------------------------------------------
  const info = await jsm.streams.info('LOGS', { subjects_filter: 'logs.>' })
  const stored = info.state.messages - before
  const bySubject = Object.entries(info.state.subjects ?? {})
    .map(([subject, count]) => `${subject}: ${count}`)
    .join(', ')
  await nc.close()
  console.log(`nats: ${N} logged, ${stats.delivered} delivered (${stats.failed} failed), stream LOGS got ${stored} (${bySubject})`)
  if (stats.delivered !== N || (private_ !== undefined && stored !== N)) process.exitCode = 1
} finally {
  await private_?.stop()
}

/** A nats-server with JetStream on a free port and a store in a temp dir, for this run only. */
async function startNatsServer() {
  const dir = await mkdtemp(join(tmpdir(), 'nats-example-'))
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
  const server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' })
  const failed = new Promise((_, reject) => {
    server.once('error', () => reject(new Error('nats-server is not installed (apt-get install -y nats-server), or set NATS_URL')))
    server.once('exit', (code) => reject(new Error(`nats-server exited with ${code}`)))
  })
  failed.catch(() => undefined)
  for (let tries = 0; ; tries++) {
    const open = await Promise.race([
      failed,
      new Promise((resolve) => {
        const socket = tcpConnect(port, '127.0.0.1', () => {
          socket.destroy()
          resolve(true)
        }).once('error', () => resolve(false))
      }),
    ])
    if (open) break
    if (tries > 200) throw new Error('nats-server did not start')
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      server.removeAllListeners('exit')
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}
