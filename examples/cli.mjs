// The pino-courier command on a real pipe: `node app.js | pino-courier --url URL`.
//
//   npm run build && node examples/cli.mjs
//
// A local HTTP server stands in for a log collector. The "app" is a pino logger writing a burst of
// 20,000 records (and one line that is not JSON) into the command's stdin, as a shell pipe would.
// The command prints its status and the final tally on stderr and exits 0 when every record was
// delivered; this script exits with the command's code.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

// ---- a local collector ---------------------------------------------------------------------------
let received = 0
let requests = 0
const server = createServer((req, res) => {
  req.on('data', (chunk) => {
    for (const byte of chunk) if (byte === 10) received++
  })
  req.on('end', () => {
    requests++
    // A collector that takes a little time to answer, as a remote one does.
    setTimeout(() => res.end(), 20)
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${server.address().port}/ingest`

// ---- the command ---------------------------------------------------------------------------------
// Installed, it is `pino-courier` (package.json "bin"); here the built file, run by this node.
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const child = spawn(process.execPath, [cli, '--url', url, '--header', 'X-Source: examples/cli.mjs', '--status-interval', '1'], {
  stdio: ['pipe', 'inherit', 'inherit'],
})
const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)))

// ---- the app: pino writing into the pipe ------------------------------------------------------------
const logger = pino({ base: { app: 'example' } }, child.stdin)
for (let i = 0; i < 20_000; i++) {
  logger.info({ i, user: `u${i % 97}` }, 'request handled')
  // Let the pipe drain now and then, as an app doing real work would.
  if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
}
child.stdin.write('a line that is not JSON: shipped wrapped, counted as malformed\n')
child.stdin.end()

const code = await exited
server.close()
console.log(`collector: ${received} records in ${requests} requests; pino-courier exited ${code}`)
process.exit(code === 0 && received === 20_001 ? 0 : 1)
