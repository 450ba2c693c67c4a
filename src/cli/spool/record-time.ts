/** `"time":` as pino writes it (first key after the level, or anywhere in the line). */
const TIME_NUMBER = /"time":\s*(\d{9,16})[,}]/
const TIME_STRING = /"time":\s*"([^"]{4,40})"/

/** Below this an epoch number is seconds (pino.stdTimeFunctions.unixTime): 1e11 s is the year 5138, 1e11 ms 1973. */
const SECONDS_BELOW = 1e11
/** From this an epoch number is microseconds: 1e14 ms is the year 5138. */
const MICROSECONDS_FROM = 1e14

function epochMs(n: number): number {
  if (n < SECONDS_BELOW) return n * 1000
  return n >= MICROSECONDS_FROM ? Math.floor(n / 1000) : n
}

/**
 * When a spooled record was logged, from its `time` field: pino's epoch milliseconds (the default),
 * epoch seconds (`pino.stdTimeFunctions.unixTime`) or microseconds, or a date string
 * (`pino.stdTimeFunctions.isoTime`). Undefined when it has none that reads as a time. A regular expression rather than JSON.parse: a spool can hold a gigabyte of lines.
 */
export function recordTime(line: string): number | undefined {
  const number = TIME_NUMBER.exec(line)
  if (number) return epochMs(Number(number[1]))
  const text = TIME_STRING.exec(line)
  if (!text) return undefined
  const parsed = Date.parse(text[1] as string)
  return Number.isNaN(parsed) ? undefined : parsed
}
