// npm run bench: every target through every scenario, each run a child process (bench/app.mjs)
// shipping to a local sink (bench/sink.mjs) in this process. Prints markdown tables of medians and
// the issues' targets, and writes bench/results/bench-<time>.json and bench/results/latest.md.
//
// Scenarios (bench/scenarios.mjs): (a) 100,000-record burst, sink answers after 50 ms; (b) 200,000-record
// burst, sink answers at once; (c) 503s / refused connections for a while; (d) a long outage; (e)
// process.exit() right after logging; (f) fan-out: pino-courier with 1, 5 and 20 http senders (only
// those rows and the raw floor). Floors (bench/targets.mjs): pino → /dev/null, pino/file → /dev/null
// (a worker that ships nothing), and issue 11's shipping floors: the raw floor (a worker that POSTs
// pino's bytes in ~1 MiB bodies, bench/raw-floor-transport.mjs) and the pino-abstract-transport floor
// (the same on its line framing, bench/pat-floor-transport.mjs). Targets are checked against
// per-repetition pairs with the floor run of the same scenario and repetition (bench/report.mjs).
//
//   npm run bench                          full run (about 20 minutes on 2 idle cores, the CLI's 1 GiB pipe included)
//   npm run bench -- --quick               smaller counts, one repetition (a smoke run, ~2.5 minutes)
//   npm run bench -- --scenarios a,b --targets courier,pino-file --reps 5
//   npm run bench -- --profile             also write .cpuprofile files (main and worker threads)
//   npm run bench -- --scenarios parse     only the record parser's cost per line (bench/parse-lines.mjs)
//   npm run bench -- --scenarios servers   only the Kafka, NATS, Redis and syslog senders against real local
//                                          servers (bench/servers.mjs; needs redis-server, nats-server, kcat, rsyslog)
//   npm run bench -- --scenarios cli       only the CLI: a 1 GiB NDJSON file piped through `pino-courier --url`
//                                          against a raw keep-alive POST loop (bench/cli.mjs; --cli-mib to resize);
//                                          part of the full run, not of --quick
//   npm run bench -- --scenarios groups    only queue groups: a noisy tenant's burst and a quiet tenant, one queue
//                                          against groupBy (bench/queue-groups.mjs)
//   npm run bench -- --scenarios adaptive  only adaptive concurrency: a sink taking 4 requests at a time (429 beyond),
//                                          fixed 4 and 16 against 'adaptive' (bench/adaptive.mjs)
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { aggregate, checkTargets, scenarioTable, targetsTable } from './report.mjs'
import { runOne } from './run-one.mjs'
import { scenarios } from './scenarios.mjs'
import { runServerBench, SERVER_TARGETS } from './servers.mjs'
import { runCliBench } from './cli.mjs'
import { runQueueGroupsBench } from './queue-groups.mjs'
import { runAdaptiveBench } from './adaptive.mjs'
import { TARGETS } from './targets.mjs'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    'slow-reps': { type: 'string' },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    'outage-seconds': { type: 'string', default: '60' },
    profile: { type: 'boolean', default: false },
    'cli-mib': { type: 'string', default: '1024' },
  },
})

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const reps = Number(args.reps ?? (args.quick ? 1 : 5))
// The fault scenarios take seconds each by design; one repetition of them by default.
const slowReps = Number(args['slow-reps'] ?? 1)
const onlyScenarios = args.scenarios?.split(',')
const onlyTargets = args.targets?.split(',')
const all = scenarios({ quick: args.quick, outageSeconds: Number(args['outage-seconds']) }).filter(
  (s) => !onlyScenarios || onlyScenarios.includes(s.id) || onlyScenarios.includes(s.id.split('-')[0]),
)
const targets = TARGETS.filter((t) => !onlyTargets || onlyTargets.includes(t.name))
const profileDir = args.profile ? `${resultsDir}profiles` : undefined
if (profileDir) await mkdir(profileDir, { recursive: true })

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.availableParallelism(),
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
}
console.log(`pino-courier bench: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}`)
console.log(`${reps} repetition(s) of a, b, e, f; ${slowReps} of c, d${args.quick ? '; quick sizes' : ''}\n`)

const applies = (scenario, target) =>
  (!scenario.sinkOnly || target.sink) &&
  (!scenario.targets || scenario.targets.includes(target.name)) &&
  (!target.scenarios || target.scenarios.includes(scenario.id))
const runs = []
const started = Date.now()

async function measure(scenario, target, rep) {
  const result = await runOne(scenario, target, { profileDir })
  runs.push({ ...result, rep })
  const received = result.received === undefined ? '' : ` received ${result.received}/${result.expected}`
  console.log(
    `  ${scenario.id.padEnd(8)} ${target.name.padEnd(18)} rep ${rep + 1}: log calls ${result.syncMs.toFixed(0)} ms,${received} exit ${result.killed ? 'killed' : `${(result.exitBlockMs ?? 0).toFixed(0)} ms`}`,
  )
}

// Repetitions go round all targets, so that a noisy moment of the machine hits one rep of each
// rather than every rep of one target.
for (let rep = 0; rep < reps; rep++) {
  for (const scenario of all.filter((s) => !s.slow)) {
    for (const target of targets.filter((t) => applies(scenario, t))) await measure(scenario, target, rep)
  }
}
for (let rep = 0; rep < slowReps; rep++) {
  for (const scenario of all.filter((s) => s.slow)) {
    const eligible = targets.filter((t) => applies(scenario, t))
    if (scenario.concurrent) await Promise.all(eligible.map((target) => measure(scenario, target, rep)))
    else for (const target of eligible) await measure(scenario, target, rep)
  }
}

const rows = aggregate(runs)
const sections = []
for (const scenario of all) {
  const scenarioRows = targets
    .map((t) => rows.find((r) => r.scenario === scenario.id && r.target === t.name))
    .filter(Boolean)
  if (scenarioRows.length === 0) continue
  sections.push(`### ${scenario.title}\n\n${scenarioTable(scenario, scenarioRows, targets)}`)
}
// The record parser's cost per line (the worker's hot path), best of 5 rounds in a child process of
// its own: the check that a line is exactly one JSON object (issue 10) next to the prefix-only check
// it replaced and to JSON.parse.
if (!onlyScenarios || onlyScenarios.includes('parse')) {
  const perCase = args.quick ? '0.2' : '1'
  const parsing = execFileSync(process.execPath, [fileURLToPath(new URL('./parse-lines.mjs', import.meta.url)), perCase, '--markdown'], {
    encoding: 'utf8',
  })
  sections.push(`### Record parsing, per line (the worker's hot path)\n\n${parsing.trim()}`)
}
// Issue 13's senders against real local servers (redis-server, nats-server, the Kafka mock, rsyslogd).
let serverRuns = []
const serverTargets = onlyTargets?.filter((name) => SERVER_TARGETS.some((t) => t.name === name))
if (onlyScenarios ? onlyScenarios.includes('servers') : !onlyTargets || serverTargets.length > 0) {
  const only = serverTargets?.length ? serverTargets : undefined
  const servers = await runServerBench({ quick: args.quick, reps: args.quick ? 1 : Math.min(reps, 3), only })
  serverRuns = servers.runs
  sections.push(`### Distributed engines and syslog: real local servers\n\n${servers.markdown}`)
}
// Issue 14's CLI: a large file through a real pipe, against the raw POST loop. Minutes of I/O, so only in
// the full run (CI's quick run skips it) or when asked for.
let cliRuns = []
if (onlyScenarios ? onlyScenarios.includes('cli') : !args.quick && !onlyTargets) {
  const cli = await runCliBench({ sizeBytes: Number(args['cli-mib']) * 1024 * 1024, reps: Math.min(reps, 3) })
  cliRuns = cli.runs
  sections.push(`### CLI: an NDJSON file piped through \`pino-courier --url\`\n\n${cli.markdown}`)
}
// Issue 15's queue groups: whether a quiet tenant's records survive a noisy tenant's burst.
let groupRuns = []
if (onlyScenarios ? onlyScenarios.includes('groups') : !onlyTargets) {
  const groups = await runQueueGroupsBench({ reps: args.quick ? 1 : Math.min(reps, 3) })
  groupRuns = groups.runs
  sections.push(`### Queue groups: a noisy tenant and a quiet one\n\n${groups.markdown}`)
}
// Issue 15's adaptive concurrency: the 429 share and the time against hand-tuned fixed concurrencies.
let adaptiveRuns = []
if (onlyScenarios ? onlyScenarios.includes('adaptive') : !onlyTargets) {
  const adaptive = await runAdaptiveBench({ count: args.quick ? 20_000 : 100_000, reps: args.quick ? 1 : Math.min(reps, 3) })
  adaptiveRuns = adaptive.runs
  sections.push(`### Adaptive concurrency against a sink that takes 4 requests at a time\n\n${adaptive.markdown}`)
}
const checks = checkTargets(rows)
const minutes = ((Date.now() - started) / 60_000).toFixed(1)
const markdown = [
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}. ` +
    `Medians of ${reps} repetition(s) (${slowReps} for c and d)${args.quick ? ', quick sizes' : ''}; the run took ${minutes} min.`,
  ...sections,
  checks.length ? `### Targets (pino-courier with default options)\n\n${targetsTable(checks)}` : '',
]
  .filter(Boolean)
  .join('\n\n')

console.log(`\n${markdown}\n`)
await mkdir(resultsDir, { recursive: true })
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
await writeFile(`${resultsDir}bench-${stamp}.json`, JSON.stringify({ machine, args, runs, rows, checks, serverRuns, cliRuns, groupRuns, adaptiveRuns }, null, 2))
await writeFile(`${resultsDir}latest.md`, `${markdown}\n`)
console.log(`results: bench/results/bench-${stamp}.json, bench/results/latest.md`)
