/**
 * handleSignals()'s options, targets and listener bookkeeping, in this process. No real signal is
 * sent here (test/integration/signals.test.ts does that in child processes): the app-listener path
 * is driven with process.emit, and process.exit is stubbed so that a wrong turn fails the test
 * instead of ending the runner.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCourierStream } from '../../src/input/stream.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { createMemorySender } from '../../src/sinks/memory/memory-sender.js'
import { createCourierTransport } from '../../src/input/courier-transport.js'
import { DEFAULT_SIGNAL_TIMEOUT_MS, DEFAULT_SIGNALS, handleSignals } from '../../src/input/signals.js'
import { writeStderr } from '../../src/stderr.js'
import { configErrorOf } from '../helpers/config-error.js'

// What the helper would write to stderr, kept here to be looked at.
vi.mock('../../src/stderr.js', () => ({ writeStderr: vi.fn() }))

/** A destination with flush and close that records its calls. */
function fakeStream() {
  return {
    write: vi.fn(() => true),
    flush: vi.fn((cb?: (err?: Error | null) => void) => cb?.(null)),
    close: vi.fn(() => Promise.resolve()),
  }
}

const counts = (): { SIGTERM: number; SIGINT: number; SIGHUP: number } => ({
  SIGTERM: process.listenerCount('SIGTERM'),
  SIGINT: process.listenerCount('SIGINT'),
  SIGHUP: process.listenerCount('SIGHUP'),
})

const uninstalls: (() => void)[] = []
/** handleSignals, uninstalled after the test. */
function install(...args: Parameters<typeof handleSignals>): () => void {
  const uninstall = handleSignals(...args)
  uninstalls.push(uninstall)
  return uninstall
}

let exit: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
})
afterEach(() => {
  for (const uninstall of uninstalls.splice(0)) uninstall()
  vi.restoreAllMocks()
  vi.mocked(writeStderr).mockClear()
})

describe('handleSignals options', () => {
  it('defaults to SIGTERM and SIGINT, 9 s', () => {
    expect(DEFAULT_SIGNALS).toEqual(['SIGTERM', 'SIGINT'])
    expect(DEFAULT_SIGNAL_TIMEOUT_MS).toBe(9000)
  })

  it.each([
    { options: { signals: ['SIGKILL'] }, path: 'signals[0]', message: 'not a signal this process can handle: "SIGKILL"' },
    { options: { signals: ['SIGTERM', 'SIGTREM'] }, path: 'signals[1]', message: 'not a signal this process can handle: "SIGTREM"' },
    { options: { signals: ['SIGSEGV'] }, path: 'signals[0]', message: 'not a signal this process can handle' },
    { options: { signals: [] }, path: 'signals', message: 'at least one signal is needed' },
    { options: { signals: 'SIGTERM' }, path: 'signals', message: 'expected array' },
    { options: { timeoutMs: 0 }, path: 'timeoutMs', message: 'timeoutMs: ' },
    { options: { timeoutMs: 1.5 }, path: 'timeoutMs', message: 'timeoutMs: ' },
    { options: { timeoutMs: 2 ** 31 }, path: 'timeoutMs', message: 'timeoutMs: ' },
    { options: { timeout: 1000 }, path: 'timeout', message: 'timeout: unknown option' },
  ])('refuses $options with a ConfigError naming $path, and installs nothing', ({ options, path, message }) => {
    const before = counts()
    const error = configErrorOf(() => install(fakeStream(), options as never))
    expect(error.paths).toEqual([path])
    expect(error.message).toContain(`pino-courier: invalid options: ${path}`)
    expect(error.message).toContain(message)
    expect(counts()).toEqual(before)
  })

  it('accepts other catchable signals', () => {
    const before = counts()
    install(fakeStream(), { signals: ['SIGHUP'], timeoutMs: 1 })
    expect(counts()).toEqual({ ...before, SIGHUP: before.SIGHUP + 1 })
  })
})

describe('handleSignals targets', () => {
  it('refuses what it cannot flush and close, before installing anything', () => {
    const before = counts()
    expect(() => install({} as never)).toThrow(TypeError)
    expect(() => install({ flush: () => undefined })).toThrow(/expected a pino logger, a pino.transport\(\) stream, or an object with flush\(\) and close\(\)/)
    const plain = pino(new Writable({ write: (_chunk, _enc, cb) => cb() }))
    expect(() => install(plain)).toThrow(/the logger's destination is neither/)
    expect(counts()).toEqual(before)
  })

  it.each([
    { what: 'the stream itself', target: (s: ReturnType<typeof fakeStream>) => s },
    { what: 'a logger over it', target: (s: ReturnType<typeof fakeStream>) => pino({}, s as never) },
    { what: 'a child logger (the destination is inherited)', target: (s: ReturnType<typeof fakeStream>) => pino({}, s as never).child({ a: 1 }) },
  ])('finds the destination through $what: with an app listener it only flushes it', async ({ target }) => {
    const stream = fakeStream()
    install(target(stream))
    const appListener = vi.fn()
    process.on('SIGTERM', appListener)
    try {
      process.emit('SIGTERM', 'SIGTERM')
      await vi.waitFor(() => expect(stream.flush).toHaveBeenCalledTimes(1))
    } finally {
      process.removeListener('SIGTERM', appListener)
    }
    expect(appListener).toHaveBeenCalledTimes(1)
    expect(stream.close).not.toHaveBeenCalled()
    expect(exit).not.toHaveBeenCalled()
  })

  it('with an app listener, a flush that fails goes to stderr and nothing throws', async () => {
    const stream = { ...fakeStream(), flush: vi.fn(() => Promise.reject(new Error('sink on fire'))) }
    install(stream)
    const appListener = vi.fn()
    process.on('SIGINT', appListener)
    try {
      expect(() => process.emit('SIGINT', 'SIGINT')).not.toThrow()
      await vi.waitFor(() => expect(writeStderr).toHaveBeenCalledWith('pino-courier: flush on SIGINT failed: sink on fire'))
    } finally {
      process.removeListener('SIGINT', appListener)
    }
    expect(exit).not.toHaveBeenCalled()
  })
})

describe('handleSignals listeners', () => {
  it('installs one listener per signal, shared by every call, and the uninstall functions are idempotent', () => {
    const before = counts()
    const first = install(fakeStream())
    const second = install(fakeStream(), { signals: ['SIGTERM', 'SIGHUP'] })
    expect(counts()).toEqual({ SIGTERM: before.SIGTERM + 1, SIGINT: before.SIGINT + 1, SIGHUP: before.SIGHUP + 1 })

    first()
    first()
    // SIGINT was only the first one's; SIGTERM is still wanted by the second.
    expect(counts()).toEqual({ SIGTERM: before.SIGTERM + 1, SIGINT: before.SIGINT, SIGHUP: before.SIGHUP + 1 })
    second()
    second()
    expect(counts()).toEqual(before)
  })

  it('removes its listeners when the stream closes', async () => {
    const before = counts()
    const stream = createCourierStream({ senders: [createMemorySender()], stderr: false })
    install(stream)
    expect(counts().SIGTERM).toBe(before.SIGTERM + 1)
    await stream.close()
    expect(counts()).toEqual(before)
  })
})

describe('createCourierTransport options', () => {
  const senders = [{ type: 'http' as const, url: 'http://127.0.0.1:9/logs' }]

  it.each([
    { handleSignals: { signals: ['SIGTERM', 'SIGFOO'] }, path: 'handleSignals.signals[1]' },
    { handleSignals: { timeoutMs: -1 }, path: 'handleSignals.timeoutMs' },
    { handleSignals: { exitCode: 1 }, path: 'handleSignals.exitCode' },
    { handleSignals: 'yes', path: 'handleSignals' },
  ])('refuses handleSignals $handleSignals, naming $path, before starting a worker', ({ handleSignals: option, path }) => {
    const before = counts()
    const error = configErrorOf(() => createCourierTransport({ senders, handleSignals: option as never }))
    expect(error.paths).toEqual([path])
    expect(error.message).toContain(`pino-courier: invalid options: ${path}`)
    expect(counts()).toEqual(before)
  })

  it('validates the transport options in the calling thread', () => {
    const error = configErrorOf(() => createCourierTransport({ senders: [{ type: 'http', url: 'nope' }], handleSignals: true }))
    expect(error.paths).toEqual(['senders[0].url'])
  })
})

describe('parseTransportOptions', () => {
  it('refuses handleSignals (a worker gets no signals), saying where it belongs', () => {
    const error = configErrorOf(() => parseTransportOptions({ senders: [{ type: 'file', path: '/tmp/a' }], handleSignals: true }))
    expect(error.paths).toEqual(['handleSignals'])
    expect(error.message).toContain('use createCourierTransport() or handleSignals() in the main thread')
  })
})
