// Micro-benchmark of the record parser's per-line cost (issue 10, item 5): how much checking that a
// line is exactly one JSON object costs next to the old prefix-only fast path and next to JSON.parse.
// Lines are written by a real pino logger (~200 B and ~1 KB, nested objects, escapes, unicode).
//
//   npm run build && node bench/parse-lines.mjs [seconds per case, default 1] [--markdown]
//
// Prints lines/s per case (best of 5 rounds); with --markdown, one table (what `npm run bench` puts in
// its report, running this file in a child process after the scenarios).
import pino from 'pino'
import { LogRecord, RecordParser } from '../dist/index.js'
// The validator alone; the package exports it only through RecordParser.
import { isJsonObjectText } from '../dist/input/record.js'

const seconds = Number(process.argv[2] ?? 1)
const markdown = process.argv.includes('--markdown')

/** Lines as pino writes them, without the newline. */
function pinoLines(log) {
  const lines = []
  const logger = pino({ base: { pid: 4242, hostname: 'app-7f9c6d5b8-x2k4q' } }, { write: (s) => lines.push(s.slice(0, -1)) })
  log(logger)
  return lines
}

const small = pinoLines((logger) => {
  for (let i = 0; i < 1000; i++) {
    logger.info({ req: { id: `r-${i}`, method: 'GET', url: `/api/orders/${i}?page=2` }, userId: i }, 'order "placed" – é')
  }
})

const large = pinoLines((logger) => {
  const err = new TypeError('amount is undefined: "total" → NaN ☃')
  err.stack = `${err.name}: ${err.message}\n${Array.from({ length: 8 }, (_, k) => `    at fn${k} (/srv/app/src/module-${k}.js:${10 + k}:5)`).join('\n')}`
  for (let i = 0; i < 1000; i++) {
    logger.error(
      {
        err,
        req: { id: `r-${i}`, method: 'POST', url: '/api/checkout', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)', accept: 'application/json' } },
        cart: { items: [{ sku: 'A-1', qty: 2, price: 19.99 }, { sku: 'B-22', qty: 1, price: 5.5e2 }], currency: 'EUR', note: '日本語 😀 tab\there' },
        ok: false,
        retry: null,
      },
      'checkout failed for user 42',
    )
  }
})

/** The record parser's fast path before issue 10: the level from the prefix, the rest unchecked. */
function oldFastLevel(line) {
  const prefix = '{"level":'
  if (!line.startsWith(prefix) || line.charCodeAt(line.length - 1) !== 125) return undefined
  let i = prefix.length
  let c = line.charCodeAt(i)
  if (c >= 48 && c <= 57) {
    let n = 0
    while (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48)
      c = line.charCodeAt(++i)
    }
    return (c === 44 || c === 125) && Number.isSafeInteger(n) ? n : undefined
  }
  return undefined
}

const parser = new RecordParser()
let sink = 0
const cases = {
  'old fast path (prefix only) + LogRecord': (line) => {
    sink += new LogRecord(line, oldFastLevel(line)).level
  },
  'new fast path (prefix + validator) = RecordParser#parse': (line) => {
    sink += parser.parse(line).level
  },
  'JSON.parse + LogRecord': (line) => {
    const value = JSON.parse(line)
    sink += new LogRecord(line, value.level, false, value).level
  },
  'check only: old prefix': (line) => {
    sink += oldFastLevel(line)
  },
  'check only: isJsonObjectText': (line) => {
    sink += isJsonObjectText(line) ? 1 : 0
  },
  'check only: JSON.parse': (line) => {
    sink += JSON.parse(line).level
  },
}

function measure(fn, lines) {
  let best = 0
  for (let round = 0; round < 5; round++) {
    let count = 0
    const start = process.hrtime.bigint()
    const until = start + BigInt(Math.round((seconds / 5) * 1e9))
    let now = start
    while (now < until) {
      for (let k = 0; k < lines.length; k++) fn(lines[k])
      count += lines.length
      now = process.hrtime.bigint()
    }
    best = Math.max(best, count / (Number(now - start) / 1e9))
  }
  return best
}

const sizes = [
  ['~200 B', small],
  ['~1 KB', large],
]
const table = new Map(Object.keys(cases).map((name) => [name, []]))
const headers = []
for (const [label, lines] of sizes) {
  const bytes = Math.round(lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / lines.length)
  headers.push(`${label} (${bytes} B): lines/s, ns/line`)
  if (!markdown) console.log(`\n${label} lines (average ${bytes} bytes), lines/s, best of 5:`)
  for (const [name, fn] of Object.entries(cases)) {
    for (let k = 0; k < 20; k++) for (const line of lines) fn(line) // warm up
    const rate = measure(fn, lines)
    const perLine = (1e9 / rate) | 0
    table.get(name).push(`${Math.round(rate).toLocaleString('en-US')}, ${perLine}`)
    if (!markdown) {
      console.log(`  ${name.padEnd(58)} ${Math.round(rate).toLocaleString('en-US').padStart(12)}  (${perLine} ns/line, ${((rate * bytes) / 1e6).toFixed(0)} MB/s)`)
    }
  }
}
if (markdown) {
  console.log(`| case | ${headers.join(' | ')} |`)
  console.log(`| --- | ${headers.map(() => '---:').join(' | ')} |`)
  for (const [name, cells] of table) console.log(`| ${name} | ${cells.join(' | ')} |`)
}
if (sink === 0.5) console.log(sink) // keeps the work observable
