// The CLI bench's floor (bench/cli.mjs): the least a program can do to ship an NDJSON file over HTTP.
// It reads the file in 1 MiB chunks, cuts bodies of at most `bodyBytes` at line ends (the http
// sender's default batch.maxBytes) and POSTs them one after the other over one keep-alive
// connection, each answer awaited before the next body. No parsing, no queue, no retries.
//
//   node bench/raw-post-loop.mjs FILE URL [bodyBytes]     (FILE '-' reads stdin: the bench pipes it, like the CLI's)
import { createReadStream } from 'node:fs'
import { Agent, request } from 'node:http'

const [file, url, bodyArg] = process.argv.slice(2)
if (!file || !url) {
  console.error('usage: node bench/raw-post-loop.mjs FILE URL [bodyBytes]')
  process.exit(2)
}
const bodyBytes = Number(bodyArg ?? 1024 * 1024)
const agent = new Agent({ keepAlive: true, maxSockets: 1 })
const target = new URL(url)

function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
      },
      (res) => {
        res.resume()
        res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

let pending = []
let pendingBytes = 0
let bodies = 0
let bytes = 0
const input = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1024 * 1024 })
for await (const chunk of input) {
  let start = 0
  while (start < chunk.length) {
    // Cut at the last line end that keeps the body within bodyBytes (or take the whole chunk's rest).
    const room = bodyBytes - pendingBytes
    const end = Math.min(chunk.length, start + room)
    if (end === chunk.length && end - start < room) {
      pending.push(chunk.subarray(start))
      pendingBytes += chunk.length - start
      break
    }
    const nl = chunk.lastIndexOf(0x0a, end - 1)
    if (nl < start) {
      // No line end in reach: send what is pending and start a new body here.
      if (pendingBytes === 0) throw new Error('a line longer than the body size')
    } else {
      pending.push(chunk.subarray(start, nl + 1))
      pendingBytes += nl + 1 - start
      start = nl + 1
    }
    const body = Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    await post(body)
    bodies++
    bytes += body.length
  }
}
if (pendingBytes > 0) {
  const body = Buffer.concat(pending, pendingBytes)
  await post(body)
  bodies++
  bytes += body.length
}
agent.destroy()
console.log(JSON.stringify({ bodies, bytes }))
