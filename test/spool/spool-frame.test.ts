import { crc32 as zlibCrc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  crc32Table,
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  readFrameInfo,
} from '../../src/spool/spool-frame.js'

const content = {
  id: '2f1c0a4e-9a53-4a43-b8a8-3c7c1d0c7f11',
  levels: [30, 50, 35.5],
  lines: ['{"level":30,"msg":"a"}', '{"level":50,"msg":"ünïcödé ✓ 😀"}', '{"level":35.5,"msg":"custom"}'],
}

describe('encodeFrame / decodeFrame', () => {
  it('round-trips the id, the levels and the lines, multi-byte characters included', () => {
    const frame = encodeFrame(content)
    expect(decodeFrame(frame)).toEqual(content)
  })

  it('reads the frame info without the lines: size, id, count and the bytes the queue counts', () => {
    const frame = encodeFrame(content)
    const info = readFrameInfo(Buffer.concat([Buffer.from('xx'), frame]), 2)
    const bytes = content.lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
    expect(info).toEqual({ offset: 2, size: frame.length, id: content.id, count: 3, bytes })
  })

  it('round-trips the positions of a part of a batch (its records keep their identities)', () => {
    const part = { ...content, id: `${content.id}~2`, positions: [1, 7, 4000000000] }
    const frame = encodeFrame(part)
    expect(decodeFrame(frame)).toEqual(part)
    const bytes = content.lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
    expect(readFrameInfo(frame, 0)).toEqual({ offset: 0, size: frame.length, id: part.id, count: 3, bytes })
    // The flag lives in the id length byte: ids stay below 128 bytes.
    expect(() => encodeFrame({ ...content, id: 'x'.repeat(128) })).toThrow(RangeError)
  })

  it('keeps an empty line and an empty batch', () => {
    const odd = { id: '', levels: [30], lines: [''] }
    expect(decodeFrame(encodeFrame(odd))).toEqual(odd)
    const none = { id: 'x', levels: [], lines: [] }
    expect(decodeFrame(encodeFrame(none))).toEqual(none)
  })

  it('rejects a torn frame: any prefix of a frame is not a frame', () => {
    const frame = encodeFrame(content)
    for (const cut of [0, 3, FRAME_HEADER_BYTES - 1, FRAME_HEADER_BYTES, frame.length - 1]) {
      expect(readFrameInfo(frame.subarray(0, cut), 0)).toBeUndefined()
    }
    expect(() => decodeFrame(frame.subarray(0, frame.length - 1))).toThrow(/corrupt/)
  })

  it('rejects a frame with any single flipped byte', () => {
    const frame = encodeFrame(content)
    for (let i = 0; i < frame.length; i++) {
      const bad = Buffer.from(frame)
      bad[i] = (bad[i] as number) ^ 0x40
      expect(readFrameInfo(bad, 0), `byte ${i}`).toBeUndefined()
    }
  })

  it('rejects a length field that points past the end or claims gigabytes', () => {
    const frame = Buffer.from(encodeFrame(content))
    frame.writeUInt32LE(0xffffffff, 4)
    expect(readFrameInfo(frame, 0)).toBeUndefined()
  })
})

describe('crc32', () => {
  it('the table fallback (Node < 20.15) agrees with zlib', () => {
    for (const text of ['', 'a', '123456789', 'pino-courier ✓'.repeat(100)]) {
      const data = Buffer.from(text)
      expect(crc32Table(data)).toBe(zlibCrc32(data))
    }
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926)
  })
})
