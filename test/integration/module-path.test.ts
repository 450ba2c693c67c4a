/**
 * `{ type: 'module', module }` with a relative path, through a real `pino.transport()` worker. The
 * worker imports the module from pino-courier's own file, so `./my-sender.mjs` can never mean what
 * the app meant: it fails at start-up with a ConfigError naming `senders[i].module` and saying what to
 * pass instead (before, the error was a bare "Cannot find module '…/dist/test/fixtures/…'").
 */
import { basename, join, relative, resolve } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { SenderSpec, TransportOptions } from '../../src/index.js'
import { endIfOpen, endTransport, fixture, flushLogger, readNdjson, waitUntil, type TransportStream } from '../fixtures/integration.js'
import { PROJECT_ROOT } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'

const APPEND_SENDER = fixture('append-sender.mjs')
/** `test/fixtures/append-sender.mjs`, as written relative to the project root (vitest's cwd). */
const FROM_ROOT = relative(PROJECT_ROOT, APPEND_SENDER)

const { defer, tempDir } = useCleanups()

function courierTransport(options: TransportOptions): TransportStream {
  const transport = pino.transport<TransportOptions>({ target: 'pino-courier', options })
  defer(() => endIfOpen(transport))
  return transport
}

/** The first 'error' of a transport whose options the worker refuses. */
async function startupError(spec: SenderSpec, index = 0): Promise<Error> {
  const path = join(await tempDir(), 'other.log')
  const senders: SenderSpec[] = [{ type: 'file', path }]
  senders.splice(index, 0, spec)
  const transport = courierTransport({ senders })
  const errors: Error[] = []
  transport.on('error', (error: Error) => errors.push(error))
  pino(transport).info('never delivered')
  await waitUntil(() => errors.length > 0, "the transport's 'error' event")
  return errors[0] as Error
}

describe("{ type: 'module' } with a relative path", () => {
  it.each([`./${FROM_ROOT}`, `../${basename(PROJECT_ROOT)}/${FROM_ROOT}`])(
    'fails at start-up with a ConfigError naming senders[i].module and the remedy: %s',
    async (module) => {
      const error = await startupError({ type: 'module', module }, 1)
      expect(error.message).toMatch(/^pino-courier: invalid options: senders\[1\]\.module: /)
      expect(error.message).toContain(`"${module}" is a relative path`)
      expect(error.message).toMatch(/pass an absolute path \(fileURLToPath\(new URL\('.*', import\.meta\.url\)\)/)
      expect(error.message).toContain(`path.resolve('${module}')`)
      expect(error.message).toMatch(/or a package name$/)
      // Not the old, misleading message about a path inside pino-courier's own directory.
      expect(error.message).not.toMatch(/Cannot find module/)
    },
  )

  it('says a bare file path was taken for a package name', async () => {
    const error = await startupError({ type: 'module', module: FROM_ROOT })
    expect(error.message).toMatch(/^pino-courier: invalid options: senders\[0\]\.module: cannot import "test\/fixtures\/append-sender\.mjs": /)
    expect(error.message).toMatch(/\(taken for a package name: a path must be absolute\)$/)
  })

  it('works once made absolute as the message says (path.resolve against the working directory)', async () => {
    const path = join(await tempDir(), 'custom.log')
    const transport = courierTransport({
      senders: [{ type: 'module', module: resolve(FROM_ROOT), name: 'custom', options: { path, tag: 'abs' } }],
    })
    const logger = pino(transport)
    logger.info({ i: 1 }, 'hello')
    await flushLogger(logger)
    expect(await readNdjson(path)).toMatchObject([{ tag: 'abs', i: 1, msg: 'hello' }])
    await endTransport(transport)
  })
})
