// The shipping both floor transports share (bench/raw-floor-transport.mjs, bench/pat-floor-transport.mjs):
// POSTs of ready-made NDJSON bodies over keep-alive connections, at most FLOOR_IN_FLIGHT on the wire.
// No retries, no timeouts, no stats: a failed request loses its body (the sink's count shows it).
// That is the least any transport that ships over HTTP has to do, so it is a floor, not a peer.
import http from 'node:http'

/** Body size the floors aim at: pino-courier's default batch.maxBytes. */
export const FLOOR_BODY_BYTES = 1024 * 1024
/** Requests on the wire at once. */
export const FLOOR_IN_FLIGHT = 8

/**
 * @param {string} url where to POST
 * @returns {{ send(body: string, started: () => void): void, idle(done: () => void): void, close(): void }}
 */
export function createShipper(url) {
  const target = new URL(url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: FLOOR_IN_FLIGHT })
  let active = 0
  /** Requests waiting for a free slot, in order. */
  const waiting = []
  /** Callbacks waiting for the last request to end. */
  let onIdle = []

  function start(body) {
    active++
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      active--
      const next = waiting.shift()
      if (next) next()
      else if (active === 0) for (const done of onIdle.splice(0)) done()
    }
    const buffer = Buffer.from(body)
    const request = http.request(
      target,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': buffer.length } },
      (response) => {
        response.on('close', end)
        response.resume()
      },
    )
    request.on('error', end)
    request.end(buffer)
  }

  return {
    /** Starts a POST of `body` as soon as a slot is free; `started` runs once it is on its way. */
    send(body, started) {
      if (active < FLOOR_IN_FLIGHT) {
        start(body)
        started()
      } else {
        waiting.push(() => {
          start(body)
          started()
        })
      }
    },
    /** Runs `done` once no request is on the wire or waiting. */
    idle(done) {
      if (active === 0 && waiting.length === 0) done()
      else onIdle.push(done)
    },
    close() {
      agent.destroy()
    },
  }
}
