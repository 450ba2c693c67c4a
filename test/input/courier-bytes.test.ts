/**
 * Lines given as bytes (Courier.writeBytes, the CLI's path) become exactly the records the same lines
 * given as strings do: same text, level, malformed verdict, and the same wrapping of a bad line.
 */
import { describe, expect, it } from 'vitest'
import { LevelMap } from '../../src/config/levels.js'
import { RecordParser } from '../../src/input/record-parser.js'
import { RecordLog } from '../../src/queue/record-log.js'
import { assembleCourier, senderContext } from '../../src/input/assemble.js'
import { createBuiltinSender } from '../../src/sinks/registry.js'
import type { MemorySender } from '../../src/sinks/memory/memory-sender.js'

const LINES = [
  '{"level":30,"msg":"hello"}',
  '{"level":50,"time":1,"msg":"boom","err":{"type":"Error","stack":"a\\nb"}}',
  '{"level":30,"msg":"crlf"}\r',
  '\ufeff{"level":40,"msg":"bom"}',
  '{"level":30,"msg":"ünïcødé ✓ 😀"}',
  '{"level":"warn","msg":"label level"}',
  '{"msg":"no level first","level":20}',
  '{"level":30}',
  '{"level":30',
  '{"level":30,"msg":"torn',
  '{"level":30,"a":1}{"level":30,"b":2}',
  '{"level":30,"a":1} trailing',
  '{"level":3.5,"msg":"fraction"}',
  `{"level":${'9'.repeat(40)},"msg":"huge"}`,
  'plain text, not JSON',
  '[1,2,3]',
  '{"level":1e2,"msg":"exponent"}',
  '{"level":30,"bad":"\u0001"}',
  '{"level":30,"x":"' + 'y'.repeat(3 * 1024 * 1024) + '"}',
]

function parsed(levelKey?: string) {
  const parser = new RecordParser({ levels: new LevelMap(), ...(levelKey ? { levelKey } : {}) })
  const fromText = new RecordLog()
  const fromBytes = new RecordLog()
  return { parser, fromText, fromBytes }
}

describe('lines given as bytes', () => {
  it('give the same records as the same lines given as strings', () => {
    const { parser, fromText, fromBytes } = parsed()
    for (const line of LINES) {
      const a = parser.parseInto(line, fromText, 1000)
      // Inside a larger chunk, as the CLI sees it: bytes before and after the line.
      const chunk = Buffer.concat([Buffer.from('{"level":99}\nxx'), Buffer.from(line), Buffer.from('\n{"level":')])
      const start = Buffer.byteLength('{"level":99}\nxx')
      const b = parser.parseBytesInto(chunk, start, start + Buffer.byteLength(line), fromBytes, 1000)
      expect({ level: fromBytes.level(b), malformed: fromBytes.malformed(b) }).toEqual({
        level: fromText.level(a),
        malformed: fromText.malformed(a),
      })
      if (!fromText.malformed(a)) expect(fromBytes.line(b)).toBe(fromText.line(a))
      else expect(JSON.parse(fromBytes.line(b))).toMatchObject({ malformed: true, msg: JSON.parse(fromText.line(a)).msg })
    }
  })

  it('read a custom level key', () => {
    const { parser, fromText, fromBytes } = parsed('severity')
    for (const line of ['{"severity":50,"msg":"x"}', '{"level":50,"msg":"x"}']) {
      const a = parser.parseInto(line, fromText, 1)
      const b = parser.parseBytesInto(Buffer.from(line), 0, Buffer.byteLength(line), fromBytes, 1)
      expect(fromBytes.level(b)).toBe(fromText.level(a))
    }
  })

  it('reach the senders through Courier.writeBytes, counted like written lines', async () => {
    const logger = { levels: new LevelMap() }
    const context = senderContext({ stderr: false }, logger)
    const memory = createBuiltinSender({ type: 'memory', name: 'm', capacity: 1000, batch: { maxRecords: 10, maxWaitMs: 5 } }, context) as MemorySender
    const courier = assembleCourier([memory], { stderr: false }, logger, context, () => undefined)
    const input = Buffer.from(LINES.slice(0, 8).join('\n') + '\nnot json\n\n')
    let start = 0
    for (let nl = input.indexOf(10); nl >= 0; nl = input.indexOf(10, start)) {
      courier.writeBytes(input, start, nl)
      start = nl + 1
    }
    await courier.flush()
    expect(courier.stats()).toMatchObject({ lines: 9, malformed: 1 })
    expect(memory.lines()).toHaveLength(9)
    expect(memory.values()[2]).toEqual({ level: 30, msg: 'crlf' })
    expect(memory.values()[4]).toEqual({ level: 30, msg: 'ünïcødé ✓ 😀' })
    expect(memory.values()[8]).toMatchObject({ msg: 'not json', malformed: true })
    await courier.close()
  })
})
