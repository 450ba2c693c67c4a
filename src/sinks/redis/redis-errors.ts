/**
 * What a Redis error means for a record: try again (the server is busy, full, loading, a replica, or
 * the connection is gone) or give up (the key holds another type, the command or the credentials are
 * refused). One pure function, so that every answer a real server cannot easily be made to give is
 * unit-tested (test/sinks/redis/redis-errors.test.ts).
 */

/** How an error is treated, and the words that stand for it in stats and warnings. */
export interface RedisErrorClass {
  /** True when a retry cannot help until someone changes the server or the options. */
  readonly permanent: boolean
  /** The server's error code (`OOM`, `WRONGTYPE`, `ERR` …) or the socket's (`ECONNREFUSED`), when there is one. */
  readonly code: string | undefined
  /** True when the connection should be dropped and made anew before the next attempt (READONLY: a failover). */
  readonly reconnect: boolean
}

/**
 * Codes of error replies that a later attempt can get past without anyone touching the options:
 * - `OOM`: `used memory > 'maxmemory'` with a `noeviction` policy (Redis's back-pressure: a consumer
 *   draining the key, or eviction, makes room);
 * - `READONLY`: a replica (a failover in progress; the connection is made anew so that a DNS name
 *   pointing at the new primary is looked up again);
 * - `LOADING` (the dataset is being loaded after a restart), `BUSY` (a script runs), `TRYAGAIN`,
 *   `MASTERDOWN` (a replica lost its primary), `CLUSTERDOWN`, `NOREPLICAS` (`min-replicas-to-write`
 *   not met), `MISCONF` (writes stopped because snapshots fail to be written to disk).
 */
export const TRANSIENT_REPLY_CODES: ReadonlySet<string> = new Set([
  'OOM',
  'READONLY',
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'NOREPLICAS',
  'MISCONF',
])

/**
 * Codes of error replies no retry gets past: `WRONGTYPE` (the key holds a string, a hash, or a list
 * where a stream is written: the records are dead-lettered), `NOAUTH` / `WRONGPASS` (credentials
 * missing or wrong: like an HTTP 401, nothing changes until the options or the server's ACL do),
 * `NOPERM` (the ACL user may not run the command or touch the key), `ERR` (a command or an argument
 * the server refuses: an unknown command on an old server, `DB index is out of range`), `MOVED` /
 * `ASK` / `CROSSSLOT` (a Redis Cluster node: the sender speaks to one server, not to a cluster).
 * An error reply with any other code (a module's, a proxy's, a future one) is also for good: the
 * server answered and refused, and with a disk spool the engine retries a transient failure for as
 * long as it takes, so an unknown refusal retried would hold the batch in flight (and every record
 * behind it) for ever while the spool filled up. Dead-lettered instead, nothing is lost.
 */
export const PERMANENT_REPLY_CODES: ReadonlySet<string> = new Set(['WRONGTYPE', 'NOAUTH', 'WRONGPASS', 'NOPERM', 'ERR', 'MOVED', 'ASK', 'CROSSSLOT'])

/** `ERR …` replies that are about the moment, not the command. */
const TRANSIENT_ERR = /^ERR max number of clients reached/i

/** Reads a thrown value or a pipeline's per-command error. */
export function classifyRedisError(error: unknown): RedisErrorClass {
  const message = error instanceof Error ? error.message : String(error)
  const name = error instanceof Error ? error.name : ''
  // Error replies (ioredis's ReplyError): the message starts with the server's code.
  const code = /^([A-Z][A-Z_]*)(?: |$)/.exec(message)?.[1]
  if (code !== undefined && (name === 'ReplyError' || TRANSIENT_REPLY_CODES.has(code) || PERMANENT_REPLY_CODES.has(code))) {
    if (code === 'ERR' && TRANSIENT_ERR.test(message)) return { permanent: false, code, reconnect: false }
    if (TRANSIENT_REPLY_CODES.has(code)) return { permanent: false, code, reconnect: code === 'READONLY' }
    return { permanent: true, code, reconnect: false }
  }
  // Everything else is the connection: refused, reset, timed out, closed under a pipeline, written to
  // while down (the offline queue is off), a TLS handshake that failed. Retried; the next attempt
  // connects anew.
  const socketCode = (error as { code?: unknown } | null)?.code
  return { permanent: false, code: typeof socketCode === 'string' ? socketCode : undefined, reconnect: false }
}
