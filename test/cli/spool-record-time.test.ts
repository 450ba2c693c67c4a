/** The spool listing's record times, from the `time` field pino writes with each of its time functions. */
import { describe, expect, it } from 'vitest'
import { recordTime } from '../../src/cli/spool/record-time.js'

describe('recordTime', () => {
  const at = Date.UTC(2026, 10, 28, 4, 57, 5, 303)
  it('reads epoch milliseconds, epoch seconds (unixTime), microseconds and ISO strings as the same instant', () => {
    expect(recordTime(`{"level":30,"time":${at},"msg":"x"}`)).toBe(at)
    expect(recordTime(`{"level":30,"time":${Math.round(at / 1000)},"msg":"x"}`)).toBe(Math.round(at / 1000) * 1000)
    expect(recordTime(`{"level":30,"time":${at * 1000 + 123},"msg":"x"}`)).toBe(at)
    expect(recordTime(`{"level":30,"time":"${new Date(at).toISOString()}","msg":"x"}`)).toBe(at)
    expect(recordTime('{"level":30,"msg":"x"}')).toBeUndefined()
  })
})
