// Ships logs to a syslog receiver (`type: 'syslog'`: rsyslog, syslog-ng, a SIEM) as RFC 5424 messages
// over TCP (octet counting), with an APP-NAME, a facility and a record field as structured data.
// Nothing to install: the sender uses Node's own net, tls and dgram.
//
//   npm run build && SYSLOG_URL=tcp://logs.example.com:514 node examples/syslog.mjs
//
// Without SYSLOG_URL it starts a private rsyslogd (`apt-get install rsyslog`) on a free port, writing
// what it receives to a temp file, and reads that file back, so the tally says what rsyslog got.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'

const private_ = process.env.SYSLOG_URL ? undefined : await startRsyslog()
const url = process.env.SYSLOG_URL ?? `tcp://127.0.0.1:${private_.port}`

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'syslog',
        url, // udp://host:514, tcp://host:514 or tls://host:6514
        appName: 'checkout',
        facility: 'local0',
        // format: 'rfc3164', // the old BSD form, for receivers that take nothing else
        // framing: 'lf', // TCP only; TLS always counts octets
        // messageOnly: true, // MSG = the record's msg instead of its whole JSON line
        structuredData: { id: 'pino@32473', keys: { reqId: 'req.id' } },
        // tls: { caFile: '/etc/ssl/syslog-ca.pem' }, // with tls://; the file is read on each new connection
        // maxMessageBytes: 8096 over TCP/TLS (rsyslog's default limit), 2048 over UDP, 1024 for rfc3164:
        // longer messages are cut at a UTF-8 boundary and counted (the sender's `truncated` stat).
      },
    ],
    stderr: false,
  },
})
const closed = new Promise((resolve) => transport.once('courier:close', resolve))

const logger = pino(transport)
const n = 1000
for (let i = 0; i < n; i++) logger.info({ i, req: { id: `r-${i % 7}` } }, 'order placed')
logger.error({ i: n, detail: 'x'.repeat(10_000) }, 'a record longer than maxMessageBytes')

await new Promise((resolve) => logger.flush(resolve))
transport.end()
const report = await closed
const stats = report.senders[0].stats

let received = 'not read back (your receiver)'
let allReceived = true
if (private_) {
  const count = await private_.waitFor(n + 1)
  received = `${count} received by rsyslog`
  allReceived = count === n + 1
  await private_.stop()
}
console.log(
  `syslog: ${stats.delivered} delivered (written to the socket; syslog has no acks), ${stats.failed} failed, ` +
    `${stats.truncated ?? 0} truncated, ${received}`,
)
process.exit(stats.delivered === n + 1 && allReceived ? 0 : 1)

// ---- a private rsyslogd -------------------------------------------------------------------------

async function startRsyslog() {
  const dir = mkdtempSync(join(tmpdir(), 'pino-courier-syslog-'))
  const port = await freePort()
  const out = join(dir, 'received.log')
  const config = join(dir, 'rsyslog.conf')
  writeFileSync(
    config,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imtcp")',
      'template(name="raw" type="string" string="%rawmsg%\\n")',
      `ruleset(name="capture") { action(type="omfile" file="${out}" template="raw") }`,
      `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="capture")`,
    ].join('\n'),
  )
  if (spawnSync('sh', ['-c', 'command -v rsyslogd || test -x /usr/sbin/rsyslogd']).status !== 0) {
    console.error('rsyslogd is not installed (apt-get install -y rsyslog), or set SYSLOG_URL to your receiver')
    process.exit(1)
  }
  const child = spawn('rsyslogd', ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' })
  // Whatever ends this process (an error included), the private rsyslogd does not outlive it.
  process.once('exit', () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'))
  // A taken port only makes rsyslog log a warning: wait until the port accepts.
  for (let tries = 0; !(await accepts(port)); tries++) {
    if (tries > 300 || child.exitCode !== null) {
      // Never leave it running behind us.
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error('rsyslogd did not start')
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const lines = () => {
    try {
      return readFileSync(out, 'utf8').split('\n').filter(Boolean).length
    } catch {
      return 0
    }
  }
  return {
    port,
    async waitFor(count) {
      for (let tries = 0; lines() < count && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 20))
      return lines()
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}
