import type { KafkaMessage, KafkaProducer, ProducerFactory } from '../../../src/sinks/kafka/kafka-sink.js'

/** One `send` the stub saw. */
export interface StubSend {
  readonly topic: string
  readonly acks: number
  readonly timeout: number
  readonly compression: number | undefined
  readonly messages: readonly KafkaMessage[]
}

/**
 * What a send does: resolve (undefined), throw the error returned, or hang until `signal`-less
 * forever (`'hang'`). Called with the send's number (0 for the first) and the send itself.
 */
export type StubBehaviour = (index: number, send: StubSend) => unknown

/** A kafkajs producer stand-in: records every send and answers as told. */
export class StubProducer implements KafkaProducer {
  readonly sends: StubSend[] = []
  connects = 0
  disconnects = 0
  connectError: unknown
  /** connect() waits for it when set (a broker slow to answer). */
  connectGate: Promise<void> | undefined
  /** Never settles disconnect() (a broker that is gone). */
  hangOnDisconnect = false
  behaviour: StubBehaviour = () => undefined

  async connect(): Promise<void> {
    this.connects++
    await this.connectGate
    if (this.connectError !== undefined) throw this.connectError
  }

  send(record: { topic: string; acks: number; timeout: number; compression?: number; messages: KafkaMessage[] }): Promise<unknown> {
    const send: StubSend = { ...record, compression: record.compression, messages: [...record.messages] }
    const index = this.sends.length
    this.sends.push(send)
    const outcome = this.behaviour(index, send)
    if (outcome === 'hang') return new Promise(() => {})
    return outcome === undefined ? Promise.resolve([]) : Promise.reject(outcome as Error)
  }

  disconnect(): Promise<void> {
    this.disconnects++
    return this.hangOnDisconnect ? new Promise(() => {}) : Promise.resolve()
  }

  /** Every message value sent, as text, in order. */
  values(): string[] {
    return this.sends.flatMap((s) => s.messages.map((m) => (typeof m.value === 'string' ? m.value : m.value.toString('utf8'))))
  }
}

/** A factory handing out stub producers: `producers` lists every one made (a new one after a failed connect). */
export function stubFactory(setup: (producer: StubProducer, index: number) => void = () => {}): ProducerFactory & { producers: StubProducer[] } {
  const producers: StubProducer[] = []
  const factory = (): Promise<KafkaProducer> => {
    const producer = new StubProducer()
    setup(producer, producers.length)
    producers.push(producer)
    return Promise.resolve(producer)
  }
  return Object.assign(factory, { producers })
}
