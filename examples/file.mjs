// File sender: append NDJSON to a file (parent directories are created).
//
//   npm run build && node examples/file.mjs
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'

const dir = await mkdtemp(join(tmpdir(), 'pino-courier-file-'))
const path = join(dir, 'logs', 'app.ndjson') // logs/ does not exist yet: `mkdir: true` is the default

const transport = pino.transport({
  target: 'pino-courier',
  options: {
    senders: [{ type: 'file', path, level: 'info', fsync: false }],
  },
})
const logger = pino({ level: 'debug' }, transport)

logger.debug('below the sender level: not written')
for (let i = 0; i < 1000; i++) logger.info({ i }, 'job finished')
logger.warn({ queue: 'emails' }, 'queue is getting long')
logger.error(new Error('smtp timeout'), 'could not send email')

// Wait until every record logged so far is written (flush also waits for the worker to start),
// then close: end() drains what is left within the close deadline (5 s by default) and closes the
// file. pino unrefs its worker, so ref() keeps this process alive until the 'close' event.
await new Promise((resolve) => logger.flush(resolve))
const closed = new Promise((resolve) => transport.once('close', resolve))
transport.ref()
transport.end()
await closed

const lines = (await readFile(path, 'utf8')).trim().split('\n')
console.log(`${path}: ${lines.length} lines`)
console.log(`  first: ${lines[0]}`)
console.log(`  last:  ${lines.at(-1).slice(0, 140)}...`)
await rm(dir, { recursive: true, force: true })
if (lines.length !== 1002) process.exitCode = 1
