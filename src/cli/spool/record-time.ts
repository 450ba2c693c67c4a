/** `"time":` as pino writes it (first key after the level, or anywhere in the line). */
const TIME_NUMBER = /"time":\s*(\d{9,16})[,}]/
const TIME_STRING = /"time":\s*"([^"]{4,40})"/

/**
 * When a spooled record was logged, from its `time` field: pino's epoch milliseconds (the default),
 * or a date string (`pino.stdTimeFunctions.isoTime`). Undefined when it has none that reads as a
 * time. A regular expression rather than JSON.parse: a spool can hold a gigabyte of lines.
 */
export function recordTime(line: string): number | undefined {
  const number = TIME_NUMBER.exec(line)
  if (number) return Number(number[1])
  const text = TIME_STRING.exec(line)
  if (!text) return undefined
  const parsed = Date.parse(text[1] as string)
  return Number.isNaN(parsed) ? undefined : parsed
}
