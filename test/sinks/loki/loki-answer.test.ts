/**
 * Reading Loki's 400 bodies, with Loki's own strings (pkg/ingester/stream.go errorForFailedEntries,
 * pkg/distributor validation errors grouped by pkg/util/errors GroupedErrors, pkg/validation's
 * messages as 2.x-3.5 and 3.6+ write them, dskit's tenant errors), and Loki's names of streams.
 */
import { describe, expect, it } from 'vitest'
import { describeRefusal, readRefusal, tookNothing, type StreamSizes } from '../../../src/sinks/loki/loki-answer.js'
import { goQuote, namesStream, parseStreamName, prometheusText } from '../../../src/sinks/loki/loki-stream-names.js'
import { quoteGo } from './fake-loki.js'

const noStreams: StreamSizes = () => undefined

describe('readRefusal', () => {
  it("reads Loki 3's ingester answer: the count, and the reasons listed", () => {
    const body =
      "entry with timestamp 2023-11-14 22:13:20.001 +0000 UTC ignored, reason: 'entry out of order',\n" +
      "entry with timestamp 2023-11-14 22:13:20.002 +0000 UTC ignored, reason: 'entry out of order',\n" +
      `user 'fake', total ignored: 2 out of 5 for stream: {app="api", level="info", service_name="api"}`
    const refusal = readRefusal(body, noStreams)
    expect(refusal.count).toBe(2)
    expect(refusal.atLeast).toBe(false)
    expect([...refusal.reasons.keys()]).toEqual(['entry out of order'])
    expect(describeRefusal(refusal, (t) => t)).toMatch(/^Loki refused 2 entries: entry out of order x2 \("entry with timestamp 2023-11-14 22:13:20.001 \+0000 UTC ignored/)
  })

  it("reads Loki 2's wording, and more refused than listed (Loki lists at most 10)", () => {
    const listed = Array.from(
      { length: 10 },
      (_, k) =>
        `entry with timestamp 2023-11-14 22:13:${10 + k} +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2023-11-14T22:13:${10 + k}Z, oldest acceptable timestamp is: 2023-11-14T23:00:00Z' for stream: {app="api"},\n`,
    ).join('')
    const refusal = readRefusal(`${listed}total ignored: 25 out of 30`, noStreams)
    expect(refusal.count).toBe(25)
    expect(refusal.reasons.get('entry too far behind')?.count).toBe(25)
  })

  it("reads the distributor's grouped validation errors, one entry each, in 2.x-3.5 and 3.6+ case", () => {
    for (const max of ['Max', 'max']) {
      const body =
        `2 errors like: ${max} entry size '256' bytes exceeded for stream '{app="api"}' while adding an entry with length '300' bytes; ` +
        `1 errors like: entry for stream '{app="api"}' has timestamp too old: 2023-01-01T00:00:00Z, oldest acceptable timestamp is: 2023-11-07T00:00:00Z`
      const refusal = readRefusal(body, noStreams)
      expect(refusal.count, max).toBe(3)
      expect(refusal.atLeast).toBe(false)
      expect(Object.fromEntries([...refusal.reasons].map(([k, v]) => [k, v.count]))).toEqual({ 'line too long': 2, 'timestamp too old': 1 })
    }
  })

  it('reads a single validation error (no "errors like" prefix), either case', () => {
    for (const max of ['Max', 'max']) {
      const refusal = readRefusal(
        `${max} entry size '262144' bytes exceeded for stream '{app="api"}' while adding an entry with length '300000' bytes`,
        noStreams,
      )
      expect(refusal.count).toBe(1)
      expect(refusal.reasons.has('line too long')).toBe(true)
      expect(describeRefusal(refusal, (t) => t)).toMatch(/^Loki refused 1 entry: line too long \(/)
    }
  })

  it('counts a stream-level refusal by the entries of the stream it names, Loki 3 names (service_name) included', () => {
    const ours = { app: 'api', user: 'b "quoted"' }
    const streams: StreamSizes = (name) => {
      const theirs = parseStreamName(name)
      return theirs !== undefined && namesStream(ours, theirs) ? 7 : undefined
    }
    const name = prometheusText(Object.entries(ours))
    expect(name).toBe('{app="api", user="b \\"quoted\\""}')
    let refusal = readRefusal(`stream '${name}' has label value too long: 'b "quoted"'`, streams)
    expect(refusal.count).toBe(7)
    expect(refusal.reasons.has('label value too long')).toBe(true)
    // Loki 3 names the stream with the service_name it added, in 3.6+ case.
    const named = '{app="api", service_name="api", user="b \\"quoted\\""}'
    refusal = readRefusal(`error parsing labels '${named}' with error: something`, streams)
    expect(refusal).toMatchObject({ count: 7, atLeast: false })
    expect(refusal.reasons.has('invalid labels')).toBe(true)
    // Enforced labels, 3.5 and 3.7 wording.
    for (const body of [
      `missing required labels team for user fake for stream ${named}`,
      `missing required labels 'team,env' for user 'fake' for stream '${named}' (policy: '')`,
    ]) {
      refusal = readRefusal(body, streams)
      expect(refusal, body).toMatchObject({ count: 7, atLeast: false })
      expect(refusal.reasons.has('missing required labels')).toBe(true)
    }
    // A stream the request does not have: one entry at least.
    refusal = readRefusal(`stream '{app="other"}' has label value too long: 'x'`, streams)
    expect(refusal).toMatchObject({ count: 1, atLeast: true })
  })

  it('counts a message it does not know as one entry refused per error, at least', () => {
    let refusal = readRefusal('something new Loki might say', noStreams)
    expect(refusal).toMatchObject({ count: 1, atLeast: true })
    expect(describeRefusal(refusal, (t) => t)).toBe('Loki refused at least 1 entry: refused ("something new Loki might say")')
    refusal = readRefusal(
      `1 errors like: max entry size '256' bytes exceeded for stream '{a="b"}' while adding an entry with length '300' bytes; 3 errors like: a message not known`,
      noStreams,
    )
    expect(refusal).toMatchObject({ count: 4, atLeast: true })
    expect(refusal.reasons.get('refused')?.count).toBe(3)
  })
})

describe('tookNothing', () => {
  it("knows the 400s Loki gives before it has read the request: tenant, decoding, decompressing, labels (3.x)", () => {
    for (const body of [
      '',
      '<html><body><h1>400 Bad Request</h1></body></html>',
      'no org id',
      "tenant ID 'a|b' contains unsupported character '|'",
      'tenant ID is too long: max 150 characters',
      "tenant ID is '.' or '..'",
      'multiple org IDs present',
      `loghttp.PushRequest.Streams: []loghttp.Stream: ReadString: expects " or n, but found 1, error found in #10 byte of ...|[[1,"x"]]}]|..., bigger context ...|{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}|...`,
      'gzip: invalid header',
      'unexpected EOF',
      'Content-Encoding "br" not supported',
      "couldn't parse labels: 1:2: parse error: unexpected character inside braces: '-'",
      "couldn't parse push request: invalid character 'x' looking for beginning of value",
      'snappy: corrupt input',
    ]) {
      expect(tookNothing(`${body}\n`), body).toBe(true)
    }
  })

  it("does not take Loki's answers after reading the request for those", () => {
    for (const body of [
      `max entry size '256' bytes exceeded for stream '{a="b"}' while adding an entry with length '300' bytes`,
      `user 'fake', total ignored: 2 out of 5 for stream: {a="b"}`,
      'error at least one label pair is required per stream',
      'something new Loki might say',
    ]) {
      expect(tookNothing(body), body).toBe(false)
    }
  })
})

describe('stream names', () => {
  const values = ['plain', 'é and 日本', 'quote " back \\ slash', 'tab\tnew\nline\x00\x7f', '\u0085 \u00a0 \u00ad \u2028 \ufeff \ue000', '😀 \u{1f3fb}', 'lone \ud800 surrogate']

  it('writes values as Go quotes them (the fake has its own Go quoting)', () => {
    for (const value of values) expect(goQuote(value), JSON.stringify(value)).toBe(quoteGo(value))
    expect(goQuote('\u00a0\u2028')).toBe('"\\u00a0\\u2028"')
    expect(goQuote('\x01')).toBe('"\\x01"')
  })

  it('reads back every name it writes, and Go escapes it does not write', () => {
    for (const value of values) {
      const theirs = parseStreamName(prometheusText([['app', 'api'], ['v', value]]))
      expect(theirs, JSON.stringify(value)).toBeDefined()
      expect(namesStream({ app: 'api', v: value }, theirs!)).toBe('exact')
    }
    expect(parseStreamName('{a="\\x41\\101\\u00e9\\U0001F600", "b.c"="d"}')).toEqual(
      new Map([
        ['a', 'AAé😀'],
        ['b.c', 'd'],
      ]),
    )
    expect(parseStreamName('{}')).toEqual(new Map())
    for (const bad of ['', 'app="api"', '{app="api"', '{app=api}', '{app="a\\q"}', '{app="api"} x', '{9a="x"}']) {
      expect(parseStreamName(bad), bad).toBeUndefined()
    }
  })

  it("compares label sets, leaving out the labels Loki adds that we did not send", () => {
    const ours = { app: 'api', level: 'info' }
    const read = (name: string): Map<string, string> => parseStreamName(name)!
    expect(namesStream(ours, read('{app="api", level="info"}'))).toBe('exact')
    expect(namesStream(ours, read('{app="api", level="info", service_name="api"}'))).toBe('added')
    expect(namesStream(ours, read('{__stream_shard__="1", app="api", level="info", service_name="api"}'))).toBe('added')
    expect(namesStream(ours, read('{app="api", level="warn", service_name="api"}'))).toBe(false)
    expect(namesStream(ours, read('{app="api", level="info", team="x"}'))).toBe(false)
    expect(namesStream(ours, read('{app="api"}'))).toBe(false)
    // Our own service_name must match as sent.
    expect(namesStream({ ...ours, service_name: 'x' }, read('{app="api", level="info", service_name="api"}'))).toBe(false)
  })
})
