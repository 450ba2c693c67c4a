/**
 * Levels that used to stop routing silently (issue 10, item 8): defaults naming a level the logger
 * lacks (`useOnlyCustomLevels`), level labels in another case, and a level under another key
 * (`formatters.level` writing `severity`). Real pino loggers write into an in-process stream here;
 * test/integration/level-key.test.ts runs the same through a pino.transport() worker.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { createCourierStream } from '../../src/input/stream.js'
import { DEFAULT_LEVELS, LevelMap } from '../../src/config/levels.js'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import { RecordParser } from '../../src/input/record.js'
import { createMemorySender } from '../../src/sinks/memory/memory-sender.js'
import { createWebhookAlertSender } from '../../src/sinks/webhook/webhook-alert-sender.js'
import { useCleanups } from '../helpers/cleanups.js'

const { defer } = useCleanups()

/** A logger's levels under `useOnlyCustomLevels` without `error` or `fatal`. */
const ONLY_CUSTOM = { low: 10, mid: 30, high: 55 }

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

describe('LevelMap.valueOf: labels in another case', () => {
  it('matches a label whatever its case', () => {
    const levels = new LevelMap()
    expect(levels.valueOf('ERROR')).toBe(50)
    expect(levels.valueOf('Warn')).toBe(40)
    expect(levels.valueOf('fAtAl')).toBe(60)
    expect(levels.valueOf('VERBOSE')).toBeUndefined()
  })

  it('prefers an exact match, and leaves labels differing only in case to exact matches when their numbers differ', () => {
    const levels = new LevelMap({ ...DEFAULT_LEVELS, INFO: 35 })
    expect(levels.valueOf('info')).toBe(30)
    expect(levels.valueOf('INFO')).toBe(35)
    expect(levels.valueOf('Info')).toBeUndefined() // ambiguous: neither is guessed
    expect(levels.valueOf('ERROR')).toBe(50)
    // Same number under two spellings is not ambiguous.
    expect(new LevelMap({ audit: 35, AUDIT: 35 }).valueOf('Audit')).toBe(35)
  })

  it('keeps option names exact: a level the user writes must be one of the logger\'s', () => {
    expect(thrown(() => new LevelMap().resolve('ERROR', 'level'))).toBeInstanceOf(ConfigError)
  })
})

describe('LevelMap.resolveDefault', () => {
  it("falls back to pino's number for a default name the logger lacks, and uses the logger's own when it has one", () => {
    expect(new LevelMap(ONLY_CUSTOM).resolveDefault('error')).toBe(50)
    expect(new LevelMap(ONLY_CUSTOM).resolveDefault('fatal')).toBe(60)
    expect(new LevelMap({ info: 300, error: 500 }).resolveDefault('error')).toBe(500)
    expect(new LevelMap().resolveDefault('silent')).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('defaults that name a level the logger lacks (useOnlyCustomLevels)', () => {
  const levels = new LevelMap(ONLY_CUSTOM)

  it("starts a queued sender whose default batch.flushLevel 'error' the logger lacks; pino's 50 flushes", async () => {
    const memory = createMemorySender({ batch: { maxWaitMs: 3_600_000 } }, { levels })
    defer(() => memory.close())
    const parser = new RecordParser({ levels })
    memory.send(parser.parse('{"level":30,"msg":"waits for its batch"}'))
    memory.send(parser.parse('{"level":55,"msg":"high"}'))
    // No flush() call: only the flush level can have sent the batch.
    await expect.poll(() => memory.records().length, { timeout: 5000 }).toBe(2)
  })

  it('still refuses a flushLevel the user wrote that the logger lacks, naming its path, on the sender or as a default', () => {
    const own = thrown(() => createMemorySender({ batch: { flushLevel: 'error' } }, { levels }))
    expect(own).toBeInstanceOf(ConfigError)
    expect((own as ConfigError).message).toMatch(/invalid options: batch\.flushLevel: unknown level "error" \(known: low, mid, high\)/)
    const layered = thrown(() => createMemorySender({}, { levels, defaults: [{ batch: { flushLevel: 'error' } }] }))
    expect(layered).toBeInstanceOf(ConfigError)
    expect((layered as ConfigError).paths).toEqual(['batch.flushLevel'])
    const level = thrown(() => createMemorySender({ level: 'warn' }, { levels }))
    expect((level as ConfigError).paths).toEqual(['level'])
  })

  it("starts a webhook alert sender with its default level 'error' and flushLevel 'fatal' (pino's 50 and 60)", async () => {
    const webhook = createWebhookAlertSender({ url: 'http://127.0.0.1:9/hook' }, { levels })
    defer(() => webhook.close({ timeoutMs: 100 }))
    expect(webhook.level).toBe(50)
    const custom = createWebhookAlertSender({ url: 'http://127.0.0.1:9/hook', level: 'high', flushLevel: 'high' }, { levels })
    defer(() => custom.close({ timeoutMs: 100 }))
    expect(custom.level).toBe(55)
    const wrong = thrown(() => createWebhookAlertSender({ url: 'http://127.0.0.1:9/hook', flushLevel: 'fatal' }, { levels }))
    expect((wrong as ConfigError).paths).toEqual(['flushLevel'])
    const wrongLevel = thrown(() => createWebhookAlertSender({ url: 'http://127.0.0.1:9/hook', level: 'error' }, { levels }))
    expect((wrongLevel as ConfigError).paths).toEqual(['level'])
  })
})

describe('levelKey: a level written under another key', () => {
  it('is a transport option, validated as a non-empty string', () => {
    const senders = [{ type: 'http' as const, url: 'http://127.0.0.1:9/' }]
    expect(parseTransportOptions({ senders, levelKey: 'severity' }).levelKey).toBe('severity')
    expect(thrown(() => parseTransportOptions({ senders, levelKey: '' }))).toBeInstanceOf(ConfigError)
    expect((thrown(() => parseTransportOptions({ senders, levelKey: 5 })) as ConfigError).paths).toEqual(['levelKey'])
  })

  it('reads upper-case labels under the key on the fast path', () => {
    const parser = new RecordParser({ levelKey: 'severity' })
    expect(parser.parse('{"severity":"ERROR","time":1,"msg":"x"}')).toMatchObject({ level: 50, malformed: false })
    expect(parser.parse('{"severity":"WARN","time":1,"msg":"x"}').level).toBe(40)
  })

  it("routes an in-process stream by the Google Cloud convention: formatters.level writing { severity: 'ERROR' }", async () => {
    const warnings = createMemorySender({ level: 'warn', name: 'warnings' })
    const stream = createCourierStream({ senders: [warnings], levelKey: 'severity', stderr: false })
    defer(() => stream.close())
    const logger = pino(
      { level: 'debug', formatters: { level: (label) => ({ severity: label.toUpperCase() }) } },
      stream,
    )
    logger.debug({ i: 0 }, 'debug')
    logger.info({ i: 1 }, 'info')
    logger.warn({ i: 2 }, 'warn')
    logger.error({ i: 3 }, 'error')
    await stream.flush()

    expect(warnings.values().map((v) => [v.i, v.severity])).toEqual([
      [2, 'WARN'],
      [3, 'ERROR'],
    ])
    expect(warnings.values().every((v) => !('level' in v))).toBe(true) // forwarded as written
  })

  it('wraps malformed lines with the level under levelKey', async () => {
    const memory = createMemorySender({ name: 'all' })
    const stream = createCourierStream({ senders: [memory], levelKey: 'severity', stderr: false })
    defer(() => stream.close())
    stream.write('not json\n')
    await stream.flush()
    expect(memory.values()).toEqual([expect.objectContaining({ severity: 30, msg: 'not json', malformed: true })])
  })
})
