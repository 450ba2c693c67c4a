// The distributed-engine senders (issue 13) at full speed against real local servers: redis-server,
// nats-server with JetStream, rsyslogd over TCP, and librdkafka's Kafka mock cluster (through kcat).
// Each repetition starts a fresh server on a free port, runs bench/app.mjs (a child process logging
// a burst through pino.transport) and polls the server until it holds every record:
//   records/s   records logged ÷ time from the first log call to the last record stored by the server
//   log calls   time the app spent inside logger.info() for the whole burst (the app-side cost)
//   peak RSS    the app process's (main and worker threads)
// The same burst through the bench's plain http sender to an HTTP sink answering at once is in
// scenario (b) of the main run, for comparison.
//
//   npm run bench -- --scenarios servers [--reps 3] [--quick]
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { now } from './clock.mjs'

const APP = fileURLToPath(new URL('./app.mjs', import.meta.url))

/** The targets this runner measures (bench/targets.mjs builds their loggers). */
export const SERVER_TARGETS = [
  { name: 'courier-redis', label: 'pino-courier redis (stream, XADD)', server: 'redis' },
  { name: 'courier-redis-list', label: 'pino-courier redis (list, RPUSH)', server: 'redis' },
  { name: 'courier-nats', label: 'pino-courier nats (JetStream, acked)', server: 'nats' },
  { name: 'courier-kafka', label: 'pino-courier kafka (acks all, mock cluster)', server: 'kafka' },
  { name: 'courier-syslog', label: 'pino-courier syslog (TCP, octet counting)', server: 'syslog' },
]

/**
 * Runs every target `reps` times, each against a fresh server.
 * @param {{ quick: boolean, reps: number, only?: string[] }} options
 * @returns {Promise<{ runs: object[], markdown: string }>}
 */
export async function runServerBench({ quick, reps, only }) {
  // 100,000 records fit the default queue (100,000 records, 32 MiB): a bigger burst measures the
  // overflow policy (counted drops), not how fast the sender ships.
  const count = quick ? 20_000 : 100_000
  const targets = SERVER_TARGETS.filter((t) => !only || only.includes(t.name))
  const runs = []
  for (let rep = 0; rep < reps; rep++) {
    for (const target of targets) {
      let run
      try {
        run = await measure(target, count)
      } catch (error) {
        // A server that is not installed (or did not start) costs its row, not the whole bench.
        console.log(`  servers  ${target.name.padEnd(18)} rep ${rep + 1}: not run: ${error.message}`)
        continue
      }
      runs.push({ ...run, rep })
      console.log(
        `  servers  ${target.name.padEnd(18)} rep ${rep + 1}: stored ${run.stored}/${count}, ${Math.round(run.recordsPerSecond ?? 0)} rec/s, ` +
          `log calls ${run.syncMs.toFixed(0)} ms, RSS ${run.rssMb.toFixed(0)} MB`,
      )
    }
  }
  return { runs, markdown: table(targets, runs, count) }
}

async function measure(target, count) {
  const server = await SERVERS[target.server]()
  try {
    const config = { target: target.name, url: server.url, mode: 'burst', count, exit: 'natural' }
    const child = spawn(process.execPath, [APP, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
    const reports = {}
    let stderr = ''
    let out = ''
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr = (stderr + text).slice(-16_384)))
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text
      let newline
      while ((newline = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, newline)
        out = out.slice(newline + 1)
        if (line.startsWith('@@bench ')) {
          const message = JSON.parse(line.slice(8))
          reports[message.kind] = message
          if (message.kind === 'start') reports.startAt = now()
        }
      }
    })
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    // Poll the server until it holds every record, the app is gone and nothing more arrives.
    let stored = 0
    let storedAt
    let gone = false
    void exited.then(() => (gone = true))
    let goneFor = 0
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const n = await server.count()
      if (n > stored) {
        stored = n
        storedAt = now()
      }
      if (stored >= count) break
      if (gone && (goneFor += 20) > 3_000) break
    }
    await exited
    if (!reports.logged) throw new Error(`${target.name}: the app ended before it finished logging: ${stderr.slice(-2000)}`)
    const elapsed = storedAt === undefined || reports.startAt === undefined ? undefined : storedAt - reports.startAt
    return {
      target: target.name,
      sent: reports.logged.sent,
      stored,
      recordsPerSecond: stored >= count && elapsed ? (count * 1000) / elapsed : undefined,
      syncMs: reports.logged.syncMs,
      rssMb: reports.exit?.rssMb ?? reports.logged.rssMb,
      exitBlockMs: reports.exit ? reports.exit.marks.exitEnd - reports.exit.marks.exitStart : undefined,
      stderr: stored < count ? stderr.slice(-2000) : undefined,
    }
  } finally {
    await server.stop()
  }
}

function table(targets, runs, count) {
  const median = (values) => {
    const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b)
    return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined
  }
  const fmt = (v, digits = 0) => (v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits }))
  const lines = [
    `${count.toLocaleString('en-US')}-record burst through pino.transport to a local server; medians.`,
    '',
    '| target | stored (worst rep) | records/s | log calls | peak RSS | exit blocks |',
    '|---|---|---|---|---|---|',
  ]
  for (const target of targets) {
    const mine = runs.filter((r) => r.target === target.name)
    if (mine.length === 0) continue
    const worst = Math.min(...mine.map((r) => r.stored))
    lines.push(
      `| ${target.label} | ${fmt((100 * worst) / count, 1)}% | ${fmt(median(mine.map((r) => r.recordsPerSecond)))} | ` +
        `${fmt(median(mine.map((r) => r.syncMs)))} ms | ${fmt(median(mine.map((r) => r.rssMb)))} MB | ${fmt(median(mine.map((r) => r.exitBlockMs)))} ms |`,
    )
  }
  return lines.join('\n')
}

// ---- the servers ------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function waitForPort(port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function startProcess(command, args, install) {
  if (spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`]).status !== 0) {
    throw new Error(`${command} is not installed (${install})`)
  }
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  // Kept short: kcat's mock prints a debug line per request (its start-up line is all we read).
  const keep = (t) => (output = (output + t).slice(-65_536))
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  const exited = new Promise((resolve) => {
    child.on('exit', resolve)
    child.on('error', () => resolve(null))
  })
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

const SERVERS = {
  async redis() {
    const port = await freePort()
    const server = startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'apt-get install -y redis-server')
    await waitForPort(port)
    const { Redis } = await import('ioredis')
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await client.connect()
    return {
      url: `redis://127.0.0.1:${port}`,
      // The stream row writes key 'bench' as a stream, the list row as a list.
      count: async () => {
        const type = await client.type('bench')
        return type === 'stream' ? client.xlen('bench') : type === 'list' ? client.llen('bench') : 0
      },
      async stop() {
        client.disconnect()
        await server.stop()
      },
    }
  },
  async nats() {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'courier-bench-nats-'))
    const server = startProcess('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], 'apt-get install -y nats-server')
    await waitForPort(port)
    const { connect: natsConnect } = await import('@nats-io/transport-node')
    const { jetstreamManager } = await import('@nats-io/jetstream')
    const nc = await natsConnect({ servers: `127.0.0.1:${port}` })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: 'file' })
    return {
      url: `nats://127.0.0.1:${port}`,
      count: async () => (await jsm.streams.info('BENCH')).state.messages,
      async stop() {
        await nc.close()
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
  async kafka() {
    // The mock cluster lives inside this kcat process, which also consumes the topic from the start
    // and prints one line per message: the count is its stdout's newlines.
    const server = startProcess(
      'kcat',
      ['-u', '-C', '-b', 'dummy:9092', '-X', 'test.mock.num.brokers=1', '-t', 'bench', '-d', 'mock', '-o', 'beginning', '-q', '-f', '%o\n'],
      'apt-get install -y kcat',
    )
    let match
    const deadline = Date.now() + 15_000
    while (!(match = /bootstrap\.servers=([\d.]+:\d+)/.exec(server.output()))) {
      if (Date.now() > deadline) throw new Error(`kcat did not start a mock cluster: ${server.output().slice(-1000)}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    let lines = 0
    server.child.stdout.on('data', (text) => {
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++
    })
    return { url: match[1], count: async () => lines, stop: () => server.stop() }
  },
  async syslog() {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'courier-bench-rsyslog-'))
    const out = join(dir, 'out.log')
    writeFileSync(out, '')
    const conf = join(dir, 'rsyslog.conf')
    writeFileSync(
      conf,
      [
        `global(workDirectory="${dir}" maxMessageSize="64k")`,
        'module(load="imtcp")',
        'template(name="raw" type="string" string="%rawmsg%\\n")',
        'ruleset(name="bench") { action(type="omfile" file="' + out + '" template="raw") }',
        `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="bench")`,
        '',
      ].join('\n'),
    )
    const server = startProcess('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], 'apt-get install -y rsyslog')
    await waitForPort(port)
    // Count the newlines written since the last poll (only the new part of the file is read).
    let read = 0
    let lines = 0
    const fd = openSync(out, 'r')
    const chunk = Buffer.alloc(1 << 20)
    const count = async () => {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, read)
        if (n === 0) return lines
        for (let i = chunk.indexOf(10); i >= 0 && i < n; i = chunk.indexOf(10, i + 1)) lines++
        read += n
      }
    }
    return {
      url: `tcp://127.0.0.1:${port}`,
      count,
      async stop() {
        closeSync(fd)
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}
