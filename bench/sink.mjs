// The bench's HTTP sink: one small server every target ships to, so that all rows are measured
// against the same thing. It accepts any body (NDJSON, JSON arrays, Loki's push JSON, gzip), counts
// distinct record ids and duplicates, can answer late, and can fail on purpose for a while:
// answering 503, or refusing connections (the port stops listening).
import { createServer } from 'node:http'
import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import { now } from './clock.mjs'

const gunzipAsync = promisify(gunzip)

/**
 * Every target writes `"benchId":N` into its records; Loki's push format nests each record as a
 * JSON string, where the quotes come escaped (`\"benchId\":N`). The sink finds both by scanning
 * for `benchId` without parsing: it shares the machine's cores with the app it measures, so it has
 * to be cheaper than any target.
 */
const ID_KEY = 'benchId'
/** What follows `"benchId` in OTLP JSON before the value's digits. */
const OTLP_JSON_VALUE = '","value":{"intValue":'
/**
 * @typedef {object} SinkOptions
 * @property {number} expected   records the app will send (ids 0..expected-1)
 * @property {number} [copies]   senders of one transport that each ship every record, each to a
 *   path of its own (fan-out): the sink then counts each id once per path. 1 if unset: one count
 *   per id whatever the path (peers post to paths of their own choosing).
 * @property {number} [latencyMs] delay before each successful answer
 * @property {'none'|'503'|'refuse'} [fault] how to fail while the fault lasts
 */

export class BenchSink {
  /** @type {import('node:http').Server} */
  #server
  #sockets = new Set()
  /** @type {Map<string, Uint8Array>} one array of seen ids per sender path (one in all when copies is 1) */
  #seen = new Map()
  #expected
  #copies
  #port = 0
  #latencyMs
  #fault
  #faultUntil = 0
  #listening = false
  /** @type {NodeJS.Timeout | undefined} */
  #recoverTimer

  received = 0
  duplicates = 0
  requests = 0
  failedRequests = 0
  bytes = 0
  /** Time (epoch ms) the first and the last new record arrived. */
  firstAt = 0
  lastAt = 0

  /** @param {SinkOptions} options */
  constructor(options) {
    this.#expected = options.expected
    this.#copies = options.copies ?? 1
    this.#latencyMs = options.latencyMs ?? 0
    this.#fault = options.fault ?? 'none'
    this.#server = createServer((req, res) => this.#handle(req, res))
    this.#server.keepAliveTimeout = 30_000
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  get url() {
    return `http://127.0.0.1:${this.#port}`
  }

  async start() {
    await this.#listen(0)
    this.#port = this.#server.address().port
  }

  /**
   * Starts the fault window now, for `ms`. A refusing sink closes its port and every open
   * connection, then listens again on the same port when the window ends.
   */
  failFor(ms) {
    if (this.#fault === 'none' || ms <= 0) return
    this.#faultUntil = now() + ms
    if (this.#fault !== 'refuse') return
    if (this.#listening) {
      this.#server.close()
      this.#listening = false
      for (const socket of this.#sockets) socket.destroy()
    }
    clearTimeout(this.#recoverTimer)
    this.#recoverTimer = setTimeout(() => this.#relisten(), ms)
  }

  /** Listens on the sink's port again; if a client's outgoing connection took it meanwhile, retries. */
  #relisten() {
    this.#listen(this.#port).catch(() => {
      this.#recoverTimer = setTimeout(() => this.#relisten(), 50)
    })
  }

  tally() {
    return {
      received: this.received,
      duplicates: this.duplicates,
      requests: this.requests,
      failedRequests: this.failedRequests,
      bytes: this.bytes,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
    }
  }

  async close() {
    clearTimeout(this.#recoverTimer)
    for (const socket of this.#sockets) socket.destroy()
    if (this.#listening) await new Promise((resolve) => this.#server.close(() => resolve()))
    this.#listening = false
  }

  #listen(port) {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.#listening = true
        resolve()
      })
    })
  }

  #handle(req, res) {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('error', () => undefined)
    req.on('end', () => {
      this.requests++
      if (now() < this.#faultUntil) {
        // A 503 from a load balancer comes at once; only successful answers carry the latency.
        this.failedRequests++
        res.writeHead(503).end('unavailable')
        return
      }
      const raw = Buffer.concat(chunks)
      this.bytes += raw.length
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipAsync(raw) : Promise.resolve(raw)
      body.then(
        (buffer) => {
          const path = req.url ?? ''
          const protobuf = /protobuf/.test(req.headers['content-type'] ?? '')
          if (protobuf) this.#countProtobuf(buffer, this.#seenFor(path))
          else this.#count(buffer.toString('utf8'), this.#seenFor(path))
          const answer = () => {
            if (res.destroyed) return
            // Each backend's success answer, as its clients check it: Elasticsearch's bulk items
            // (one per action line; the official client also wants its product header), OTLP's
            // (empty) ExportLogsServiceResponse, and 204 for the rest (Loki, plain HTTP).
            if (/\/_bulk(\?|$)/.test(path)) {
              const text = buffer.toString('utf8')
              const op = text.startsWith('{"create"') ? 'create' : 'index'
              let actions = 0
              for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) actions++
              const item = `{"${op}":{"status":201}}`
              const items = new Array(actions >> 1).fill(item).join(',')
              res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' })
              res.end(`{"took":1,"errors":false,"items":[${items}]}`)
            } else if (/\/v1\/logs(\?|$)/.test(path)) {
              res.writeHead(200, { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' })
              res.end(protobuf ? '' : '{}')
            } else res.writeHead(204).end()
          }
          if (this.#latencyMs > 0) setTimeout(answer, this.#latencyMs)
          else answer()
        },
        () => res.writeHead(400).end('bad gzip'),
      )
    })
  }

  /** The seen-ids array of the sender posting to `path`. */
  #seenFor(path) {
    const key = this.#copies === 1 ? '' : path
    let seen = this.#seen.get(key)
    if (!seen) {
      seen = new Uint8Array(this.#expected)
      this.#seen.set(key, seen)
    }
    return seen
  }

  /**
   * OTLP protobuf: an attribute `benchId` is a KeyValue whose key bytes are followed by its value,
   * an AnyValue holding an int (field 2, length-delimited, then tag 0x18 and a varint). Found by
   * scanning the bytes, like the text case, without decoding the message.
   */
  #countProtobuf(buffer, seen) {
    const key = Buffer.from(ID_KEY)
    const ids = []
    for (let at = buffer.indexOf(key); at >= 0; at = buffer.indexOf(key, at + key.length)) {
      let i = at + key.length
      if (buffer[i] !== 0x12) continue
      i += 2 // tag of KeyValue.value and its (one-byte) length
      if (buffer[i] !== 0x18) continue
      i++
      let id = 0
      let shift = 1
      for (;;) {
        const byte = buffer[i++]
        if (byte === undefined) break
        id += (byte & 0x7f) * shift
        shift *= 128
        if (byte < 0x80) break
      }
      ids.push(id)
    }
    this.#record(ids, seen)
  }

  #count(text, seen) {
    const ids = []
    for (let at = text.indexOf(ID_KEY); at >= 0; at = text.indexOf(ID_KEY, at + ID_KEY.length)) {
      let i = at + ID_KEY.length
      if (text.charCodeAt(i) === 92 /* backslash */) i++
      if (text.startsWith(OTLP_JSON_VALUE, i)) {
        // OTLP JSON: {"key":"benchId","value":{"intValue":"12"}} (an int64 may be a string or a number).
        i += OTLP_JSON_VALUE.length
        if (text.charCodeAt(i) === 34) i++
      } else if (text.charCodeAt(i) !== 34 /* " */ || text.charCodeAt(i + 1) !== 58 /* : */) continue
      else i += 2
      let id = 0
      let digits = 0
      for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i), digits++) id = id * 10 + (c - 48)
      if (digits === 0) continue
      ids.push(id)
    }
    this.#record(ids, seen)
  }

  /** Counts ids as received (new) or duplicates. */
  #record(ids, seen) {
    let fresh = 0
    for (const id of ids) {
      if (id >= seen.length) continue
      if (seen[id] === 0) {
        seen[id] = 1
        fresh++
      } else {
        this.duplicates++
      }
    }
    if (fresh > 0) {
      const at = now()
      if (this.received === 0) this.firstAt = at
      this.received += fresh
      this.lastAt = at
    }
  }
}
