/**
 * What the README's TypeScript section shows, checked by the compiler (`npm run typecheck` covers the
 * tests): typed transport options with `pino.transport<TransportOptions>()` and `satisfies`, a
 * misspelt option as a type error, and typed event payloads on `createCourierTransport()`'s stream.
 * The runtime half checks that the typed options are the ones the transport accepts.
 */
import type pino from 'pino'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { parseTransportOptions } from '../../src/config/transport-options.js'
import type {
  CourierCloseReport,
  CourierStats,
  CourierTransportStream,
  CourierWarning,
  SenderSpec,
  TransportOptions,
} from '../../src/index.js'

const options = {
  senders: [
    { type: 'loki', url: 'http://loki:3100', labels: { app: 'api' } },
    { type: 'redis', url: 'redis://redis:6379', key: 'logs', mode: 'list' },
  ],
  queue: { maxRecords: 50_000 },
} satisfies TransportOptions

/** Never called: the compiler checks its body (a worker would start otherwise). */
function typedUsage(p: typeof pino, transport: CourierTransportStream): void {
  p.transport<TransportOptions>({ target: 'pino-courier', options })
  // @ts-expect-error a misspelt option is a type error, not only a start-up error
  p.transport<TransportOptions>({ target: 'pino-courier', options: { senders: [{ type: 'http', url: 'x', batch: { maxRecord: 1 } }] } })
  // @ts-expect-error a sender type that does not exist
  const unknownType: SenderSpec = { type: 'carrier-pigeon', url: 'x' }
  void unknownType
  transport.on('courier:stats', (stats) => expectTypeOf(stats).toEqualTypeOf<CourierStats>())
  transport.once('courier:warning', (warning) => expectTypeOf(warning).toEqualTypeOf<CourierWarning>())
  transport.on('courier:close', (report) => expectTypeOf(report).toEqualTypeOf<CourierCloseReport>())
  transport.on('courier:metrics', ({ url }) => expectTypeOf(url).toEqualTypeOf<string>())
  // Other events keep the stream's own signatures.
  transport.on('ready', () => undefined)
}

describe('TypeScript usage', () => {
  it('accepts at start-up the options the types accept', () => {
    expect(typeof typedUsage).toBe('function')
    const resolved = parseTransportOptions(options)
    expect(resolved.senders.map((s) => s.type)).toEqual(['loki', 'redis'])
  })
})
