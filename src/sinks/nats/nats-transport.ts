/**
 * nats.js's Node transport, made to let go of its socket when a connect fails half-way.
 *
 * When a connect runs out of its time (`timeout`) before the server's INFO came (a server that
 * accepts TCP but is stopped or hung, a TLS handshake that never ends), nats.js closes the transport,
 * but its close does nothing for a transport that never got connected: the socket stays open, for
 * ever. Every retried connect to such a server left one more open socket (and file descriptor)
 * behind, and kept the process (or the transport's worker) from exiting. This subclass destroys the
 * socket in that case, and marks the transport done, so that a dial still under way destroys the
 * socket it gets too (the transport checks `done` after dialling).
 *
 * The class comes from the package's own file (it is not in its index); if a later version moves it,
 * the sender uses the client's plain `connect` (and the leak of that version, if any).
 */
import type * as NatsNodeModule from '@nats-io/transport-node'

/** The transport's state this module reads and sets (fields of nats.js's NodeTransport). */
interface TransportState {
  connected: boolean
  done: boolean
  socket?: { destroy(): void } | undefined
}

type ClosedFn = (this: TransportState, err: unknown, internal?: boolean) => Promise<void>

/** The connect function to use: with the socket-releasing transport, or undefined (use the client's). */
export type Connect = (options: Record<string, unknown>) => Promise<unknown>

export async function socketReleasingConnect(core: typeof NatsNodeModule): Promise<Connect | undefined> {
  let transport: { NodeTransport?: unknown; nodeResolveHost?: unknown }
  try {
    transport = (await import('@nats-io/transport-node/lib/node_transport.js')) as typeof transport
  } catch {
    return undefined
  }
  const Base = transport.NodeTransport as (new () => TransportState) | undefined
  const closed = (Base?.prototype as { _closed?: unknown } | undefined)?._closed
  if (typeof Base !== 'function' || typeof closed !== 'function' || typeof transport.nodeResolveHost !== 'function') return undefined
  if (typeof core.setTransportFactory !== 'function' || typeof core.NatsConnectionImpl?.connect !== 'function') return undefined
  class SocketReleasingTransport extends Base {}
  Object.defineProperty(SocketReleasingTransport.prototype, '_closed', {
    configurable: true,
    writable: true,
    value: function (this: TransportState, err: unknown, internal?: boolean): Promise<void> {
      if (!this.connected && !this.done) {
        this.done = true
        this.socket?.destroy()
      }
      return (closed as ClosedFn).call(this, err, internal)
    },
  })
  const dnsResolveFn = transport.nodeResolveHost as Parameters<typeof core.setTransportFactory>[0]['dnsResolveFn']
  return (options) => {
    // What the package's own connect() does, with this transport (the factory is the client's global
    // setting, set again before each connect as that connect() sets it).
    core.setTransportFactory({ factory: () => new SocketReleasingTransport() as never, dnsResolveFn })
    return core.NatsConnectionImpl.connect(options)
  }
}
