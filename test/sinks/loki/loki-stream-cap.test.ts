import { describe, expect, it } from 'vitest'
import { StreamCap, STREAM_IDLE_MS } from '../../../src/sinks/loki/loki-stream-cap.js'

describe('StreamCap', () => {
  describe('admit', () => {
    it('admits streams up to the cap, and streams it holds whenever asked', () => {
      const cap = new StreamCap(2)
      expect(cap.admit('a', 0)).toBe(true)
      expect(cap.admit('b', 0)).toBe(true)
      expect(cap.admit('c', 1)).toBe(false)
      expect(cap.admit('a', 2)).toBe(true)
      expect(cap.size).toBe(2)
    })

    it('forgets streams idle for STREAM_IDLE_MS once the cap is reached, least recently used first', () => {
      const cap = new StreamCap(2)
      cap.admit('a', 0)
      cap.admit('b', 10)
      // a used again later than b: b is now the least recently used.
      cap.admit('a', 20)
      expect(cap.admit('c', STREAM_IDLE_MS + 9)).toBe(false)
      expect(cap.admit('c', STREAM_IDLE_MS + 10)).toBe(true)
      // a was used at 20: not idle yet.
      expect(cap.admit('d', STREAM_IDLE_MS + 19)).toBe(false)
      expect(cap.admit('d', STREAM_IDLE_MS + 20)).toBe(true)
      expect(cap.admit('c', STREAM_IDLE_MS + 20)).toBe(true)
      expect(cap.size).toBe(2)
    })

    it('forgets every idle stream at once, so that several new ones fit', () => {
      const cap = new StreamCap(3, 100)
      for (const s of ['a', 'b', 'c']) cap.admit(s, 0)
      expect(cap.admit('d', 100)).toBe(true)
      expect(cap.size).toBe(1)
      expect(cap.admit('e', 100)).toBe(true)
      expect(cap.admit('f', 100)).toBe(true)
      expect(cap.admit('g', 100)).toBe(false)
    })
  })
})
