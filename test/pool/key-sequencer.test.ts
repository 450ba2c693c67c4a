import { describe, expect, it } from 'vitest'
import { KeySequencer } from '../../src/pool/key-sequencer.js'

/** Lets every pending promise callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** An acquire whose grant the test can observe. */
function track(sequencer: KeySequencer, keys: string[], signal?: AbortSignal) {
  const state = { granted: false, error: undefined as unknown, release: undefined as (() => void) | undefined }
  sequencer.acquire(keys, signal).then(
    (release) => {
      state.granted = true
      state.release = release
    },
    (error: unknown) => (state.error = error),
  )
  return state
}

describe('KeySequencer', () => {
  describe('acquire', () => {
    it('grants at once when nothing holds the keys, and forgets keys once released', async () => {
      const sequencer = new KeySequencer()
      const release = await sequencer.acquire(['a', 'b'])
      expect(sequencer.size).toBe(2)
      release()
      expect(sequencer.size).toBe(0)
      const none = await sequencer.acquire([])
      none()
      expect(sequencer.size).toBe(0)
    })

    it('a request for a held key waits until the earlier one is released; waiters go in call order', async () => {
      const sequencer = new KeySequencer()
      const first = track(sequencer, ['s'])
      const second = track(sequencer, ['s'])
      const third = track(sequencer, ['s'])
      await settle()
      expect([first.granted, second.granted, third.granted]).toEqual([true, false, false])
      first.release?.()
      await settle()
      expect([second.granted, third.granted]).toEqual([true, false])
      second.release?.()
      await settle()
      expect(third.granted).toBe(true)
      third.release?.()
      expect(sequencer.size).toBe(0)
    })

    it('requests with disjoint keys run at once', async () => {
      const sequencer = new KeySequencer()
      const a = track(sequencer, ['a'])
      const b = track(sequencer, ['b', 'c'])
      await settle()
      expect([a.granted, b.granted]).toEqual([true, true])
    })

    it('a request with several keys waits for every earlier holder of any of them', async () => {
      const sequencer = new KeySequencer()
      const a = track(sequencer, ['a'])
      const b = track(sequencer, ['b'])
      const ab = track(sequencer, ['a', 'b'])
      const c = track(sequencer, ['c'])
      await settle()
      expect([a.granted, b.granted, ab.granted, c.granted]).toEqual([true, true, false, true])
      a.release?.()
      await settle()
      expect(ab.granted).toBe(false)
      b.release?.()
      await settle()
      expect(ab.granted).toBe(true)
    })

    it('a later request does not overtake an earlier waiter on a shared key, even for keys free now', async () => {
      const sequencer = new KeySequencer()
      const x = track(sequencer, ['x'])
      const xy = track(sequencer, ['x', 'y'])
      const y = track(sequencer, ['y'])
      await settle()
      // y is free, but the earlier request for x+y waits for x: y must wait for it.
      expect([x.granted, xy.granted, y.granted]).toEqual([true, false, false])
      x.release?.()
      await settle()
      expect([xy.granted, y.granted]).toEqual([true, false])
      xy.release?.()
      await settle()
      expect(y.granted).toBe(true)
    })

    it('release is what frees the keys, whatever the work came to; a second release does nothing', async () => {
      const sequencer = new KeySequencer()
      const work = async (): Promise<void> => {
        const release = await sequencer.acquire(['k'])
        try {
          throw new Error('request failed')
        } finally {
          release()
          release()
        }
      }
      await expect(work()).rejects.toThrow('request failed')
      const next = track(sequencer, ['k'])
      const after = track(sequencer, ['k'])
      await settle()
      expect([next.granted, after.granted]).toEqual([true, false])
      next.release?.()
      next.release?.()
      await settle()
      expect(after.granted).toBe(true)
    })
  })

  describe('abort', () => {
    it('an aborted signal rejects at once, without taking a place', async () => {
      const sequencer = new KeySequencer()
      const reason = new Error('timed out')
      await expect(sequencer.acquire(['k'], AbortSignal.abort(reason))).rejects.toBe(reason)
      expect(sequencer.size).toBe(0)
    })

    it('a waiter whose signal fires rejects with its reason; those after it still wait for those before it', async () => {
      const sequencer = new KeySequencer()
      const first = track(sequencer, ['k'])
      const controller = new AbortController()
      const second = track(sequencer, ['k'], controller.signal)
      const third = track(sequencer, ['k'])
      await settle()
      const reason = new Error('attempt timed out')
      controller.abort(reason)
      await settle()
      expect(second.error).toBe(reason)
      expect(second.granted).toBe(false)
      // The first one still holds the key: the third must not start through the one that gave up.
      expect(third.granted).toBe(false)
      first.release?.()
      await settle()
      expect(third.granted).toBe(true)
      third.release?.()
      expect(sequencer.size).toBe(0)
    })

    it('a signal firing after the grant changes nothing', async () => {
      const sequencer = new KeySequencer()
      const controller = new AbortController()
      const release = await sequencer.acquire(['k'], controller.signal)
      controller.abort(new Error('late'))
      const next = track(sequencer, ['k'])
      await settle()
      expect(next.granted).toBe(false)
      release()
      await settle()
      expect(next.granted).toBe(true)
    })

    it('a long chain of waiters that gave up is passed through without growing the stack', async () => {
      const sequencer = new KeySequencer()
      const first = track(sequencer, ['k'])
      const controllers = Array.from({ length: 12_000 }, () => new AbortController())
      const given = controllers.map((c) => track(sequencer, ['k'], c.signal))
      const last = track(sequencer, ['k'])
      for (const c of controllers) c.abort(new Error('close deadline'))
      await settle()
      expect(given.every((g) => g.error !== undefined)).toBe(true)
      expect(last.granted).toBe(false)
      first.release?.()
      await settle()
      expect(last.granted).toBe(true)
    })
  })

  describe('no deadlock', () => {
    it('requests taking the same keys in opposite orders both complete', async () => {
      const sequencer = new KeySequencer()
      const xy = track(sequencer, ['x', 'y'])
      const yx = track(sequencer, ['y', 'x'])
      await settle()
      expect([xy.granted, yx.granted]).toEqual([true, false])
      xy.release?.()
      await settle()
      expect(yx.granted).toBe(true)
    })

    it('random key sets, random work times and aborts: every request ends, holders of a key never overlap, and each key goes in call order', async () => {
      const sequencer = new KeySequencer()
      // A fixed pseudo-random sequence: the same run every time.
      let seed = 42
      const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
      const holders = new Map<string, number>()
      const order = new Map<string, number[]>()
      const runs: Promise<void>[] = []
      for (let n = 0; n < 300; n++) {
        const keys = ['a', 'b', 'c', 'd', 'e'].filter(() => random() < 0.35)
        const controller = new AbortController()
        const abortAfter = random() < 0.15 ? Math.floor(random() * 5) : undefined
        const workMs = Math.floor(random() * 3)
        if (abortAfter !== undefined) setTimeout(() => controller.abort(new Error('timeout')), abortAfter)
        runs.push(
          (async () => {
            let release: () => void
            try {
              release = await sequencer.acquire(keys, controller.signal)
            } catch {
              return
            }
            try {
              for (const key of keys) {
                expect(holders.get(key) ?? 0, `key ${key} held twice`).toBe(0)
                holders.set(key, 1)
                order.set(key, [...(order.get(key) ?? []), n])
              }
              await new Promise((resolve) => setTimeout(resolve, workMs))
              for (const key of keys) holders.set(key, 0)
            } finally {
              release()
            }
          })(),
        )
      }
      await Promise.all(runs)
      for (const [key, seen] of order) expect(seen, key).toEqual([...seen].sort((a, b) => a - b))
      expect(sequencer.size).toBe(0)
    })
  })
})
