/**
 * The pipe command's input: stdin read chunk by chunk into one buffer reused for every read.
 *
 * Read through `process.stdin` (a stream), every read of a long pipe is a new 64 KiB buffer outside
 * the JS heap, which V8 frees only at a full collection: reading 300 MB and doing nothing else peaked
 * at about 84 MB of RSS, 35 MB of it dead chunks, where this reader stays at Node's idle size (50 MB).
 * A pipe or socket is read through a socket with `onread` (Node reads into the given buffer and pauses
 * after each read); a file through fs.read. A chunk handed out is valid until the next one is asked
 * for (LineSplitter copies what it keeps). A terminal keeps `process.stdin`: a person types slowly,
 * and a read blocked in the thread pool would hold the process at exit.
 */
import { fstatSync, read } from 'node:fs'
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net'
import { isatty } from 'node:tty'

/** Bytes per read: a pipe's capacity on Linux (it gives no more at once). A file is read 4 times that. */
const READ_BYTES = 64 * 1024

/** Reads stdin chunk by chunk; `next()` resolves undefined at the end of input. */
export interface ChunkSource {
  next(): Promise<Buffer | undefined>
  /** Whether stdin is a terminal (a person typing, not a pipe). */
  readonly isTTY: boolean
}

export function stdinChunks(fd = 0): ChunkSource {
  if (isatty(fd)) return streamChunks(true)
  let kind: 'pipe' | 'file'
  try {
    const stat = fstatSync(fd)
    kind = stat.isFIFO() || stat.isSocket() ? 'pipe' : 'file'
  } catch {
    return streamChunks(false)
  }
  return kind === 'pipe' ? socketChunks(fd) : fileChunks(fd)
}

function streamChunks(isTTY: boolean): ChunkSource {
  const chunks = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
  return {
    isTTY,
    async next() {
      const next = await chunks.next()
      if (next.done === true) return undefined
      return typeof next.value === 'string' ? Buffer.from(next.value) : next.value
    },
  }
}

function fileChunks(fd: number): ChunkSource {
  const buffer = Buffer.allocUnsafeSlow(4 * READ_BYTES)
  return {
    isTTY: false,
    next() {
      return new Promise((resolve, reject) => {
        read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
          if (error) reject(error)
          else resolve(bytes === 0 ? undefined : buffer.subarray(0, bytes))
        })
      })
    },
  }
}

function socketChunks(fd: number): ChunkSource {
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES)
  let waiting: { resolve: (chunk: Buffer | undefined) => void; reject: (error: Error) => void } | undefined
  // A read that came while nobody waited (should the pause come late): copied, since the buffer is reused.
  const early: Buffer[] = []
  let ended = false
  let failed: Error | undefined
  // `onread` is taken by the constructor as by connect() (node's net.js); the types know only connect's.
  const options: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback(bytes: number): boolean {
        const chunk = buffer.subarray(0, bytes)
        const w = waiting
        waiting = undefined
        if (w) w.resolve(chunk)
        else early.push(Buffer.from(chunk))
        // Paused until the next chunk is asked for: the buffer is not read into meanwhile.
        return false
      },
    },
  }
  const socket = new Socket(options)
  socket.pause()
  socket.on('end', () => {
    ended = true
    waiting?.resolve(undefined)
    waiting = undefined
  })
  socket.on('error', (error) => {
    failed = error
    waiting?.reject(error)
    waiting = undefined
  })
  return {
    isTTY: false,
    next() {
      const chunk = early.shift()
      if (chunk) return Promise.resolve(chunk)
      if (failed) return Promise.reject(failed)
      if (ended) return Promise.resolve(undefined)
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject }
        socket.resume()
      })
    },
  }
}
