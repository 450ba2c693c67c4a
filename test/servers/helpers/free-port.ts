import { createServer, connect } from 'node:net'

/**
 * A TCP port free on 127.0.0.1 right now (the OS picks it). A server started on it a moment later may
 * still find it taken by another process: start servers through {@link ServerProcess}, which waits
 * for its own listener, and retry with a new port when the start fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A UDP-free TCP port is not always UDP-free: a port free for both, for servers listening on both. */
export async function freeTcpAndUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram')
  for (;;) {
    const port = await freePort()
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4')
      socket.once('error', () => {
        socket.close()
        resolve(false)
      })
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)))
    })
    if (ok) return port
  }
}

/** Resolves once something accepts TCP connections on `port` (127.0.0.1); rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
