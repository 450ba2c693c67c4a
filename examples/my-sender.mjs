// A custom sender, loaded by the transport with { type: 'module', module: '/absolute/path/my-sender.mjs' }.
//
// The module exports `createSender(options, context)`. `options` is the spec's plain-data `options`
// plus its `name` and `level`; `context` carries the logger's levels and the transport-wide
// queue/batch/pool/retry defaults. Wrapping a Sink in a QueuedSender gives it the bounded queue,
// batching, worker pool, retries and stats of the built-in senders.
//
// This one appends records to a CSV file: time,level,msg.
import { appendFile } from 'node:fs/promises'
import { DeliveryError, QueuedSender } from 'pino-courier'

const LABELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/** A Sink only has to deliver one batch; close() is optional. */
class CsvSink {
  #path
  constructor(path) {
    this.#path = path
  }

  async deliver(batch, { signal, attempt }) {
    // record.line is the raw NDJSON line; record.value() parses it once, on demand.
    let csv = ''
    for (const record of batch.records) {
      const { time, msg = '' } = record.value()
      csv += `${new Date(time).toISOString()},${LABELS[record.level] ?? record.level},"${String(msg).replaceAll('"', '""')}"\n`
    }
    try {
      // Honour the signal: it fires on the pool's timeoutMs and at the close deadline.
      await appendFile(this.#path, csv, { signal })
    } catch (error) {
      // Thrown errors are retried with backoff; mark the ones a retry cannot fix as permanent.
      const permanent = error.code === 'EACCES' || error.code === 'EISDIR'
      throw new DeliveryError(`csv append failed (attempt ${attempt}): ${error.message}`, { permanent, cause: error })
    }
  }
}

export function createSender(options, context) {
  const { path, ...common } = options // common: name, level, closeTimeoutMs, queue, batch, pool, retry
  if (typeof path !== 'string') throw new TypeError('my-sender: options.path (a string) is required')
  return new QueuedSender({ name: 'csv', batch: { maxWaitMs: 100 }, ...common }, new CsvSink(path), context)
}
