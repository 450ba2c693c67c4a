/** OverloadPause: the pause of a sender after a 429 without Retry-After, and its count in the stats. */
import { describe, expect, it } from 'vitest'
import { OverloadPause } from '../../src/pool/overload-pause.js'

describe('OverloadPause', () => {
  it('with retry.maxDelayMs 0 never pauses, and counts no pause', () => {
    const pause = new OverloadPause(0)
    expect(pause.refused(0, 5, 20)).toBe(0)
    expect(pause.refused(10, 15, 20)).toBe(0)
    expect(pause.pauses).toBe(0)
  })

  it('counts each pause it starts, not the refusals the current one already answers', () => {
    const pause = new OverloadPause(1000)
    expect(pause.refused(0, 5, 20)).toBe(20)
    expect(pause.refused(1, 6, 20)).toBe(0)
    expect(pause.refused(10, 30, 20)).toBe(40)
    expect(pause.pauses).toBe(2)
  })
})
