/**
 * The one assembly of a courier, shared by the worker transport (input/transport.ts) and the
 * in-process stream (input/stream.ts): what the senders learn from the logger, the record parser,
 * the fan-out, and where warnings and the close report go.
 */
import type { DeliveryOptions } from '../config/delivery-options.js'
import { deliveryDefaults } from '../config/transport-options.js'
import type { LevelMap } from '../config/levels.js'
import type { Sender, SenderContext } from '../senders/sender.js'
import { closeReportNeedsTelling, describeCloseReport } from '../stats/close-report.js'
import type { CourierWarning } from '../stats/warner.js'
import { writeStderr } from '../stderr.js'
import { Courier, type CourierCloseReport } from './courier.js'
import { RecordParser } from './record.js'
import { RecordLog } from '../queue/record-log.js'

/** What the logger says about its lines (pino's config in a worker; the stream's own options in-process). */
export interface LoggerConfig {
  readonly levels: LevelMap
  readonly messageKey?: string | undefined
  readonly errorKey?: string | undefined
}

/** The courier's own options, as parsed by either entry. */
export interface CourierSettings extends DeliveryOptions {
  readonly closeTimeoutMs?: number | undefined
  readonly warnIntervalMs?: number | undefined
  /** Warnings and the close report go to stderr too. @default true */
  readonly stderr?: boolean | undefined
  readonly levelKey?: string | undefined
}

/** What every sender of the courier gets from its surroundings. */
export function senderContext(settings: CourierSettings, logger: LoggerConfig): SenderContext {
  return {
    // One log for the courier's queued senders: a line sent to several is kept once.
    recordLog: new RecordLog(),
    levels: logger.levels,
    defaults: deliveryDefaults(settings),
    // The logger's keys, for senders that read messages and errors (the webhook alert sender).
    ...(logger.messageKey ? { messageKey: logger.messageKey } : {}),
    ...(logger.errorKey ? { errorKey: logger.errorKey } : {}),
    ...(settings.levelKey ? { levelKey: settings.levelKey } : {}),
  }
}

/** The courier over built senders: the parser reads the logger's levels and keys; warnings go to `onWarning` (and stderr). */
export function assembleCourier(
  senders: readonly Sender[],
  settings: CourierSettings,
  logger: LoggerConfig,
  context: SenderContext,
  onWarning: (warning: CourierWarning) => void,
): Courier {
  const courier = new Courier({
    senders,
    ...(context.recordLog ? { recordLog: context.recordLog } : {}),
    parser: new RecordParser({
      levels: logger.levels,
      ...(settings.levelKey ? { levelKey: settings.levelKey } : {}),
      ...(logger.messageKey ? { messageKey: logger.messageKey } : {}),
    }),
    closeTimeoutMs: settings.closeTimeoutMs,
    warnIntervalMs: settings.warnIntervalMs,
  })
  courier.on('warning', (warning) => {
    if (settings.stderr !== false) writeStderr(warning.message)
    onWarning(warning)
  })
  return courier
}

/** Tells stderr what a close could not deliver (nothing when all went well). */
export function tellClose(report: CourierCloseReport, settings: CourierSettings): void {
  if (settings.stderr !== false && closeReportNeedsTelling(report)) writeStderr(describeCloseReport(report))
}
