import { z } from 'zod'
import type { CommonSenderOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { defineSinkType } from '../sink-type.js'

// Skeleton registered by the lead so the four backend senders can be built in parallel: replaced whole.

export interface RedisSenderOptions extends CommonSenderOptions {
  url?: string
}

export const redisSenderOptionsSchema = z.strictObject({ ...commonSenderShape, url: z.string().optional() })

export class RedisSender extends QueuedSender {
  constructor(options: RedisSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(redisSenderOptionsSchema, options)
    const { url: _url, ...common } = options
    super(resolveSenderConfig(common, context, {}, 'redis'), { deliver: () => Promise.reject(new Error('redis: not built yet')) }, context)
  }
}

export const redisSinkType = defineSinkType({
  type: 'redis',
  schema: redisSenderOptionsSchema as unknown as z.ZodType<RedisSenderOptions>,
  queued: true,
  create: (options: RedisSenderOptions, context) => new RedisSender(options, context, CHECKED),
})

export function createRedisSender(options: RedisSenderOptions, context?: SenderContext): RedisSender {
  return new RedisSender(options, context)
}
