import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/config-error.js'
import { OptionalPeer } from '../../../src/sinks/shared/optional-peer.js'
import { runNode } from '../../helpers/child-process.js'
import { useCleanups } from '../../helpers/cleanups.js'
import { appWithoutOptionalPeers } from '../../helpers/bare-app.js'

const { tempDir } = useCleanups()

describe('OptionalPeer', () => {
  it('throws a ConfigError at check() naming each missing package and the command that installs it', () => {
    const peer = new OptionalPeer('kafka', ['pino-courier-no-such-client', 'pino'])
    let caught: unknown
    try {
      peer.check()
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).paths).toEqual(['type'])
    expect((caught as ConfigError).message).toBe(
      "pino-courier: invalid options: type: the 'kafka' sender needs pino-courier-no-such-client, an optional peer dependency " +
        'of pino-courier that is not installed: run `npm install pino-courier-no-such-client` in your app',
    )
  })

  it('passes check() and loads the first package once when they are installed', async () => {
    const peer = new OptionalPeer<{ default: { version: string } }>('x', ['pino', 'zod'])
    expect(() => peer.check()).not.toThrow()
    const first = peer.load()
    expect(peer.load()).toBe(first)
    expect(typeof (await first).default).toBe('function')
  })

  it('rejects load() with the package named and can be tried again', async () => {
    const peer = new OptionalPeer('x', ['pino-courier-no-such-client'])
    await expect(peer.load()).rejects.toThrow(/could not load pino-courier-no-such-client for the 'x' sender/)
    await expect(peer.load()).rejects.toThrow(/could not load/)
  })
})

const appWithoutClients = async (): Promise<string> => appWithoutOptionalPeers(await tempDir())

const SPECS = [
  { type: 'kafka', brokers: ['127.0.0.1:9092'], topic: 'logs', missing: 'kafkajs' },
  { type: 'nats', servers: 'nats://127.0.0.1:4222', subject: 'logs', missing: '@nats-io/transport-node' },
  { type: 'redis', url: 'redis://127.0.0.1:6379', key: 'logs', missing: 'ioredis' },
]

describe('a backend sender whose client library is not installed', () => {
  it.each(SPECS)('fails at start-up, in process and through pino.transport, naming $missing ($type)', async ({ missing, ...spec }) => {
    const app = await appWithoutClients()
    const script = join(app, 'app.mjs')
    await writeFile(
      script,
      `
import pino from 'pino'
import { createCourierStream } from 'pino-courier'
const spec = ${JSON.stringify(spec)}
try {
  createCourierStream({ senders: [spec], stderr: false })
  console.log('IN-PROCESS: no error')
} catch (error) {
  console.log('IN-PROCESS: ' + JSON.stringify({ name: error.name, message: error.message, paths: error.paths }))
}
const transport = pino.transport({ target: 'pino-courier', options: { senders: [spec] } })
transport.on('error', (error) => {
  console.log('TRANSPORT: ' + JSON.stringify({ message: error.message }))
  process.exit(0)
})
pino(transport).info('never sent')
setTimeout(() => { console.log('TRANSPORT: no error'); process.exit(0) }, 20000)
`,
    )
    const result = await runNode(script, [], { timeoutMs: 40_000 })
    const line = (prefix: string): Record<string, unknown> => {
      const found = result.stdout.split('\n').find((l) => l.startsWith(prefix))
      expect(found, result.stdout + result.stderr).toBeDefined()
      expect(found).not.toMatch(/no error$/)
      return JSON.parse((found as string).slice(prefix.length)) as Record<string, unknown>
    }
    const inProcess = line('IN-PROCESS: ')
    expect(inProcess.name).toBe('ConfigError')
    expect(inProcess.paths).toEqual(['senders[0].type'])
    expect(inProcess.message).toContain(`senders[0].type: the '${spec.type}' sender needs ${missing}`)
    expect(inProcess.message).toContain(`npm install ${missing}`)
    const viaTransport = line('TRANSPORT: ')
    expect(viaTransport.message).toMatch(/^pino-courier: invalid options: senders\[0\]\.type: /)
    expect(viaTransport.message).toContain(`npm install ${missing}`)
  })
})
