/**
 * Small syslog receivers for the unit tests (no rsyslog needed): a TCP one that parses RFC 6587 frames
 * (octet counting or LF) and a UDP one that keeps each datagram, both on 127.0.0.1 and a port of their own.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'

export interface FakeTcpSyslog {
  readonly port: number
  /** Every message received, in order (framing removed). */
  readonly messages: string[]
  /** Connections accepted so far. */
  readonly accepted: number
  /** Connections open now. */
  readonly open: number
  /** Ends every open connection (FIN), as a receiver that stops gracefully. */
  endAll(): void
  /** Resets every open connection. */
  resetAll(): void
  /** Closes every open connection at once (a FIN; bytes arriving after it draw a reset), the server still listening. */
  destroyAll(): void
  close(): Promise<void>
}

export interface FakeTcpOptions {
  framing?: 'octet-counting' | 'lf'
  port?: number
  /** Called for each message on its connection, e.g. to end it after the first one. */
  onMessage?: (message: string, socket: Socket) => void
  /** Reads and ignores what arrives (a receiver that never answers a TLS handshake). @default false */
  ignore?: boolean
}

/** Parses frames off one connection's bytes. */
function frameParser(framing: 'octet-counting' | 'lf', onMessage: (message: string) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0)
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      if (framing === 'lf') {
        const end = buffered.indexOf(0x0a)
        if (end < 0) return
        onMessage(buffered.subarray(0, end).toString('utf8'))
        buffered = buffered.subarray(end + 1)
      } else {
        const space = buffered.indexOf(0x20)
        if (space < 0) return
        const length = Number(buffered.subarray(0, space).toString('latin1'))
        if (!Number.isInteger(length)) throw new Error(`bad octet count: ${buffered.subarray(0, space).toString('latin1')}`)
        if (buffered.length < space + 1 + length) return
        onMessage(buffered.subarray(space + 1, space + 1 + length).toString('utf8'))
        buffered = buffered.subarray(space + 1 + length)
      }
    }
  }
}

export async function startFakeTcpSyslog(options: FakeTcpOptions = {}): Promise<FakeTcpSyslog> {
  const messages: string[] = []
  const sockets = new Set<Socket>()
  let accepted = 0
  const server: Server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    const parse = frameParser(options.framing ?? 'octet-counting', (message) => {
      messages.push(message)
      options.onMessage?.(message, socket)
    })
    socket.on('data', options.ignore ? () => undefined : parse)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    port,
    messages,
    get accepted() {
      return accepted
    },
    get open() {
      return sockets.size
    },
    endAll() {
      for (const socket of sockets) socket.end()
    },
    resetAll() {
      for (const socket of sockets) socket.resetAndDestroy()
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy()
    },
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

export interface FakeUdpSyslog {
  readonly port: number
  readonly messages: string[]
  close(): Promise<void>
}

export async function startFakeUdpSyslog(port = 0): Promise<FakeUdpSyslog> {
  const messages: string[] = []
  const socket: UdpSocket = createSocket('udp4')
  socket.on('message', (message) => messages.push(message.toString('utf8')))
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, '127.0.0.1', () => resolve())
  })
  return {
    port: socket.address().port,
    messages,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}
