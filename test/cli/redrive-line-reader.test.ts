/**
 * redrive's LineReader on real files: every line's bytes are exactly where it says (so the remainder
 * copies kept lines byte for byte), whatever the lines hold, and a long line is read in time linear
 * in its size.
 */
import { writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LineReader, type FileLine } from '../../src/cli/redrive/line-reader.js'
import { useCleanups } from '../helpers/cleanups.js'

const cleanups = useCleanups()

afterEach(() => {
  vi.restoreAllMocks()
})

async function readAll(content: Buffer): Promise<{ lines: FileLine[]; last: FileLine | undefined; content: Buffer }> {
  const dir = await cleanups.tempDir()
  const path = join(dir, 'dead.ndjson')
  writeFileSync(path, content)
  const file = await open(path, 'r')
  cleanups.defer(() => file.close())
  const reader = new LineReader(file)
  const lines: FileLine[] = []
  for (let line = await reader.next(); line; line = await reader.next()) lines.push(line)
  return { lines, last: reader.takeUnterminated(), content }
}

describe('LineReader', () => {
  it('gives each line the exact byte range it has in the file: CRLF, blank, invalid UTF-8, long, unterminated', async () => {
    const long = Buffer.concat([Buffer.from('{"x":"'), Buffer.alloc(300 * 1024, 0x61), Buffer.from('"}')])
    const parts = [Buffer.from('{"a":1}\r\n'), Buffer.from('\n'), Buffer.from('  \r\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), long, Buffer.from('\n'), Buffer.from('{"end":1}')]
    const { lines, last, content } = await readAll(Buffer.concat(parts))
    const all = last ? [...lines, last] : lines
    expect(all.map((l) => content.subarray(l.start, l.end))).toEqual([...parts.slice(0, 4), Buffer.concat([long, Buffer.from('\n')]), parts[6]])
    // Ranges tile the file: no byte lost or counted twice.
    for (let i = 1; i < all.length; i++) expect(all[i]?.start).toBe(all[i - 1]?.end)
    expect(all[all.length - 1]?.end).toBe(content.length)
    expect(lines[0]?.text).toBe('{"a":1}\r')
    expect(lines[4]?.text.length).toBe(long.length)
  })

  it('joins the reads of a long line once, not once per read (that was quadratic: minutes for 100 MB)', async () => {
    const size = 16 * 1024 * 1024
    const content = Buffer.alloc(size + 1, 0x61)
    content[size] = 0x0a
    const concat = vi.spyOn(Buffer, 'concat')
    const { lines } = await readAll(content)
    expect(lines).toHaveLength(1)
    expect(lines[0]?.end).toBe(size + 1)
    // 64 reads of 256 KiB: joined one by one they were copied 64 times over.
    expect(concat.mock.calls.length).toBeLessThanOrEqual(2)
  })
})
