import { describe, expect, it } from 'vitest'
import { LineSplitter } from '../../src/cli/line-splitter.js'

/** Every line the splitter hands out for `chunks`, the end-of-input one included. */
function split(chunks: readonly Buffer[], maxLineBytes = 1 << 20): string[] {
  const splitter = new LineSplitter(maxLineBytes)
  const lines: string[] = []
  for (const chunk of chunks) {
    splitter.push(chunk)
    while (splitter.next()) lines.push(splitter.text())
  }
  if (splitter.finish()) lines.push(splitter.text())
  return lines
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Buffer, at: readonly number[]): Buffer[] {
  const chunks: Buffer[] = []
  let start = 0
  for (const end of [...at, bytes.length]) {
    chunks.push(bytes.subarray(start, end))
    start = end
  }
  return chunks
}

describe('LineSplitter', () => {
  const text = 'first\r\nsecond ✓ 日本\n\nthird\rstill third\nlast without newline'
  const expected = ['first', 'second ✓ 日本', '', 'third\rstill third', 'last without newline']

  it('splits on newlines, cuts a CR before them, keeps a last line without newline', () => {
    expect(split([Buffer.from(text)])).toEqual(expected)
  })

  it('gives the same lines however the input is cut, inside multi-byte characters too', () => {
    const bytes = Buffer.from(text)
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        expect(split(cut(bytes, [a, b]))).toEqual(expected)
      }
    }
    // One byte at a time.
    expect(split(cut(bytes, Array.from({ length: bytes.length }, (_, i) => i)))).toEqual(expected)
  })

  it('hands out nothing for a chunk without newline until the line ends', () => {
    const splitter = new LineSplitter(1000)
    splitter.push(Buffer.from('{"a":'))
    expect(splitter.next()).toBe(false)
    splitter.push(Buffer.from('1}\n{"b"'))
    expect(splitter.next()).toBe(true)
    expect(splitter.text()).toBe('{"a":1}')
    expect(splitter.next()).toBe(false)
    expect(splitter.finish()).toBe(true)
    expect(splitter.text()).toBe('{"b"')
    expect(splitter.finish()).toBe(false)
  })

  it('keeps a line growing past maxLineBytes only up to about there (still too big: dropped downstream)', () => {
    const long = Buffer.alloc(10_000, 'x')
    const lines = split([Buffer.from('a\n'), ...cut(long, [100, 200, 5000]), Buffer.from('\nb\n')], 150)
    expect(lines).toHaveLength(3)
    expect(lines[0]).toBe('a')
    // Over the limit, so it cannot be taken for a line that fits; not the whole 10,000 bytes.
    expect(lines[1]?.length).toBeGreaterThan(150)
    expect(lines[1]?.length).toBeLessThanOrEqual(200)
    expect(lines[2]).toBe('b')
  })

  it('hands out ranges of the chunk itself, not copies', () => {
    const splitter = new LineSplitter(1000)
    const chunk = Buffer.from('one\ntwo\r\nthr')
    splitter.push(chunk)
    expect(splitter.next()).toBe(true)
    expect([splitter.bytes === chunk, splitter.start, splitter.end]).toEqual([true, 0, 3])
    expect(splitter.next()).toBe(true)
    expect([splitter.bytes === chunk, splitter.start, splitter.end]).toEqual([true, 4, 7])
  })

  it('also bounds a last line that never ends', () => {
    const lines = split(cut(Buffer.alloc(50_000, 'y'), [1000, 2000, 30_000]), 1500)
    expect(lines).toHaveLength(1)
    expect(lines[0]?.length).toBeGreaterThan(1500)
    expect(lines[0]?.length).toBeLessThanOrEqual(2000)
  })

  it('says which lines are not valid UTF-8 (those take the string path), across chunks and at the end', () => {
    const splitter = new LineSplitter(1000)
    const seen: [string, boolean][] = []
    const take = (): void => {
      while (splitter.next()) seen.push([splitter.text(), splitter.utf8])
    }
    // 日 is e6 97 a5: cut between chunks it is whole; \xff and a lone \xe6 are not UTF-8.
    splitter.push(Buffer.from('ok\nbad\xff\nstill ok \xe6\x97', 'latin1'))
    take()
    splitter.push(Buffer.from('\xa5\nfine\ncut \xe6', 'latin1'))
    take()
    if (splitter.finish()) seen.push([splitter.text(), splitter.utf8])
    expect(seen).toEqual([
      ['ok', true],
      ['bad\ufffd', false],
      ['still ok 日', true],
      ['fine', true],
      ['cut \ufffd', false],
    ])
  })
})
