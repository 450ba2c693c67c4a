// The naive reference row: what a 15-line transport does (fire-and-forget POSTs of large batches,
// no retries, no bounds, no timer: the tail goes out at close). It shows what real software must beat.
import build from 'pino-abstract-transport'

export default function naiveTransport({ url, batchSize = 1000 }) {
  let lines = []
  const pending = new Set()
  const post = () => {
    if (lines.length === 0) return
    const body = lines.join('\n')
    lines = []
    const request = fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })
      .then((response) => response.arrayBuffer(), () => undefined)
      .finally(() => pending.delete(request))
    pending.add(request)
  }
  return build(
    async (source) => {
      for await (const line of source) {
        lines.push(line)
        if (lines.length >= batchSize) post()
      }
    },
    { parse: 'lines', async close() { post(); await Promise.allSettled(pending) } },
  )
}
