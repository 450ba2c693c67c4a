import { resolve } from 'node:path'
import type { ResolvedTransportOptions, SenderSpec } from '../../config/transport-options.js'
import type { Courier, CourierCloseReport } from '../../input/courier.js'
import { sinkTypeOf } from '../../sinks/registry.js'
import { spoolDirName } from '../../spool/disk-spool.js'
import type { SpoolOptions } from '../../spool/spool-options.js'
import type { CliCourierOptions } from '../cli-options.js'
import { listSpool, type SenderListing, type SpoolListing } from './spool-listing.js'
import { setTimer } from '../../timers.js'

/** A drain that cannot start (nothing is sent): exit 2. */
export class DrainUsageError extends Error {
  override readonly name = 'DrainUsageError'
}

/** What {@link drainSpool} needs. */
export interface DrainOptions {
  /** The spool directory. */
  readonly dir: string
  /** The courier options from the flags: the senders that send what waits. */
  readonly options: CliCourierOptions
  /** `--sender NAME`: the spooled sender to drain (with a one-sender config, that sender sends it). */
  readonly sender?: string | undefined
  /** Builds the courier (createCliCourier). */
  readonly createCourier: (options: CliCourierOptions) => Courier
  /** Aborted (a signal): the drain stops, what is in flight settles, the rest stays in the spool. */
  readonly stop?: AbortSignal
  /** Longest time to wait for the spool to empty (a sink that stays down). @default no limit */
  readonly maxWaitMs?: number | undefined
}

/** What a drain did. */
export interface DrainReport {
  /** The spool as it was before. */
  readonly before: SpoolListing
  /** The spooled senders drained (config senders named after them). */
  readonly drained: readonly string[]
  /** Records the drain left alone, per sender: their owner process is running. */
  readonly leftToLiveOwners: readonly { readonly sender: string; readonly records: number; readonly pids: readonly number[] }[]
  /** Spooled senders with records that no sender of the config is named after. */
  readonly unmatched: readonly string[]
  /**
   * Records of owner directories that were there before the drain and still are after it, not a live
   * owner's: the drain's senders did not take them over (another host's with `spool.adoptOtherHosts`
   * false, an owner file that cannot be read, a directory another start adopted meanwhile). They stay.
   */
  readonly notTakenOver: readonly { readonly sender: string; readonly records: number; readonly states: readonly string[] }[]
  /** 'done': the spool is empty; 'stopped': a signal; 'timeout': maxWaitMs passed. */
  readonly ended: 'done' | 'stopped' | 'timeout' | 'nothing'
  readonly close: CourierCloseReport | undefined
}

/** How often the drain looks whether the spool is empty. */
const POLL_MS = 50

/**
 * Sends what waits in the spool `dir` with the config's senders: each sender spools under
 * `<dir>/<its name>/`, and at start adopts the directories dead owners left there (as an app's start
 * does), so a config's sender drains the spooled sender of the same name. Senders of the config with
 * nothing spooled are left out (they would only make empty directories); a live owner's records are
 * never touched. Waits until the senders' spools are empty (or a signal, or maxWaitMs), then closes:
 * what could not be sent stays in the spool for the next start.
 * @throws {DrainUsageError} when the config's senders match no spooled sender, or `--sender` no config sender.
 */
export async function drainSpool(options: DrainOptions): Promise<DrainReport> {
  const before = listSpool(options.dir)
  const specs = chooseSenders(options.options.transport.senders, options.sender)
  const spooled = new Map(before.senders.map((s) => [s.dirName, s]))
  const waiting = before.senders.filter((s) => s.records > 0)
  const matched = specs.filter((spec) => spooled.has(spoolDirName(spec.name as string)))
  const queued = matched.filter((spec) => sinkTypeOf(spec.type)?.queued === true)
  if (queued.length === 0) throw new DrainUsageError(noMatch(specs, waiting, matched))
  const drained = queued.map((spec) => spooled.get(spoolDirName(spec.name as string)) as SenderListing)
  const leftToLiveOwners = drained
    .map((s) => {
      const live = s.owners.filter((o) => o.state === 'live' && o.records > 0)
      return { sender: s.name, records: live.reduce((n, o) => n + o.records, 0), pids: live.map((o) => o.pid ?? 0) }
    })
    .filter((l) => l.records > 0)
  const unmatched = waiting.filter((s) => !drained.includes(s)).map((s) => s.name)
  const base = { before, drained: drained.map((s) => s.name), leftToLiveOwners, unmatched }
  const adoptable = drained.reduce((n, s) => n + s.owners.filter((o) => o.state !== 'live').reduce((m, o) => m + o.records, 0), 0)
  if (adoptable === 0) return { ...base, notTakenOver: [], ended: 'nothing', close: undefined }

  const transport = withSpoolDir(options.options.transport, queued, resolve(options.dir))
  const courier = options.createCourier({ ...options.options, transport })
  const ended = await waitUntilEmpty(courier, options.stop, options.maxWaitMs)
  const close = await courier.close()
  return { ...base, notTakenOver: notTakenOver(options.dir, drained), ended, close }
}

/** The records of `drained` senders' owner directories (not live ones) still there after the drain. */
function notTakenOver(dir: string, drained: readonly SenderListing[]): DrainReport['notTakenOver'] {
  let after: SpoolListing
  try {
    after = listSpool(dir)
  } catch {
    return []
  }
  return drained.flatMap((before) => {
    const known = new Set(before.owners.filter((o) => o.state !== 'live').map((o) => o.instance))
    const now = after.senders.find((s) => s.dirName === before.dirName)
    const left = now?.owners.filter((o) => known.has(o.instance) && o.state !== 'live' && o.records > 0) ?? []
    const records = left.reduce((n, o) => n + o.records, 0)
    return records > 0 ? [{ sender: before.name, records, states: [...new Set(left.map((o) => o.state))] }] : []
  })
}

/** The config's senders, or the one `--sender` names (renamed after it when the config has one sender). */
function chooseSenders(specs: readonly SenderSpec[], sender: string | undefined): SenderSpec[] {
  if (sender === undefined) return [...specs]
  if (specs.length === 1) return [{ ...(specs[0] as SenderSpec), name: sender }]
  const named = specs.find((s) => s.name === sender)
  if (!named) {
    throw new DrainUsageError(`--sender ${sender}: the config has ${specs.length} senders and none is named so (${specs.map((s) => s.name).join(', ')})`)
  }
  return [named]
}

function noMatch(specs: readonly SenderSpec[], waiting: readonly SenderListing[], matched: readonly SenderSpec[]): string {
  const names = specs.map((s) => JSON.stringify(s.name)).join(', ')
  const found = waiting.length === 0 ? 'nothing is spooled there' : `spooled: ${waiting.map((s) => `${JSON.stringify(s.name)} (${s.records} records)`).join(', ')}`
  if (matched.length > 0) return `the config's senders named after a spooled sender (${matched.map((s) => s.name).join(', ')}) have no queue and no spool: use a sender type that spools (http, loki, …)`
  return (
    `none of the config's senders (${names}) is named after a sender spooled in this directory (${found}): ` +
    `a sender drains the spool of its own name; name the config's sender after it ("name" in the config), or pick one with --sender NAME`
  )
}

/** The transport's options with only `specs` as senders, each spooling in `dir` (its other spool options kept). */
function withSpoolDir(transport: ResolvedTransportOptions, specs: readonly SenderSpec[], dir: string): ResolvedTransportOptions {
  const top = typeof transport.spool === 'object' ? transport.spool : undefined
  const senders = specs.map((spec) => {
    const own = (spec as { spool?: SpoolOptions | false }).spool
    const spool: SpoolOptions = { ...(top ?? {}), ...(typeof own === 'object' ? own : {}), dir }
    return { ...spec, spool } as SenderSpec
  })
  return { ...transport, senders }
}

/** Waits until every sender's spool, queue and workers are empty; or a signal; or the time limit. */
async function waitUntilEmpty(courier: Courier, stop: AbortSignal | undefined, maxWaitMs: number | undefined): Promise<DrainReport['ended']> {
  const deadline = maxWaitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + maxWaitMs
  for (;;) {
    if (stop?.aborted) return 'stopped'
    const busy = courier.senders.some((sender) => {
      const s = sender.stats()
      return s.spooled > 0 || s.queued > 0 || s.inFlight > 0
    })
    if (!busy) return 'done'
    if (Date.now() >= deadline) return 'timeout'
    await sleep(POLL_MS)
  }
}

/** Resolves after `ms` (through the library's timers, like every wait it makes). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms))
}
