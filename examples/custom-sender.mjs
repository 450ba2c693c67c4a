// A custom sender module (./my-sender.mjs) running inside the transport's worker thread.
//
//   npm run build && node examples/custom-sender.mjs
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

const dir = await mkdtemp(join(tmpdir(), 'pino-courier-custom-'))
const csv = join(dir, 'app.csv')

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [
      {
        type: 'module',
        // The worker imports the module itself: give an absolute path (or a package name).
        module: fileURLToPath(new URL('./my-sender.mjs', import.meta.url)),
        export: 'createSender', // the default
        name: 'csv',
        level: 'info',
        options: { path: csv, batch: { maxRecords: 50 } }, // plain data only: it crosses a thread boundary
      },
    ],
  },
})
transport.on('courier:close', (report) => {
  const s = report.stats.senders[0]
  console.log(`courier:close -> ${s.name}: received ${s.received}, delivered ${s.delivered} in ${s.attempts} batches, undelivered ${report.undelivered}`)
})
const logger = pino({ level: 'debug' }, transport)

logger.debug('not written: below the sender level')
for (let i = 1; i <= 120; i++) logger.info(`request ${i} served`)
logger.warn('she said "hi"')
logger.error('out of coffee')

await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref() // pino unrefs its worker: keep the process alive until 'close'
transport.end()
await closed

const rows = (await readFile(csv, 'utf8')).trim().split('\n')
console.log(`${csv}: ${rows.length} rows`)
for (const row of rows.slice(-3)) console.log(`  ${row}`)
await rm(dir, { recursive: true, force: true })
if (rows.length !== 122) process.exitCode = 1
