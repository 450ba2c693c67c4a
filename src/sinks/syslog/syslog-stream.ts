/**
 * One persistent TCP or TLS connection to a syslog receiver, opened on the first write and again on
 * the first write after it was lost. A batch is written as one `write` of all its framed messages,
 * and counts as written when the write's callback has fired (the bytes are in the kernel) while the
 * connection was still up. Syslog has no acknowledgement: see docs/syslog.md for what that means.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls'
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
/**
 * TLS 1.3: how long a new connection waits for the server's first session ticket, its sign that it
 * accepted the client (certificate), before it is used anyway (a server that sends no tickets).
 */
export const TLS13_CONFIRM_MS = 1_000
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

/** What is wrong with the TLS material of `tls` (files read now): the option to blame and why; undefined when nothing is. */
export interface TlsProblem {
  /** The option, relative to `tls` (`key`, `keyFile`, `passphrase` …). */
  readonly option: string
  readonly message: string
}

/** A PEM certificate block (OpenSSL's TRUSTED CERTIFICATE form too, which Node's `ca` also reads). */
const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED )?CERTIFICATE-----[\s\S]*?-----END (?:TRUSTED )?CERTIFICATE-----/g

/**
 * Checks at start-up what would otherwise fail every connection: certificates and keys that do not
 * parse, a key the passphrase does not decrypt (or an encrypted key without one), a key that is not
 * the certificate's, a cert without its key. Messages name OpenSSL's reason only, never the key, the
 * passphrase or the PEM text.
 */
export function tlsMaterialProblem(tls: SyslogTlsOptions): TlsProblem | undefined {
  const options = tlsConnectionOptions(tls, 'localhost')
  const certOption = tls.certFile !== undefined ? 'certFile' : 'cert'
  const keyOption = tls.keyFile !== undefined ? 'keyFile' : 'key'
  const caOption = tls.caFile !== undefined ? 'caFile' : 'ca'
  const why = (error: unknown): string => {
    const code = (error as NodeJS.ErrnoException).code
    const reason = error instanceof Error ? error.message.replace(/^error:[0-9A-F]+:/, '') : 'unreadable'
    return code === undefined ? reason : `${code}: ${reason}`
  }
  if (options.ca !== undefined) {
    const texts = Array.isArray(options.ca) ? options.ca : [options.ca]
    for (const text of texts as string[]) {
      const blocks = text.match(PEM_CERTIFICATE)
      if (blocks === null) return { option: caOption, message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }
      for (const block of blocks) {
        if (block.startsWith('-----BEGIN TRUSTED')) continue
        try {
          new X509Certificate(block)
        } catch (error) {
          return { option: caOption, message: `a certificate in it does not parse (${why(error)})` }
        }
      }
    }
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    return options.cert === undefined
      ? { option: keyOption, message: `a client key needs its certificate (tls.cert or tls.certFile)` }
      : { option: certOption, message: `a client certificate needs its key (tls.key or tls.keyFile)` }
  }
  if (options.cert === undefined) return undefined
  try {
    createSecureContext({ cert: options.cert })
  } catch (error) {
    return { option: certOption, message: `the certificate does not parse (${why(error)})` }
  }
  try {
    createSecureContext({ key: options.key, passphrase: options.passphrase })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_OSSL_BAD_DECRYPT') {
      return options.passphrase === undefined
        ? { option: keyOption, message: 'the key is encrypted: give tls.passphrase' }
        : { option: 'passphrase', message: `does not decrypt the key (${why(error)})` }
    }
    return { option: keyOption, message: `the key does not parse (${why(error)})` }
  }
  try {
    createSecureContext({ cert: options.cert, key: options.key, passphrase: options.passphrase })
  } catch (error) {
    return { option: keyOption, message: `the key is not the certificate's (${why(error)})` }
  }
  return undefined
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
  /** Writes in flight: the connection holds the process open only while there is one. */
  #writes = 0
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
    this.#writes++
    socket.ref()
    await new Promise<void>((resolve, reject) => {
      let settled = false
      const finish = (error?: unknown): void => {
        if (settled) return
        settled = true
        if (--this.#writes === 0 && this.#socket === socket) socket.unref()
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
        // The peer may have ended the connection before the bytes went out, its FIN (or the reset our
        // bytes drew) not read yet: the write then succeeds into the kernel and the bytes go nowhere.
        // That happens whenever the batch is written in the same event-loop turn the FIN arrived in
        // (a busy worker). Wait until the loop has polled the socket once more, then look again.
        else afterPoll(() => finish(this.#socket === socket ? undefined : this.#lost('while the batch was written')))
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
      let confirmTimer: NodeJS.Timeout | undefined
      let settled = false
      const cleanup = (): void => {
        settled = true
        this.#pending = undefined
        clearTimeout(confirmTimer)
        socket.off('error', onError)
        socket.off('close', onClosed)
        socket.off('session', onSession)
        signal.removeEventListener('abort', onAbort)
      }
      // Closed without an error: close() while connecting, or the receiver ended the connection (a TLS
      // 1.3 server refusing the client's certificate, or its lack of one, may just close it).
      const onClosed = (): void => {
        cleanup()
        if (this.#closed) reject(new DeliveryError(`syslog: the connection to ${origin} is closed`))
        else {
          const when = tls ? 'before it accepted the TLS session (does it want a client certificate, or another one?)' : 'while connecting'
          reject(new DeliveryError(`syslog: cannot connect to ${origin}: the receiver closed the connection ${when}`))
        }
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
      const onReady = (): void => {
        if (settled) return
        cleanup()
        if (this.#closed) {
          socket.destroy()
          reject(new DeliveryError(`syslog: the connection to ${origin} is closed`))
          return
        }
        this.#adopt(socket)
        resolve(socket)
      }
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        if (!tls || (socket as TLSSocket).getProtocol() !== 'TLSv1.3') return onReady()
        // TLS 1.3: the client's handshake ends before the server has checked the client's certificate
        // (or seen that it sent none). A server that refuses it says so with an alert a round trip
        // later, when a first batch would already count delivered, and the next batch, on a new
        // connection, likewise: every record lost. A server that accepts it sends its session
        // tickets: wait for the first one (or an error), at most TLS13_CONFIRM_MS for a server that
        // sends none.
        socket.once('session', onSession)
        confirmTimer = setTimer(onReady, TLS13_CONFIRM_MS)
      })
      // Not from within the 'session' event: Node (20) corrupts the TLS stream when it is written to
      // there (or in the microtasks that follow it): the receiver fails with 'bad record mac'.
      const onSession = (): void => void setImmediate(onReady)
      socket.on('error', onError)
      socket.once('close', onClosed)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Makes `socket` the connection, watching for its loss. */
  #adopt(socket: Socket): void {
    this.connections++
    this.#lastError = undefined
    // Each write in flight listens for 'close' until it settles: with pool.concurrency above 10, Node
    // would print a MaxListenersExceededWarning for what is no leak (the pool bounds the writes).
    socket.setMaxListeners(0)
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
    // Idle, it does not keep the process alive (as Node's idle keep-alive HTTP sockets do not): an
    // app with an in-process sender it never closed still exits. A write in flight holds it (ref).
    if (this.#writes === 0) socket.unref()
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

/**
 * Calls `then` once the event loop has run its poll phase at least once from now (I/O that is ready
 * now, such as a FIN or a reset in a socket's kernel buffer, has then been read and its events
 * emitted). One setImmediate is not enough: scheduled from the poll phase, it runs in the same loop
 * turn's check phase, with no poll in between.
 */
export function afterPoll(then: () => void): void {
  setImmediate(() => setImmediate(then))
}

/** An error as `CODE: message` (a network or TLS error's code names it best), never with a passphrase. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
}
