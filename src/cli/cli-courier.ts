/**
 * The courier of the CLI commands: the same assembly as the transport and the in-process stream
 * (input/assemble.ts) over the built-in senders, with the `block` overflow policy allowed (a pipe
 * waits, an app's logger must not) and the logger settings coming from flags.
 */
import { ConfigError } from '../config/config-error.js'
import { LevelMap } from '../config/levels.js'
import { assembleCourier, senderContext } from '../input/assemble.js'
import type { Courier } from '../input/courier.js'
import { QueuedSender } from '../senders/queued-sender.js'
import type { Sender } from '../senders/sender.js'
import { createBuiltinSender, prefixed } from '../sinks/registry.js'
import type { RecordObserver } from '../stats/ledger.js'
import type { CliCourierOptions } from './cli-options.js'

/**
 * Builds the senders and the courier. `extra.observer` follows every record (redrive uses it to
 * know what went); `extra.stderr: false` keeps the courier's warnings off stderr (the live status
 * prints them itself). Throws a ConfigError naming `senders[i]…` for a sender that cannot be built
 * (an unknown level name, a `module` sender: the CLI builds senders synchronously).
 */
export function createCliCourier(options: CliCourierOptions, extra: { observer?: RecordObserver; stderr?: boolean } = {}): Courier {
  const { transport } = options
  const settings = { ...transport, stderr: extra.stderr ?? transport.stderr }
  const logger = { levels: new LevelMap(options.levels), messageKey: options.messageKey }
  const context = senderContext(settings, logger)
  if (extra.observer) context.observer = extra.observer
  const senders: Sender[] = []
  try {
    transport.senders.forEach((spec, index) => {
      if (spec.type === 'module') {
        throw new ConfigError(
          `pino-courier: invalid options: senders[${index}].type: "module" senders are not available from the command line (use a built-in type)`,
          { paths: [`senders[${index}].type`] },
        )
      }
      try {
        senders.push(createBuiltinSender(spec, context))
      } catch (error) {
        throw prefixed(error, `senders[${index}]`)
      }
    })
  } catch (error) {
    // Those already built may hold a file or a socket: let them go before the command exits 2.
    for (const sender of senders) void sender.close({ timeoutMs: 100 }).catch(() => undefined)
    throw error
  }
  return assembleCourier(senders, settings, logger, context, () => undefined)
}

/**
 * Whether some sender under the `block` policy holds more than its queue bounds. A sender stops
 * pausing the reader once its block window (queue.maxBlockMs) is over, and would then drop: a
 * command reading a pipe or a file checks this and keeps waiting instead.
 */
export function overQueueBounds(courier: Courier): boolean {
  for (const sender of courier.senders) {
    if (!(sender instanceof QueuedSender)) continue
    const { queue } = sender.options
    if (queue.overflow !== 'block') continue
    const stats = sender.stats()
    if (stats.queued > queue.maxRecords || stats.queuedBytes > queue.maxBytes) return true
  }
  return false
}
