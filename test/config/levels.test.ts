import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { DEFAULT_LEVELS, LevelMap } from '../../src/config/levels.js'

describe('DEFAULT_LEVELS', () => {
  it("are pino's levels, frozen", () => {
    expect(DEFAULT_LEVELS).toEqual({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 })
    expect(Object.isFrozen(DEFAULT_LEVELS)).toBe(true)
  })
})

describe('LevelMap', () => {
  it('maps names to numbers and back', () => {
    const levels = new LevelMap()
    expect(levels.valueOf('warn')).toBe(40)
    expect(levels.valueOf('verbose')).toBeUndefined()
  })

  it('knows custom levels', () => {
    const levels = new LevelMap({ ...DEFAULT_LEVELS, audit: 35 })
    expect(levels.valueOf('audit')).toBe(35)
    expect(levels.valueOf('info')).toBe(30)
  })

  describe('resolve', () => {
    const levels = new LevelMap({ ...DEFAULT_LEVELS, audit: 35 })

    it('returns numbers as they are and names as their number', () => {
      expect(levels.resolve(42, 'level')).toBe(42)
      expect(levels.resolve(-5, 'level')).toBe(-5)
      expect(levels.resolve('audit', 'level')).toBe(35)
      expect(levels.resolve('error', 'level')).toBe(50)
    })

    it("treats 'silent' as above every level", () => {
      expect(levels.resolve('silent', 'level')).toBe(Number.POSITIVE_INFINITY)
    })

    it('throws a ConfigError naming the path and the known levels for an unknown name', () => {
      let caught: unknown
      try {
        levels.resolve('verbose', 'senders[1].batch.flushLevel')
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(ConfigError)
      const error = caught as ConfigError
      expect(error.message).toBe(
        'pino-courier: invalid options: senders[1].batch.flushLevel: unknown level "verbose" (known: trace, debug, info, warn, error, fatal, audit)',
      )
      expect(error.paths).toEqual(['senders[1].batch.flushLevel'])
    })
  })
})
