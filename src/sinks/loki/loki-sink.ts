import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { LogRecord } from '../../input/record.js'
import { DeliveryError } from '../../pool/delivery-error.js'
import { KeySequencer } from '../../pool/key-sequencer.js'
import type { Batch, DeliveryContext, DeliveryResult, RecordRejection, Sink } from '../sink.js'
import { endpointUrl } from '../shared/endpoint.js'
import type { RecordFields } from '../shared/record-fields.js'
import { sendSplitting } from '../shared/request-splitter.js'
import { HttpPoster } from '../http/http-post.js'
import { describeRefusal, readRefusal, tookNothing, type StreamSizes } from './loki-answer.js'
import { EntryMaker, inTimeOrder, pushBody, type EntryOptions, type LokiEntry } from './loki-entries.js'
import { DEFAULT_MAX_STREAMS, StreamCap } from './loki-stream-cap.js'
import { namesStream, parseStreamName, prometheusText } from './loki-stream-names.js'

const gzip = promisify(gzipCallback)

/** Loki's push API path, added to a `url` whose path is empty or `/`. */
export const LOKI_PUSH_PATH = '/loki/api/v1/push'

export { DEFAULT_MAX_STREAMS }

/**
 * Largest 400 answer read. Loki groups its validation errors by message, but a message names the
 * entry's length, so a batch of long lines may list thousands of them.
 */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024

/** What the Loki sink needs of the sender's options. */
export interface LokiSinkOptions extends EntryOptions {
  url: string
  tenant?: string | undefined
  headers?: Record<string, string> | undefined
  gzip?: boolean | undefined
  maxStreams?: number | undefined
  keepAliveTimeoutMs?: number | undefined
}

/**
 * Pushes batches to Loki as JSON (`POST /loki/api/v1/push`): records grouped into streams by their
 * labels, each stream's entries in time order, and, when the sender has several requests in flight,
 * requests of one stream started in the order they were made (a {@link KeySequencer} on the stream
 * keys; with one in flight, the default, it never waits).
 */
export class LokiSink implements Sink {
  readonly poster: HttpPoster
  readonly #entries: EntryMaker
  readonly #headers: Record<string, string>
  readonly #gzip: boolean
  readonly #sequencer = new KeySequencer()
  /** Streams this sender has sent to (or tried to) lately: at most `maxStreams`. */
  readonly #streams: StreamCap
  readonly #capReason: (stream: string) => string

  constructor(options: LokiSinkOptions, fields: RecordFields) {
    this.#entries = new EntryMaker(options, fields)
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'pino-courier' }
    if (options.tenant !== undefined) headers['x-scope-orgid'] = options.tenant
    if (options.gzip) headers['content-encoding'] = 'gzip'
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.#headers = headers
    this.#gzip = options.gzip ?? false
    this.#streams = new StreamCap(options.maxStreams ?? DEFAULT_MAX_STREAMS)
    this.poster = new HttpPoster({
      url: endpointUrl(options.url, LOKI_PUSH_PATH),
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      publicPath: LOKI_PUSH_PATH,
    })
    const keys = options.labelKeys === undefined ? [] : Array.isArray(options.labelKeys) ? options.labelKeys : Object.values(options.labelKeys)
    const cap = options.maxStreams ?? DEFAULT_MAX_STREAMS
    this.#capReason = (stream) =>
      `stream limit reached: this sender has sent to its maxStreams (${cap}) distinct streams within the last hour, and ${stream} would be one more. ` +
      `Loki labels must be few and of low cardinality: check the labelKeys (${keys.join(', ') || 'none'}), or raise maxStreams ` +
      `together with Loki's max_global_streams_per_user`
  }

  /**
   * Sends the batch. Records that would open a stream past `maxStreams` (streams idle for an hour
   * not counted) are refused for good (named: failed, and dead-lettered when a dead-letter file is
   * set). Folding them into some catch-all stream instead would count them delivered where no query
   * by their labels finds them, and retrying them cannot help; the dead-letter file keeps them for a
   * replay once the labels are fixed, and the failure warning (the first at once) names the cap and
   * the labelKeys.
   */
  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    const capped: RecordRejection[] = []
    const entries: LokiEntry[] = []
    const streams = new Set<string>()
    const { records } = batch
    const now = Date.now()
    // Records of one stream usually come in runs: the cap is asked once per run.
    let run: string | undefined
    let admitted = false
    for (let i = 0; i < records.length; i++) {
      const entry = this.#entries.entry(records[i] as LogRecord, i)
      if (entry.stream !== run) {
        run = entry.stream
        admitted = this.#streams.admit(run, now)
        if (admitted) streams.add(run)
      }
      if (admitted) entries.push(entry)
      else capped.push({ index: i, error: this.#capReason(this.#streamName(entry.stream)) })
    }
    if (entries.length === 0) return capped.length > 0 ? { rejected: capped } : undefined
    const sorted = inTimeOrder(entries)
    // The whole request's body is made before waiting for its turn (with several requests in flight,
    // an earlier one of the same stream may be on its way): the worker builds it meanwhile.
    const whole = pushBody(sorted, undefined)
    // The place is taken synchronously, as the delivery starts: requests are ordered as they start.
    // The wait counts against the attempt's timeout (pool.timeoutMs).
    const release = await this.#sequencer.acquire(streams, signal)
    try {
      const result = await sendSplitting(sorted.length, (part) =>
        this.#push(sorted, part, signal, part.length === sorted.length ? whole : undefined),
      )
      return onBatch(result, sorted, capped)
    } finally {
      release()
    }
  }

  close(): Promise<void> {
    return this.poster.close()
  }

  /** A stream as Loki names it in messages (`{app="api", level="info"}`). */
  #streamName(stream: string): string {
    return prometheusText(Object.entries(JSON.parse(stream) as Record<string, string>))
  }

  /** One request: the entries at `part` (indexes into `entries`). */
  async #push(entries: readonly LokiEntry[], part: readonly number[], signal: AbortSignal, made?: Buffer): Promise<void | DeliveryResult> {
    const text = made ?? pushBody(entries, part)
    const body = this.#gzip ? await gzip(text) : text
    const headers = { ...this.#headers, 'content-length': String(body.length) }
    const answer = await this.poster.postForAnswer(body, headers, signal, {
      maxBytes: MAX_ANSWER_BYTES,
      answers: (status) => status === 400,
    })
    if (answer.status !== 400) return undefined
    const said = answer.body.toString('utf8')
    // Refused before Loki read the request (the tenant, the body): nothing was taken, and sending it
    // again cannot help.
    if (tookNothing(said)) {
      throw new DeliveryError(`HTTP 400 from ${this.poster.origin}: ${this.poster.quote(said, headers) || '(no body)'}`, {
        status: 400,
        permanent: true,
      })
    }
    // Any other 400 means Loki took the rest of the request: the refused entries are counted (at
    // least one), never sent again.
    const refusal = readRefusal(said, this.#sizes(entries, part))
    return {
      rejectedCount: Math.min(refusal.count, part.length),
      error: describeRefusal(refusal, (quoted) => this.poster.quote(quoted, headers, 200)),
    }
  }

  /**
   * The entries of the request's stream that Loki names (see {@link namesStream}: Loki 3 adds
   * `service_name` to the names). A name that fits several of our streams only once labels Loki adds
   * are left out is not counted (undefined): the count is then a lower bound.
   */
  #sizes(entries: readonly LokiEntry[], part: readonly number[]): StreamSizes {
    let ours: { labels: Record<string, string>; count: number }[] | undefined
    return (name) => {
      const theirs = parseStreamName(name)
      if (theirs === undefined) return undefined
      if (ours === undefined) {
        const byStream = new Map<string, number>()
        for (const i of part) {
          const stream = (entries[i] as LokiEntry).stream
          byStream.set(stream, (byStream.get(stream) ?? 0) + 1)
        }
        ours = [...byStream].map(([stream, count]) => ({ labels: JSON.parse(stream) as Record<string, string>, count }))
      }
      let loose: number | undefined
      let looseMatches = 0
      for (const { labels, count } of ours) {
        const match = namesStream(labels, theirs)
        if (match === 'exact') return count
        if (match === 'added') {
          loose = count
          looseMatches++
        }
      }
      return looseMatches === 1 ? loose : undefined
    }
  }
}

/** The outcome on the sorted entries (from the splitter) as one on the batch, with the capped records. */
function onBatch(result: void | DeliveryResult, entries: readonly LokiEntry[], capped: readonly RecordRejection[]): void | DeliveryResult {
  if (!result && capped.length === 0) return undefined
  const toBatch = (list: readonly RecordRejection[] | undefined): RecordRejection[] =>
    (list ?? []).flatMap((r) => {
      const entry = entries[r.index]
      return entry === undefined ? [] : [{ ...r, index: entry.index }]
    })
  return {
    ...(result ?? {}),
    rejected: [...capped, ...toBatch(result?.rejected)],
    retry: toBatch(result?.retry),
  }
}
