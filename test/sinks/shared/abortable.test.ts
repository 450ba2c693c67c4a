import { describe, expect, it } from 'vitest'
import { abortable } from '../../../src/sinks/shared/abortable.js'

describe('abortable', () => {
  it('settles as the promise does while the signal has not aborted', async () => {
    await expect(abortable(Promise.resolve(1), new AbortController().signal)).resolves.toBe(1)
    await expect(abortable(Promise.reject(new Error('no')), new AbortController().signal)).rejects.toThrow('no')
  })

  it('rejects with the reason as soon as the signal aborts, runs onAbort once, and handles the late failure', async () => {
    const controller = new AbortController()
    let fail!: (error: Error) => void
    const pending = new Promise<number>((_resolve, reject) => (fail = reject))
    let aborted = 0
    const raced = abortable(pending, controller.signal, () => aborted++)
    controller.abort(new Error('deadline'))
    await expect(raced).rejects.toThrow('deadline')
    expect(aborted).toBe(1)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    fail(new Error('late'))
    await new Promise((resolve) => setTimeout(resolve, 10))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
  })

  it('rejects at once for a signal aborted already', async () => {
    let aborted = 0
    await expect(abortable(new Promise(() => undefined), AbortSignal.abort(new Error('gone')), () => aborted++)).rejects.toThrow('gone')
    expect(aborted).toBe(1)
  })
})
