/**
 * UDP (RFC 5426): one message per datagram, on a connected socket, so that an ICMP "port unreachable"
 * from a receiver that is not listening comes back as ECONNREFUSED instead of being ignored.
 */
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { DeliveryError } from '../../pool/delivery-error.js'
import { afterPoll, describe } from './syslog-stream.js'

/** Where the datagrams go. */
export interface DatagramTarget {
  readonly host: string
  readonly port: number
  /** `udp://host:port`, for messages. */
  readonly origin: string
}

/** What became of a batch's datagrams. */
export interface DatagramOutcome {
  /** Indexes (into the messages given) the kernel refused for good (EMSGSIZE: too large for UDP here). */
  readonly tooLarge: readonly number[]
}

/** The socket; one per sink. */
export class SyslogDatagrams {
  readonly #target: DatagramTarget
  #socket: Promise<Socket> | undefined
  /** An error the socket reported between sends (an ICMP error on a connected socket), not yet told. */
  #pendingError: Error | undefined
  #closed = false

  constructor(target: DatagramTarget) {
    this.#target = target
  }

  /**
   * Sends each message as a datagram. Resolves when the kernel has sent every one without error
   * (oversized ones named in the outcome); rejects with a transient DeliveryError when the receiver
   * refused (ECONNREFUSED: nothing listens on the port) or the network failed, and then opens a new
   * socket on the next attempt.
   */
  async send(messages: readonly Buffer[], signal: AbortSignal): Promise<DatagramOutcome> {
    if (this.#closed) throw new DeliveryError(`syslog: the socket to ${this.#target.origin} is closed`)
    signal.throwIfAborted()
    const socket = await this.#open()
    const tooLarge: number[] = []
    let failure: Error | undefined
    await new Promise<void>((resolve, reject) => {
      let left = messages.length
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
      signal.addEventListener('abort', onAbort, { once: true })
      const done = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      if (left === 0) done()
      messages.forEach((message, index) => {
        socket.send(message, (error) => {
          if (error) {
            if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') tooLarge.push(index)
            else failure ??= error
          }
          if (--left === 0) done()
        })
      })
    })
    // An ICMP error that arrives while the batch goes out is reported on the socket ('error'), not
    // to a send: let the loop poll the socket once (see afterPoll) so that it surfaces on loopback.
    // Best effort: over a network, a refusal of this batch's last datagrams is seen by the next batch.
    await new Promise<void>((resolve) => afterPoll(resolve))
    failure ??= this.#pendingError
    this.#pendingError = undefined
    if (failure) {
      this.#reset()
      throw new DeliveryError(`syslog: sending to ${this.#target.origin} failed: ${describe(failure)}`, { cause: failure })
    }
    return { tooLarge }
  }

  async close(): Promise<void> {
    this.#closed = true
    const socket = this.#socket
    this.#socket = undefined
    if (!socket) return
    try {
      const open = await socket
      await new Promise<void>((resolve) => open.close(() => resolve()))
    } catch {
      // Never opened (the host did not resolve) or closed already: nothing to release.
    }
  }

  #open(): Promise<Socket> {
    this.#socket ??= this.#connect().catch((error: unknown) => {
      this.#socket = undefined
      throw new DeliveryError(`syslog: cannot reach ${this.#target.origin}: ${describe(error)}`, { cause: error })
    })
    return this.#socket
  }

  async #connect(): Promise<Socket> {
    const { host, port } = this.#target
    const { address, family } = await lookup(host)
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4')
    socket.on('error', (error) => {
      this.#pendingError = error
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.connect(port, address, () => {
          socket.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      socket.close()
      throw error
    }
    this.#pendingError = undefined
    // The engine's close releases it; it must not keep the worker alive by itself.
    socket.unref()
    return socket
  }

  /** Drops the socket after a failure: the next attempt looks the host up and connects again. */
  #reset(): void {
    const socket = this.#socket
    this.#socket = undefined
    void socket?.then(
      (open) => {
        try {
          open.close()
        } catch {
          // closed already
        }
      },
      () => undefined,
    )
  }
}
