import { z } from 'zod'
import type { CommonSenderOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { defineSinkType } from '../sink-type.js'

// Skeleton registered by the lead so the four backend senders can be built in parallel: replaced whole.

export interface KafkaSenderOptions extends CommonSenderOptions {
  url?: string
}

export const kafkaSenderOptionsSchema = z.strictObject({ ...commonSenderShape, url: z.string().optional() })

export class KafkaSender extends QueuedSender {
  constructor(options: KafkaSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(kafkaSenderOptionsSchema, options)
    const { url: _url, ...common } = options
    super(resolveSenderConfig(common, context, {}, 'kafka'), { deliver: () => Promise.reject(new Error('kafka: not built yet')) }, context)
  }
}

export const kafkaSinkType = defineSinkType({
  type: 'kafka',
  schema: kafkaSenderOptionsSchema as unknown as z.ZodType<KafkaSenderOptions>,
  queued: true,
  create: (options: KafkaSenderOptions, context) => new KafkaSender(options, context, CHECKED),
})

export function createKafkaSender(options: KafkaSenderOptions, context?: SenderContext): KafkaSender {
  return new KafkaSender(options, context)
}
