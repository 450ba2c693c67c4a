// The pino-abstract-transport floor: the raw floor's shipping (bench/floor-shipper.mjs: ~1 MiB
// NDJSON bodies, 8 POSTs in flight, keep-alive) on top of pino-abstract-transport's line framing,
// `build(fn, { parse: 'lines' })`. That framing runs split2 and a JSON.parse of every line (it
// parses even when it hands out the line) before the transport sees it, so this is the cheapest any
// transport built on pino-abstract-transport can be. While 8 requests are on the wire the loop
// awaits a slot and reads no further: split2's buffers fill and thread-stream stops reading.
import build from 'pino-abstract-transport'
import { createShipper, FLOOR_BODY_BYTES } from './floor-shipper.mjs'

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
      reading = (async () => {
        for await (const line of source) {
          lines.push(line)
          size += line.length + 1
          if (size >= FLOOR_BODY_BYTES) await ship()
        }
      })()
      return reading
    },
    {
      parse: 'lines',
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
