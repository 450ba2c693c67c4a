// The CLI bench (issue 14): a pre-generated NDJSON file (1 GiB in the full run) piped through
// `pino-courier --url` to the bench's local sink, against the floor of a raw keep-alive POST loop
// (bench/raw-post-loop.mjs) sending bodies of the CLI's batch size to the same sink. Both run as child processes fed
// by a real pipe from `cat`; bytes/s is the file's size over the wall time from spawn to exit, and
// peak RSS is the child's own (GNU time's %M). The sink counts distinct record ids, so a row whose
// records did not all arrive says so.
//
// Targets: the CLI reaches >= 0.8x the floor's bytes/s with a peak RSS <= 100 MB.
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { now } from './clock.mjs'
import { BenchSink } from './sink.mjs'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const CLI_OPTIONS = new URL('../dist/cli/cli-options.js', import.meta.url)
const RAW_LOOP = fileURLToPath(new URL('./raw-post-loop.mjs', import.meta.url))
const TIME = '/usr/bin/time'
const MIB = 1024 * 1024
export const CLI_BYTES_TARGET = 0.8
export const CLI_RSS_TARGET_MB = 100

/** A pino-like request log line, about 250 bytes, carrying the id the sink counts. */
function line(id) {
  return (
    `{"level":${id % 97 === 0 ? 40 : 30},"time":${1764300000000 + id},"pid":4242,"hostname":"bench-host","benchId":${id},` +
    `"req":{"id":${id},"method":"GET","url":"/api/items/${id % 5000}","remoteAddress":"10.0.0.${id % 250}"},` +
    `"res":{"statusCode":200},"responseTime":${id % 300},"msg":"request completed"}\n`
  )
}

/** Writes (once; kept in the temp dir across runs) a file of at least `size` bytes; returns its path and line count. */
async function ensureFile(size) {
  const path = join(tmpdir(), `pino-courier-bench-cli-${size}.ndjson`)
  const countPath = `${path}.count`
  if (existsSync(path) && existsSync(countPath)) {
    const { readFileSync } = await import('node:fs')
    return { path, lines: Number(readFileSync(countPath, 'utf8')), bytes: statSync(path).size }
  }
  const out = createWriteStream(path)
  let written = 0
  let id = 0
  while (written < size) {
    let chunk = ''
    while (chunk.length < MIB) chunk += line(id++)
    written += Buffer.byteLength(chunk)
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve))
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())))
  const { writeFileSync } = await import('node:fs')
  writeFileSync(countPath, String(id))
  return { path, lines: id, bytes: statSync(path).size }
}

/** Runs `args` under GNU time with stdin piped from `cat file`; resolves with wall time, peak RSS and exit code. */
function runPiped(file, args) {
  return new Promise((resolve, reject) => {
    const cat = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] })
    const started = now()
    const child = spawn(TIME, ['-f', 'maxrss_kb=%M', process.execPath, ...args], {
      stdio: [cat.stdout, 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text) => {
      stderr = (stderr + text).slice(-16_384)
    })
    // The child has its own copy of the pipe's read end: the bench's must not keep `cat` waiting.
    cat.stdout.destroy()
    child.on('error', reject)
    child.on('close', (code) => {
      cat.kill()
      const wallMs = now() - started
      const rss = /maxrss_kb=(\d+)/.exec(stderr)
      resolve({ code, wallMs, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined, stderr })
    })
  })
}

/** The CLI's own batch size: the floor sends bodies of the same size ("the same bodies"). */
async function cliBodyBytes() {
  const { CLI_BATCH_DEFAULTS } = await import(CLI_OPTIONS.href)
  return CLI_BATCH_DEFAULTS.maxBytes
}

async function measure(kind, file, bodyBytes) {
  const sink = new BenchSink({ expected: file.lines, latencyMs: 0 })
  await sink.start()
  const url = `${sink.url}/ingest`
  const args = kind === 'raw-post-loop' ? [RAW_LOOP, '-', url, String(bodyBytes)] : [CLI, '--url', url, '--quiet']
  const result = await runPiped(file.path, args)
  // Answers already on the wire when the child exited.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const tally = sink.tally()
  await sink.close()
  return {
    kind,
    code: result.code,
    wallMs: result.wallMs,
    bytesPerSec: file.bytes / (result.wallMs / 1000),
    peakRssMb: result.peakRssMb,
    received: tally.received,
    expected: file.lines,
    requests: tally.requests,
    stderr: result.code === 0 ? '' : result.stderr.slice(-2000),
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Runs the CLI bench: `reps` alternating runs of the floor and the CLI over one file.
 * @param {{ sizeBytes?: number, reps?: number, log?: (line: string) => void }} [options]
 */
export async function runCliBench(options = {}) {
  const size = options.sizeBytes ?? 1024 * MIB
  const reps = options.reps ?? 3
  const log = options.log ?? console.log
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js is missing: run npm run build')
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install -y time`)
  const file = await ensureFile(size)
  const bodyBytes = await cliBodyBytes()
  log(`  cli: ${(file.bytes / MIB).toFixed(0)} MiB, ${file.lines} lines (${file.path}); bodies of ${bodyBytes / 1024} KiB`)
  const runs = []
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of ['raw-post-loop', 'pino-courier']) {
      const run = await measure(kind, file, bodyBytes)
      runs.push({ ...run, rep })
      log(
        `  cli      ${kind.padEnd(18)} rep ${rep + 1}: ${(run.bytesPerSec / MIB).toFixed(1)} MiB/s, peak RSS ${run.peakRssMb?.toFixed(0)} MB, ` +
          `received ${run.received}/${run.expected}, exit ${run.code}${run.stderr ? `\n${run.stderr}` : ''}`,
      )
    }
  }
  const rows = ['raw-post-loop', 'pino-courier'].map((kind) => {
    const mine = runs.filter((r) => r.kind === kind)
    return {
      kind,
      bytesPerSec: median(mine.map((r) => r.bytesPerSec)),
      peakRssMb: median(mine.map((r) => r.peakRssMb ?? NaN)),
      worstReceived: Math.min(...mine.map((r) => r.received / r.expected)),
      exitCodes: [...new Set(mine.map((r) => r.code))].join(','),
    }
  })
  // Paired by repetition, like the other targets: each CLI run against the floor run just before it.
  const ratios = []
  for (let rep = 0; rep < reps; rep++) {
    const floor = runs.find((r) => r.rep === rep && r.kind === 'raw-post-loop')
    const cli = runs.find((r) => r.rep === rep && r.kind === 'pino-courier')
    if (floor && cli) ratios.push(cli.bytesPerSec / floor.bytesPerSec)
  }
  const ratio = median(ratios)
  const cliRow = rows[1]
  const table = [
    '| program | MiB/s | × floor | peak RSS | received | exit |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.kind === 'raw-post-loop' ? 'raw keep-alive POST loop (floor)' : '`pino-courier --url`'} | ${(r.bytesPerSec / MIB).toFixed(1)} | ` +
        `${r.kind === 'raw-post-loop' ? '1.00×' : `${ratio.toFixed(2)}×`} | ${r.peakRssMb.toFixed(0)} MB | ${(r.worstReceived * 100).toFixed(1)}% | ${r.exitCodes} |`,
    ),
  ].join('\n')
  const targets = [
    `- bytes/s ≥ ${CLI_BYTES_TARGET}× the floor: ${ratio.toFixed(2)}× (${ratio >= CLI_BYTES_TARGET ? 'met' : 'MISSED'})`,
    `- peak RSS ≤ ${CLI_RSS_TARGET_MB} MB: ${cliRow.peakRssMb.toFixed(0)} MB (${cliRow.peakRssMb <= CLI_RSS_TARGET_MB ? 'met' : 'MISSED'})`,
    `- every record received: ${cliRow.worstReceived === 1 ? 'yes' : 'NO'}`,
  ].join('\n')
  const markdown =
    `${(file.bytes / MIB).toFixed(0)} MiB of NDJSON (${file.lines} lines) piped from \`cat\` to each program, ` +
    `shipping to the same local sink in bodies of ${bodyBytes / 1024} KiB; medians of ${reps} repetition(s).\n\n${table}\n\n${targets}`
  return { runs, rows, ratio, markdown }
}

// Run alone: node bench/cli.mjs [sizeMiB] [reps]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [sizeMiB, reps] = process.argv.slice(2).map(Number)
  const result = await runCliBench({ sizeBytes: (sizeMiB || 1024) * MIB, reps: reps || 3 })
  console.log(`\n${result.markdown}`)
}
