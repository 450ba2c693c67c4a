/** When the spool asks the OS to put its writes on the disk. */
export type SpoolFsync = 'always' | 'interval' | 'never'

/**
 * A sender's disk spool: where records go instead of being dropped when the memory queue is full or
 * the sink is failing, and where a closing sender leaves what it could not deliver, for the next
 * start. Each sender spools under `<dir>/<sender name>/`, each process in a directory of its own.
 */
export interface SpoolOptions {
  /**
   * Directory of the spool (created owner-only if missing). It must be one that nobody but you and
   * root can write, or sticky like /tmp; the spool refuses at start-up (a `ConfigError` naming
   * `spool.dir`) a directory owned by another user or writable by group or others without the
   * sticky bit, and a symbolic link (or a directory not its own) at `<dir>/<sender name>`. Files
   * below are never opened through a link. The directories above `dir` are not checked: keep them
   * out of others' reach too, as for any file you trust.
   */
  dir: string
  /**
   * Most bytes the sender's spool files may take. Past it the oldest spooled records are dropped
   * (counted as `spoolFull`). @default 1073741824 (1 GiB)
   */
  maxBytes?: number
  /**
   * `always`: every write reaches the disk before the sender goes on (survives a power cut, slowest);
   * `interval`: at most `fsyncIntervalMs` of writes can be lost in a power cut; `never`: the OS
   * decides. A process crash or `kill -9` loses nothing written in any mode: the data is in the OS.
   * @default 'interval'
   */
  fsync?: SpoolFsync
  /** Time between two syncs under `fsync: 'interval'`. @default 1000 */
  fsyncIntervalMs?: number
  /**
   * Take over what a process on another host left (its liveness cannot be checked from here). Right
   * for a container whose host name changes at each start; set `false` when live processes on several
   * hosts share one spool directory (NFS), where taking over would send their batches twice.
   * @default true
   */
  adoptOtherHosts?: boolean
}

/** Spool options with defaults filled in. */
export type ResolvedSpoolOptions = Required<SpoolOptions>

// Importable from here as before the defaults and schemas had modules of their own.
export { DEFAULT_SPOOL, MIN_SPOOL_BYTES } from '../config/defaults.js'
export { deadLetterOptionsSchema, spoolOptionsSchema } from '../config/schema.js'

/** Dead-letter file: batches that failed for good are appended to it, so nothing fails unseen. */
export interface DeadLetterOptions {
  /**
   * File the failed records are appended to, one NDJSON line each, as they would have been sent. Its
   * directory must be trusted as `spool.dir` is (made owner-only if missing), and the path must not
   * be a symbolic link: the file is opened with O_NOFOLLOW, so a link there fails the write.
   */
  path: string
  /** Permissions of the file when it is created. @default 0o600 */
  mode?: number
}
