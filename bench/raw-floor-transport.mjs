// The raw shipping floor: a worker transport that forwards pino's bytes to the sink with no work per
// line. thread-stream hands a target's stream whatever text sits in its shared buffer (whole lines,
// as pino writes them, though a long one may come in pieces); this cuts the text at a newline into
// ~1 MiB bodies and POSTs them, 8 at a time, over keep-alive connections. A write's callback waits
// while 8 are on the wire, so the stream's buffer fills, write() returns false and thread-stream
// stops reading: the same backpressure a real transport applies. No pino-abstract-transport, no
// split2, no JSON.parse: nothing built on pino.transport() that ships over HTTP can cost less.
import { Writable } from 'node:stream'
import { createShipper, FLOOR_BODY_BYTES } from './floor-shipper.mjs'

export default function rawFloorTransport({ url }) {
  const shipper = createShipper(url)
  // Text not shipped yet. `+=` builds a rope; it is flattened once per body, at the cut.
  let pending = ''

  /** Ships whole bodies while there is one; `done` runs when the last one has started. */
  function shipBodies(done) {
    if (pending.length < FLOOR_BODY_BYTES) return done()
    let cut = pending.lastIndexOf('\n', FLOOR_BODY_BYTES - 1) + 1
    // A line longer than a body goes alone; a line not yet complete waits for its end.
    if (cut === 0) cut = pending.indexOf('\n', FLOOR_BODY_BYTES) + 1
    if (cut === 0) return done()
    const body = pending.slice(0, cut)
    pending = pending.slice(cut)
    shipper.send(body, () => shipBodies(done))
  }

  return new Writable({
    // thread-stream writes strings; keep them strings rather than copying each into a Buffer.
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      pending += chunk
      shipBodies(() => callback())
    },
    final(callback) {
      shipBodies(() => {
        const rest = pending
        pending = ''
        const finish = () =>
          shipper.idle(() => {
            shipper.close()
            callback()
          })
        if (rest.length > 0) shipper.send(rest, finish)
        else finish()
      })
    },
    destroy(error, callback) {
      shipper.close()
      callback(error)
    },
  })
}
