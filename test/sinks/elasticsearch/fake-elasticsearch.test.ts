/**
 * The fake answers as Elasticsearch and OpenSearch document and do (their messages and shapes, read
 * from their sources and docs): the sender's tests are only as good as this.
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { useCleanups } from '../../helpers/cleanups.js'
import { startFakeElasticsearch, topLevelKeys, type FakeOptions } from './fake-elasticsearch.js'

const { defer } = useCleanups()

async function fake(options: FakeOptions = {}): Promise<string> {
  const started = await startFakeElasticsearch(options)
  defer(() => started.close())
  return started.url
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }) {
  const response = await fetch(url, { method: 'POST', body, headers })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) }
}

const pair = (op: string, meta: object, doc: object): string => `${JSON.stringify({ [op]: meta })}\n${JSON.stringify(doc)}\n`

describe('fake Elasticsearch', () => {
  it('refuses a body without its final newline, with the server\'s exact error', async () => {
    const url = await fake()
    const answer = await post(`${url}/_bulk`, pair('create', { _index: 'a', _id: '1' }, { x: 1 }).trimEnd())
    expect(answer.status).toBe(400)
    expect(answer.text).toBe(
      '{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\\\n]"}],"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\\\n]"},"status":400}',
    )
  })

  it('refuses an unsupported content type (406), an empty body, an unknown action parameter and a missing index', async () => {
    const url = await fake()
    expect(await post(`${url}/_bulk`, pair('create', { _index: 'a' }, {}), { 'content-type': 'text/plain' })).toMatchObject({
      status: 406,
      json: { error: 'Content-Type header [text/plain] is not supported', status: 406 },
    })
    expect((await post(`${url}/_bulk`, '')).json).toMatchObject({ status: 400, error: { type: 'parse_exception', reason: 'request body is required' } })
    expect((await post(`${url}/_bulk`, pair('create', { _index: 'a', colour: 'red' }, {}))).json).toMatchObject({
      error: { reason: 'Action/metadata line [1] contains an unknown parameter [colour]' },
    })
    expect((await post(`${url}/_bulk`, pair('create', {}, {}))).json).toMatchObject({
      error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' },
    })
    // The index from the path fills in.
    expect((await post(`${url}/a/_bulk`, pair('create', {}, { x: 1 }))).json).toMatchObject({ errors: false })
  })

  it('answers like Elasticsearch 8: errors first, X-elastic-product, a 409 for create on an existing _id', async () => {
    const url = await fake()
    await post(`${url}/_bulk`, pair('create', { _index: 'a', _id: '1' }, { x: 1 }))
    const answer = await post(`${url}/_bulk`, pair('create', { _index: 'a', _id: '1' }, { x: 1 }) + pair('index', { _index: 'a', _id: '2' }, { x: 2 }))
    expect(answer.headers.get('x-elastic-product')).toBe('Elasticsearch')
    expect(answer.text.startsWith('{"errors":true,"took":')).toBe(true)
    expect(answer.json?.items).toEqual([
      {
        create: {
          _index: 'a',
          _id: '1',
          status: 409,
          error: { type: 'version_conflict_engine_exception', reason: '[1]: version conflict, document already exists (current version [1])', index_uuid: '_na_', index: 'a' },
        },
      },
      { index: { _index: 'a', _id: '2', _version: 1, result: 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: 1, _primary_term: 1, status: 201 } },
    ])
  })

  it('answers like OpenSearch: took first, no X-elastic-product, mapper_parsing_exception', async () => {
    const url = await fake({ flavor: 'opensearch', mappings: { a: { n: 'long' } } })
    const answer = await post(`${url}/_bulk`, pair('index', { _index: 'a', _id: '1' }, { n: 'abc' }))
    expect(answer.headers.get('x-elastic-product')).toBeNull()
    expect(answer.text.startsWith('{"took":')).toBe(true)
    expect(answer.json).toMatchObject({
      errors: true,
      items: [{ index: { status: 400, error: { type: 'mapper_parsing_exception', caused_by: { type: 'illegal_argument_exception' } } } }],
    })
  })

  it('cuts the answer down with filter_path', async () => {
    const url = await fake()
    const answer = await post(`${url}/_bulk?filter_path=errors,items.*.status,items.*.error`, pair('create', { _index: 'a', _id: '1' }, {}) + pair('create', { _index: 'A', _id: '2' }, {}))
    expect(answer.json).toEqual({
      errors: true,
      items: [
        { create: { status: 201 } },
        { create: { status: 400, error: { type: 'invalid_index_name_exception', reason: 'Invalid index name [A], must be lowercase', index_uuid: '_na_', index: 'A' } } },
      ],
    })
  })

  it('refuses a repeated field and a line that is no object; takes gzip', async () => {
    const url = await fake()
    const body = '{"create":{"_index":"a"}}\n{"@timestamp":"x","@timestamp":"y"}\n{"create":{"_index":"a"}}\n[1]\n'
    const answer = await post(`${url}/_bulk`, gzipSync(body), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' })
    expect(answer.json).toMatchObject({
      items: [
        { create: { status: 400, error: { type: 'document_parsing_exception', reason: expect.stringMatching(/^\[1:\d+\] failed to parse: Duplicate field '@timestamp'$/) } } },
        { create: { status: 400, error: { type: 'document_parsing_exception' } } },
      ],
    })
    expect(topLevelKeys('{"a":{"a":1,"b":[{"c":"}"}]},"b\\"":2}')).toEqual(['a', 'b"'])
  })

  it('keeps data streams to create and @timestamp, and names the backing index', async () => {
    const url = await fake({ dataStreams: ['logs-app-default'] })
    const answer = await post(
      `${url}/_bulk`,
      pair('create', { _index: 'logs-app-default' }, { '@timestamp': '2024-05-06T07:08:09Z' }) +
        pair('index', { _index: 'logs-app-default' }, { '@timestamp': '2024-05-06T07:08:09Z' }) +
        pair('create', { _index: 'logs-app-default' }, { x: 1 }),
    )
    expect(answer.json).toMatchObject({
      items: [
        { create: { status: 201, _index: '.ds-logs-app-default-2024.05.06-000001' } },
        { index: { status: 400, error: { reason: 'only write ops with an op_type of create are allowed in data streams' } } },
        { create: { status: 400, error: { type: 'document_parsing_exception', reason: expect.stringMatching(/data stream timestamp field \[@timestamp\] is missing$/) } } },
      ],
    })
  })

  it('asks for credentials when it has some (401 security_exception) and takes the right ones', async () => {
    const url = await fake({ auth: { apiKey: 'a2V5' } })
    const body = pair('create', { _index: 'a' }, {})
    expect((await post(`${url}/_bulk`, body)).json).toMatchObject({ status: 401, error: { type: 'security_exception' } })
    expect((await post(`${url}/_bulk`, body, { 'content-type': 'application/x-ndjson', authorization: 'ApiKey a2V5' })).status).toBe(200)
  })

  it('answers 413 with no body past http.max_content_length', async () => {
    const url = await fake({ maxContentLength: 10 })
    expect(await post(`${url}/_bulk`, pair('create', { _index: 'a' }, {}))).toMatchObject({ status: 413, text: '' })
  })
})
