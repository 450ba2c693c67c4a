import type { z } from 'zod'
import type { DeliveryOptions } from '../config/delivery-options.js'
import type { Sender, SenderContext } from '../senders/sender.js'

/**
 * One kind of sender the transport options can name (`{ type: 'http', … }`): its options' schema, its
 * delivery defaults and how to build it. Each lives in its sink's folder; sinks/registry.ts lists them,
 * and the transport's schema, the in-process stream and the factories all read that list.
 */
export interface SinkType<Type extends string = string, Options extends object = object> {
  /** The `type` of a sender spec. */
  readonly type: Type
  /** The sender's options, `type` aside: a strict object, so a misspelt option is an error. */
  readonly schema: z.ZodType<Options>
  /**
   * Delivery defaults of this type that differ from the general ones (config/defaults.ts). They sit
   * under the transport's top-level options and the sender's own.
   */
  readonly defaults?: DeliveryOptions
  /**
   * Whether its records wait in a queue with the delivery options (`queue`, `spool`, …). The webhook
   * alert sender collects alerts instead: the transport's top-level queue rules do not apply to it.
   */
  readonly queued: boolean
  /** Builds the sender from options its schema accepted: they are not checked again. */
  create(options: Options, context: SenderContext): Sender
}

/** Declares a sink type (keeps its literal `type` and options type for the spec union). */
export function defineSinkType<Type extends string, Options extends object>(definition: SinkType<Type, Options>): SinkType<Type, Options> {
  return Object.freeze(definition)
}
