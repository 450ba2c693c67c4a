/**
 * Reading Loki's 400 bodies, with Loki's own strings (pkg/ingester/stream.go errorForFailedEntries,
 * pkg/distributor validation errors grouped by pkg/util/errors GroupedErrors).
 */
import { describe, expect, it } from 'vitest'
import { describeRefusal, readRefusal } from '../../../src/sinks/loki/loki-answer.js'
import { prometheusText } from '../../../src/sinks/loki/loki-labels.js'

const noStreams = (): Map<string, number> => new Map()

describe('readRefusal', () => {
  it("reads Loki 3's ingester answer: the count, and the reasons listed", () => {
    const body =
      "entry with timestamp 2023-11-14 22:13:20.001 +0000 UTC ignored, reason: 'entry out of order',\n" +
      "entry with timestamp 2023-11-14 22:13:20.002 +0000 UTC ignored, reason: 'entry out of order',\n" +
      `user 'fake', total ignored: 2 out of 5 for stream: {app="api", level="info"}`
    const refusal = readRefusal(body, noStreams)
    expect(refusal?.count).toBe(2)
    expect([...(refusal?.reasons.keys() ?? [])]).toEqual(['entry out of order'])
    expect(describeRefusal(refusal!, (t) => t)).toMatch(/^Loki refused 2 entries: entry out of order x2 \("entry with timestamp 2023-11-14 22:13:20.001 \+0000 UTC ignored/)
  })

  it("reads Loki 2's wording, and more refused than listed (Loki lists at most 10)", () => {
    const listed = Array.from(
      { length: 10 },
      (_, k) =>
        `entry with timestamp 2023-11-14 22:13:${10 + k} +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2023-11-14T22:13:${10 + k}Z, oldest acceptable timestamp is: 2023-11-14T23:00:00Z' for stream: {app="api"},\n`,
    ).join('')
    const refusal = readRefusal(`${listed}total ignored: 25 out of 30`, noStreams)
    expect(refusal?.count).toBe(25)
    expect(refusal?.reasons.get('entry too far behind')?.count).toBe(25)
  })

  it("reads the distributor's grouped validation errors, one entry each", () => {
    const body =
      `2 errors like: Max entry size '256' bytes exceeded for stream '{app="api"}' while adding an entry with length '300' bytes; ` +
      `1 errors like: entry for stream '{app="api"}' has timestamp too old: 2023-01-01T00:00:00Z, oldest acceptable timestamp is: 2023-11-07T00:00:00Z`
    const refusal = readRefusal(body, noStreams)
    expect(refusal?.count).toBe(3)
    expect(Object.fromEntries([...(refusal?.reasons ?? [])].map(([k, v]) => [k, v.count]))).toEqual({ 'line too long': 2, 'timestamp too old': 1 })
  })

  it('reads a single validation error (no "errors like" prefix)', () => {
    const refusal = readRefusal(
      `Max entry size '262144' bytes exceeded for stream '{app="api"}' while adding an entry with length '300000' bytes`,
      noStreams,
    )
    expect(refusal?.count).toBe(1)
    expect(refusal?.reasons.has('line too long')).toBe(true)
  })

  it('counts a stream-level refusal by the entries of the stream it names', () => {
    const name = prometheusText([
      ['user', 'b "quoted"'],
      ['app', 'api'],
    ])
    expect(name).toBe('{app="api", user="b \\"quoted\\""}')
    const streams = (): Map<string, number> => new Map([[name, 7]])
    const refusal = readRefusal(`stream '${name}' has label value too long: 'b "quoted"'`, streams)
    expect(refusal?.count).toBe(7)
    expect(refusal?.reasons.has('label value too long')).toBe(true)
    // A stream the request does not have: the count is unknown.
    expect(readRefusal(`stream '{app="other"}' has label value too long: 'x'`, streams)).toBeUndefined()
  })

  it('says nothing (undefined) for a body without a count it can read', () => {
    for (const body of [
      '',
      "couldn't parse push request: invalid character 'x' looking for beginning of value",
      'error at least one label pair is required per stream',
      '2 errors like: something new Loki might say',
      `1 errors like: Max entry size '256' bytes exceeded for stream '{a="b"}' while adding an entry with length '300' bytes; 1 errors like: a message not known`,
    ]) {
      expect(readRefusal(body, noStreams), body).toBeUndefined()
    }
  })
})
