import { z } from 'zod'
import type { CommonSenderOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { defineSinkType } from '../sink-type.js'

// Skeleton registered by the lead so the four backend senders can be built in parallel: replaced whole.

export interface NatsSenderOptions extends CommonSenderOptions {
  url?: string
}

export const natsSenderOptionsSchema = z.strictObject({ ...commonSenderShape, url: z.string().optional() })

export class NatsSender extends QueuedSender {
  constructor(options: NatsSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(natsSenderOptionsSchema, options)
    const { url: _url, ...common } = options
    super(resolveSenderConfig(common, context, {}, 'nats'), { deliver: () => Promise.reject(new Error('nats: not built yet')) }, context)
  }
}

export const natsSinkType = defineSinkType({
  type: 'nats',
  schema: natsSenderOptionsSchema as unknown as z.ZodType<NatsSenderOptions>,
  queued: true,
  create: (options: NatsSenderOptions, context) => new NatsSender(options, context, CHECKED),
})

export function createNatsSender(options: NatsSenderOptions, context?: SenderContext): NatsSender {
  return new NatsSender(options, context)
}
