import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { endpointUrl } from '../shared/endpoint.js'
import { sendSplitting } from '../shared/request-splitter.js'
import type { Batch, DeliveryContext, DeliveryResult, Sink } from '../sink.js'
import { HttpPoster } from '../http/http-post.js'
import { readBulkAnswer, type AnswerContext } from './bulk-answer.js'
import { assemble, BulkBody, type ElasticsearchOpType, type PreparedBulk } from './bulk-body.js'
import type { IndexName } from './index-name.js'

const gzip = promisify(gzipCallback)

/** The path of the bulk API, added to a `url` whose path is empty or `/`. */
export const BULK_PATH = '/_bulk'

/**
 * What the answer is cut down to (`filter_path`, understood by Elasticsearch and OpenSearch): each
 * item's status and error, not its index, version, shards and sequence numbers, so that an answer
 * naming 5,000 items is about 130 KB instead of 1.5 MB. A server that ignores it sends the whole
 * answer, which reads the same.
 */
export const BULK_FILTER_PATH = 'errors,items.*.status,items.*.error'

/** What the sink needs of the sender's options (checked already). */
export interface ElasticsearchSinkOptions {
  url: string
  index: IndexName
  opType: ElasticsearchOpType
  pipeline?: string | undefined
  /** The value of `Authorization: ApiKey …` (the encoded key), when one is set. */
  apiKey?: string | undefined
  /** Secrets that are not sent as such but could be echoed (the `api_key` half of an `{ id, api_key }`). */
  secrets?: readonly string[] | undefined
  headers?: Record<string, string> | undefined
  gzip?: boolean | undefined
  addTimestamp: boolean
  keepAliveTimeoutMs?: number | undefined
}

/**
 * Sends each batch to `_bulk` as one NDJSON request and turns the answer into a partial outcome:
 * items that failed for good are refused (dead-lettered), 429 and 5xx items go again alone with
 * their `_id`s, and a 413 splits the batch (request-splitter.ts).
 */
export class ElasticsearchSink implements Sink {
  readonly poster: HttpPoster
  readonly #body: BulkBody
  readonly #headers: Record<string, string>
  readonly #gzip: boolean
  readonly #answer: AnswerContext

  constructor(options: ElasticsearchSinkOptions) {
    const url = new URL(endpointUrl(options.url, BULK_PATH))
    url.searchParams.set('filter_path', BULK_FILTER_PATH)
    // The raw api_key goes to the poster too: it cuts it out of every answer it quotes, whole-request
    // errors included (the headers it sees hold only the encoded key).
    this.poster = new HttpPoster({
      url: url.toString(),
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      publicPath: BULK_PATH,
      secrets: options.secrets,
    })
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      accept: 'application/json',
      'user-agent': 'pino-courier',
    }
    if (options.gzip) headers['content-encoding'] = 'gzip'
    if (options.apiKey !== undefined) headers.authorization = `ApiKey ${options.apiKey}`
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value
    this.#headers = headers
    this.#gzip = options.gzip ?? false
    this.#body = new BulkBody({ index: options.index, opType: options.opType, pipeline: options.pipeline, addTimestamp: options.addTimestamp })
    this.#answer = {
      opType: options.opType,
      origin: this.poster.origin,
      quote: (text) => this.poster.quote(text, this.#headers),
    }
  }

  async deliver(batch: Batch, { signal }: DeliveryContext): Promise<void | DeliveryResult> {
    const prepared = this.#body.prepare(batch)
    if (prepared.count === 0) return
    return sendSplitting(prepared.count, (indexes) => this.#send(prepared, indexes, signal))
  }

  /** One request with the records at `indexes`; the outcome indexed in `indexes`. */
  async #send(prepared: PreparedBulk, indexes: readonly number[], signal: AbortSignal): Promise<DeliveryResult | undefined> {
    const plain = assemble(prepared, indexes)
    const body = this.#gzip ? await gzip(plain) : plain
    const headers = { ...this.#headers, 'content-length': String(body.length) }
    const answer = await this.poster.postForAnswer(body, headers, signal)
    return readBulkAnswer(answer.body, indexes.length, this.#answer)
  }

  close(): Promise<void> {
    return this.poster.close()
  }
}
