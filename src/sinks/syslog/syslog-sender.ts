import { z } from 'zod'
import type { CommonSenderOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { defineSinkType } from '../sink-type.js'

// Skeleton registered by the lead so the four backend senders can be built in parallel: replaced whole.

export interface SyslogSenderOptions extends CommonSenderOptions {
  url?: string
}

export const syslogSenderOptionsSchema = z.strictObject({ ...commonSenderShape, url: z.string().optional() })

export class SyslogSender extends QueuedSender {
  constructor(options: SyslogSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(syslogSenderOptionsSchema, options)
    const { url: _url, ...common } = options
    super(resolveSenderConfig(common, context, {}, 'syslog'), { deliver: () => Promise.reject(new Error('syslog: not built yet')) }, context)
  }
}

export const syslogSinkType = defineSinkType({
  type: 'syslog',
  schema: syslogSenderOptionsSchema as unknown as z.ZodType<SyslogSenderOptions>,
  queued: true,
  create: (options: SyslogSenderOptions, context) => new SyslogSender(options, context, CHECKED),
})

export function createSyslogSender(options: SyslogSenderOptions, context?: SenderContext): SyslogSender {
  return new SyslogSender(options, context)
}
