/** createSenders: the public factory checks every spec as the transport does. */
import { describe, expect, it } from 'vitest'
import { createSenders } from '../../src/sinks/registry.js'
import { ConfigError } from '../../src/config/config-error.js'

async function configErrorOf(run: () => Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`)
  return error
}

describe('createSenders', () => {
  it('checks each spec against its type’s schema, naming every bad option at senders[i]', async () => {
    const error = await configErrorOf(() => createSenders([{ type: 'http', url: 'ftp://nope', pool: { concurrency: 0 }, qeue: 1 }], {}))
    expect([...error.paths].sort()).toEqual(['senders[0].pool.concurrency', 'senders[0].qeue', 'senders[0].url'])
    expect(error.message).toMatch(/senders\[0\]\.qeue: unknown option/)
  })

  it('refuses a memory sender with a negative batch size instead of building one that throws on send', async () => {
    const error = await configErrorOf(() => createSenders([{ type: 'memory', batch: { maxRecords: -5 } }], {}))
    expect(error.paths).toEqual(['senders[0].batch.maxRecords'])
  })
})
