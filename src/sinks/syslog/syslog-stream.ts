/**
 * One persistent TCP or TLS connection to a syslog receiver, opened on the first write and again on
 * the first write after it was lost. A batch is written as one `write` of all its framed messages,
 * and counts as written when the write's callback has fired (the bytes are in the kernel) while the
 * connection was still up. Syslog has no acknowledgement: see docs/syslog.md for what that means.
 */
import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { DeliveryError } from '../../pool/delivery-error.js'
import { setTimer } from '../../timers.js'

/** TLS settings as the sender takes them: PEM text, or files read again on every connection. */
export interface SyslogTlsOptions {
  /** Trusted CA certificates (PEM). @default Node's bundled CAs */
  ca?: string | string[]
  /** A file of trusted CA certificates (PEM), read on every connection (so a renewed file is picked up). */
  caFile?: string
  /** Client certificate (PEM), for a receiver that asks for one. */
  cert?: string
  /** A file with the client certificate, read on every connection. */
  certFile?: string
  /** Client private key (PEM). */
  key?: string
  /** A file with the client private key, read on every connection. */
  keyFile?: string
  /** Passphrase of the private key. Never shown in messages. */
  passphrase?: string
  /** Refuse a server whose certificate does not verify against `ca`. @default true */
  rejectUnauthorized?: boolean
  /** Server name for SNI and the certificate check. @default the URL's host (none for an IP address) */
  servername?: string
}

/** Where and how to connect. */
export interface StreamTarget {
  readonly host: string
  readonly port: number
  /** TLS settings, or undefined for plain TCP. */
  readonly tls: SyslogTlsOptions | undefined
  /** `tcp://host:port` or `tls://host:port`, for messages. */
  readonly origin: string
}

/** Keep-alive probes on an idle connection start after this long, so a receiver that vanished is noticed. */
const KEEP_ALIVE_MS = 30_000
/** How long close() waits for the connection to end gracefully (FIN) before destroying it. */
const END_GRACE_MS = 1_000

/** The TLS options of one connection, files read now. */
export function tlsConnectionOptions(tls: SyslogTlsOptions, host: string): ConnectionOptions {
  const { caFile, certFile, keyFile, ca, cert, key, ...rest } = tls
  const options: ConnectionOptions = { ...rest }
  const read = (file: string): string => readFileSync(file, 'utf8')
  if (caFile !== undefined) options.ca = read(caFile)
  else if (ca !== undefined) options.ca = ca
  if (certFile !== undefined) options.cert = read(certFile)
  else if (cert !== undefined) options.cert = cert
  if (keyFile !== undefined) options.key = read(keyFile)
  else if (key !== undefined) options.key = key
  // SNI takes a host name, never an IP address (Node warns when given one).
  if (options.servername === undefined && !/^[\d.]+$|:/.test(host)) options.servername = host
  return options
}

/** The connection; one per sink. */
export class SyslogStream {
  readonly #target: StreamTarget
  /** The open connection, until it errors, the peer ends it, or it closes. */
  #socket: Socket | undefined
  #connecting: Promise<Socket> | undefined
  /** A socket being connected, so that close() can destroy it. */
  #pending: Socket | undefined
  /** Why the last connection went away, for the next message. */
  #lastError: string | undefined
  #closed = false
  /** Connections opened so far (for tests and stats of reconnects). */
  connections = 0

  constructor(target: StreamTarget) {
    this.#target = target
  }

  /**
   * Writes `payload` (framed messages) on the connection, connecting first when there is none. Resolves
   * when the write's callback fired without error and the connection is still up; rejects (a
   * transient DeliveryError, or the signal's reason) otherwise, and then drops the connection, since
   * part of the payload may have been written: the next attempt goes on a fresh one.
   */
  async write(payload: Buffer, signal: AbortSignal): Promise<void> {
    if (this.#closed) throw new DeliveryError(`syslog: the connection to ${this.#target.origin} is closed`)
    signal.throwIfAborted()
    const socket = this.#socket ?? (await this.#connect(signal))
    await new Promise<void>((resolve, reject) => {
      let settled = false
      const finish = (error?: unknown): void => {
        if (settled) return
        settled = true
        socket.off('close', onClose)
        signal.removeEventListener('abort', onAbort)
        if (error === undefined) resolve()
        else {
          this.#drop(socket)
          reject(error)
        }
      }
      const onClose = (): void => finish(this.#lost('before the batch was written'))
      const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
      socket.once('close', onClose)
      signal.addEventListener('abort', onAbort, { once: true })
      socket.write(payload, (error) => {
        if (error) finish(this.#lost(`while the batch was written (${describe(error)})`, error))
        // The peer may have ended the connection while the bytes went out: they went nowhere.
        else if (this.#socket !== socket) finish(this.#lost('while the batch was written'))
        else finish()
      })
    })
  }

  /** Ends the connection: gracefully (FIN) for at most a second, then destroyed. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.#pending?.destroy()
    const socket = this.#socket
    this.#socket = undefined
    if (!socket || socket.destroyed) return
    await new Promise<void>((resolve) => {
      const timer = setTimer(() => socket.destroy(), END_GRACE_MS)
      socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.end()
    })
  }

  #connect(signal: AbortSignal): Promise<Socket> {
    this.#connecting ??= this.#open(signal).finally(() => (this.#connecting = undefined))
    return this.#connecting
  }

  #open(signal: AbortSignal): Promise<Socket> {
    const { host, port, tls, origin } = this.#target
    return new Promise<Socket>((resolve, reject) => {
      let socket: Socket
      try {
        socket = tls ? tlsConnect({ host, port, ...tlsConnectionOptions(tls, host) }) : netConnect({ host, port })
      } catch (error) {
        // A TLS file that cannot be read (any more), a key that does not parse.
        reject(new DeliveryError(`syslog: cannot connect to ${origin}: ${describe(error)}`, { cause: error }))
        return
      }
      this.#pending = socket
      const cleanup = (): void => {
        this.#pending = undefined
        socket.off('error', onError)
        socket.off('close', onClosed)
        signal.removeEventListener('abort', onAbort)
      }
      // Destroyed without an error: close() while connecting.
      const onClosed = (): void => {
        cleanup()
        reject(new DeliveryError(`syslog: the connection to ${origin} is closed`))
      }
      const onError = (error: Error): void => {
        cleanup()
        socket.destroy()
        reject(new DeliveryError(`syslog: cannot connect to ${origin}: ${describe(error)}`, { cause: error }))
      }
      const onAbort = (): void => {
        cleanup()
        socket.destroy()
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
      }
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        cleanup()
        if (this.#closed) {
          socket.destroy()
          reject(new DeliveryError(`syslog: the connection to ${origin} is closed`))
          return
        }
        this.#adopt(socket)
        resolve(socket)
      })
      socket.on('error', onError)
      socket.once('close', onClosed)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Makes `socket` the connection, watching for its loss. */
  #adopt(socket: Socket): void {
    this.connections++
    this.#lastError = undefined
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEP_ALIVE_MS)
    socket.on('error', (error) => {
      this.#lastError = describe(error)
      this.#drop(socket)
    })
    // A receiver that stops (an rsyslog restart) ends the connection: the next batch must go on a new
    // one, not into a socket whose peer is gone. 'end' comes only to a flowing socket: the receiver
    // never sends anything, but whatever it sends is read and dropped.
    socket.on('end', () => {
      this.#lastError ??= 'the receiver ended the connection'
      this.#drop(socket)
    })
    socket.on('close', () => this.#drop(socket))
    socket.on('data', () => undefined)
    socket.resume()
    this.#socket = socket
  }

  #drop(socket: Socket): void {
    if (this.#socket === socket) this.#socket = undefined
    socket.destroy()
  }

  #lost(when: string, cause?: unknown): DeliveryError {
    const why = this.#lastError === undefined ? '' : `: ${this.#lastError}`
    return new DeliveryError(`syslog: the connection to ${this.#target.origin} was lost ${when}${why}`, cause === undefined ? {} : { cause })
  }
}

/** An error as `CODE: message` (a network or TLS error's code names it best), never with a passphrase. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
}
