import type { OwnerListing, SenderListing, SpoolListing, Waiting } from './spool-listing.js'

/**
 * The listing as text, one block per sender: what waits (records, bytes, oldest and newest record's
 * age, segments) and each owner directory with its state.
 * @example
 * // spool /var/spool/app: 1 sender, 1200 records waiting
 * // http: 1200 records, 210.5 KiB, oldest 3m 12s ago, newest 2m 40s ago, 2 segments
 * //   0m5x1k2a3-4242-0a1b2c3d  dead (pid 4242): 1200 records, 210.5 KiB, 2 segments; the next start of sender "http" sends them
 */
export function formatListing(listing: SpoolListing): string {
  const total = listing.senders.reduce((n, s) => n + s.records, 0)
  const lines = [`spool ${listing.dir}: ${listing.senders.length} ${plural(listing.senders.length, 'sender')}, ${total} ${plural(total, 'record')} waiting`]
  for (const sender of listing.senders) {
    lines.push(`${quoteName(sender)}: ${waiting(sender, listing.at)}`)
    if (sender.owners.length === 0) lines.push('  (no owner directory: nothing spooled)')
    for (const owner of sender.owners) lines.push(`  ${owner.instance}  ${ownerLine(owner, sender, listing.at)}`)
  }
  return lines.join('\n')
}

/** The listing as JSON (times as ISO strings and ages in ms, from when it was read). */
export function listingJson(listing: SpoolListing): unknown {
  const times = (w: Waiting): Record<string, unknown> => ({
    oldest: iso(w.oldest),
    newest: iso(w.newest),
    oldestAgeMs: w.oldest === undefined ? null : listing.at - w.oldest,
    newestAgeMs: w.newest === undefined ? null : listing.at - w.newest,
    timeSource: w.timeSource ?? null,
  })
  const counts = (w: Waiting): Record<string, unknown> => ({
    records: w.records,
    bytes: w.bytes,
    segments: w.segments,
    fileBytes: w.fileBytes,
    corruptBytes: w.corruptBytes,
    ...times(w),
  })
  return {
    dir: listing.dir,
    at: new Date(listing.at).toISOString(),
    records: listing.senders.reduce((n, s) => n + s.records, 0),
    senders: listing.senders.map((s) => ({
      name: s.name,
      dirName: s.dirName,
      ...counts(s),
      owners: s.owners.map((o) => ({
        instance: o.instance,
        state: o.state,
        pid: o.pid ?? null,
        host: o.host ?? null,
        createdAt: iso(o.createdAt),
        adopted: o.adopted,
        ...counts(o),
      })),
    })),
  }
}

function waiting(w: Waiting, at: number): string {
  const parts = [`${w.records} ${plural(w.records, 'record')}`, size(w.bytes)]
  if (w.oldest !== undefined && w.newest !== undefined) {
    const by = w.timeSource === 'files' ? ' (by file times: the records carry no time)' : ''
    parts.push(`oldest ${age(at - w.oldest)} ago, newest ${age(at - w.newest)} ago${by}`)
  }
  parts.push(`${w.segments} ${plural(w.segments, 'segment')}`)
  if (w.corruptBytes > 0) parts.push(`${size(w.corruptBytes)} torn or corrupt (skipped)`)
  return parts.join(', ')
}

function ownerLine(owner: OwnerListing, sender: SenderListing, at: number): string {
  const who = owner.pid === undefined ? '' : ` (pid ${owner.pid}${owner.state === 'other-host' ? ` on ${owner.host ?? '?'}` : ''})`
  const adopted = owner.adopted.length > 0 ? `, adopted ${owner.adopted.length} ${plural(owner.adopted.length, 'directory', 'directories')} of dead owners` : ''
  return `${owner.state}${who}: ${waiting(owner, at)}${adopted}${owner.records > 0 ? `; ${fate(owner, sender)}` : ''}`
}

/** What happens to an owner's records. */
function fate(owner: OwnerListing, sender: SenderListing): string {
  const next = `the next start of sender ${JSON.stringify(sender.name)} sends them (or spool --drain)`
  switch (owner.state) {
    case 'live':
      return 'its process is running and sends them itself (--drain leaves them alone)'
    case 'other-host':
      return `written on another host: ${next}, unless spool.adoptOtherHosts is false`
    case 'unknown':
      return 'its owner file cannot be read: left alone'
    default:
      return next
  }
}

function quoteName(sender: SenderListing): string {
  return sender.name === sender.dirName ? sender.name : `${JSON.stringify(sender.name)} (${sender.dirName})`
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
}

function iso(time: number | undefined): string | null {
  return time === undefined ? null : new Date(time).toISOString()
}

function plural(n: number, word: string, many = `${word}s`): string {
  return n === 1 ? word : many
}
