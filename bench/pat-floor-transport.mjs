// The pino-abstract-transport floor: the raw floor's shipping (bench/floor-shipper.mjs: ~1 MiB
// NDJSON bodies, 8 POSTs in flight, keep-alive) on top of pino-abstract-transport's line framing,
// `build(fn, { parse: 'lines' })`, with the cheapest settings it has: a `parseLine` that parses
// nothing (by default it runs JSON.parse on every line even when it hands out the line) and no
// metadata. So this is the cheapest any transport built on pino-abstract-transport can be: split2's
// framing and a 'data' event per line. While 8 requests are on the wire the stream is paused:
// split2's buffers fill and thread-stream stops reading.
import build from 'pino-abstract-transport'
import { createShipper, FLOOR_BODY_BYTES } from './floor-shipper.mjs'

/** What `parseLine` returns for every line: pino-abstract-transport only checks that it is an object. */
const PARSED = Object.freeze({})

export default function patFloorTransport({ url }) {
  const shipper = createShipper(url)
  let lines = []
  let size = 0
  /** @type {Promise<void> | undefined} */
  let reading

  const ship = () => {
    const body = `${lines.join('\n')}\n`
    lines = []
    size = 0
    return new Promise((resolve) => shipper.send(body, resolve))
  }

  return build(
    (source) => {
      reading = new Promise((resolve) => {
        source.on('data', (line) => {
          lines.push(line)
          size += line.length + 1
          if (size >= FLOOR_BODY_BYTES) {
            source.pause()
            void ship().then(() => source.resume())
          }
        })
        source.on('end', resolve)
        source.on('close', resolve)
      })
      return reading
    },
    {
      parse: 'lines',
      parseLine: () => PARSED,
      metadata: false,
      async close() {
        // The stream ends once the loop has taken its last line; the loop may still be shipping.
        await reading?.catch(() => undefined)
        if (lines.length > 0) await ship()
        await new Promise((resolve) => shipper.idle(resolve))
        shipper.close()
      },
    },
  )
}
