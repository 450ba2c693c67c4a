/**
 * What the OpenTelemetry bridge keeps between stats snapshots: the counters' running totals (never
 * going down), the latest snapshot for the up-down counters, and each histogram's last state to
 * record only what is new.
 */
import type { CourierStats } from '../input/courier.js'
import { DROP_REASONS, type SenderStats } from '../stats/delivery-stats.js'
import type { Histogram } from '../stats/timings.js'
import type { OtelApi, OtelAttributes, OtelBatchObservableResult, OtelHistogram, OtelMeter, OtelObservable } from './otel-api.js'
import { histogramDelta, representativeObservations, scaledBounds } from './otel-histogram.js'
import { CAPACITY, COUNTERS, DROPPED, LEVELS, MALFORMED, TIMINGS, type TimingInstrument } from './otel-instruments.js'
import { senderLabels } from './prometheus-text.js'

/** Settings of {@link OtelStatsState}. */
export interface OtelStateSettings {
  readonly prefix: string
  readonly attributes: OtelAttributes
  readonly queueCapacities: Readonly<Record<string, number>>
}

/**
 * Running totals of cumulative counters read from snapshots. A counter that went down between two
 * snapshots counts again from zero (a sender started again, the way Prometheus reads a reset): its
 * new value is added, so the total never goes backwards.
 */
export class MonotoneTotals {
  readonly #last = new Map<string, number>()
  readonly #total = new Map<string, number>()

  /** Takes the counter's new reading; a value that is not a count (a custom sender's gap) is ignored. */
  update(key: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return
    const last = this.#last.get(key) ?? 0
    const total = this.#total.get(key) ?? 0
    this.#total.set(key, value >= last ? total + (value - last) : total + value)
    this.#last.set(key, value)
  }

  get(key: string): number | undefined {
    return this.#total.get(key)
  }
}

export class OtelStatsState {
  readonly #settings: OtelStateSettings
  readonly #counters: OtelObservable[]
  readonly #dropped: OtelObservable
  readonly #malformed: OtelObservable
  readonly #levels: OtelObservable[]
  readonly #capacity: OtelObservable
  readonly #totals = new MonotoneTotals()
  /** By timing field; their boundaries advice is the senders' fixed bounds (src/stats/timings.ts). */
  readonly #histograms: ReadonlyMap<TimingInstrument['field'], OtelHistogram>
  /** Each sender's timings at the last snapshot, by label and field. */
  readonly #lastTimings = new Map<string, Histogram>()
  #latest: { stats: CourierStats; labels: string[] } | undefined

  constructor(meter: OtelMeter, valueType: OtelApi['ValueType'], settings: OtelStateSettings) {
    this.#settings = settings
    const counter = (i: { suffix: string; unit: string; description: string }): OtelObservable =>
      meter.createObservableCounter(this.#name(i.suffix), { unit: i.unit, description: i.description, valueType: valueType.INT })
    const upDown = (i: { suffix: string; unit: string; description: string }): OtelObservable =>
      meter.createObservableUpDownCounter(this.#name(i.suffix), { unit: i.unit, description: i.description, valueType: valueType.INT })
    this.#counters = COUNTERS.map(counter)
    this.#dropped = counter(DROPPED)
    this.#malformed = counter(MALFORMED)
    this.#levels = LEVELS.map(upDown)
    this.#capacity = upDown(CAPACITY)
    this.#histograms = new Map(
      TIMINGS.map((t) => [
        t.field,
        meter.createHistogram(this.#name(t.suffix), {
          unit: t.unit,
          description: t.description,
          valueType: valueType.DOUBLE,
          advice: { explicitBucketBoundaries: scaledBounds(t.bounds, t.scale) },
        }),
      ]),
    )
  }

  /** Every observable instrument, for the batch callback's registration. */
  get observables(): readonly OtelObservable[] {
    return [...this.#counters, this.#dropped, this.#malformed, ...this.#levels, this.#capacity]
  }

  /** Takes a snapshot: counter totals move on, histograms get the observations new since the last one. */
  update(stats: CourierStats): void {
    const senders = Array.isArray(stats?.senders) ? stats.senders : []
    const labels = senderLabels(senders)
    senders.forEach((s, i) => {
      const label = labels[i] as string
      COUNTERS.forEach((c) => this.#totals.update(`${label}\0${c.suffix}`, c.value(s)))
      const dropped = (s.dropped ?? {}) as Partial<Record<string, number>>
      for (const reason of DROP_REASONS) this.#totals.update(`${label}\0dropped\0${reason}`, dropped[reason] ?? 0)
      this.#recordTimings(label, s)
    })
    this.#totals.update('\0malformed', stats?.malformed)
    this.#latest = { stats: { ...stats, senders }, labels }
  }

  /** Reports the latest snapshot to a collection. */
  observe(result: OtelBatchObservableResult): void {
    const latest = this.#latest
    if (!latest) return
    const base = this.#settings.attributes
    latest.stats.senders.forEach((s, i) => {
      const label = latest.labels[i] as string
      const attributes = { ...base, sender: label }
      COUNTERS.forEach((c, j) => {
        const total = this.#totals.get(`${label}\0${c.suffix}`)
        if (total !== undefined) result.observe(this.#counters[j] as OtelObservable, total, attributes)
      })
      for (const reason of DROP_REASONS) {
        const total = this.#totals.get(`${label}\0dropped\0${reason}`)
        if (total !== undefined) result.observe(this.#dropped, total, { ...attributes, reason })
      }
      LEVELS.forEach((l, j) => {
        const value = l.value(s)
        if (typeof value === 'number' && Number.isFinite(value)) result.observe(this.#levels[j] as OtelObservable, value, attributes)
      })
      // The stats carry it (built-in senders, through a transport too); the option, when given, says
      // it for stats that do not (a custom sender).
      const capacities = this.#settings.queueCapacities
      const capacity = Object.hasOwn(capacities, label) ? capacities[label] : s.queueCapacity
      if (typeof capacity === 'number' && Number.isFinite(capacity)) result.observe(this.#capacity, capacity, attributes)
    })
    const malformed = this.#totals.get('\0malformed')
    if (malformed !== undefined) result.observe(this.#malformed, malformed, { ...base })
  }

  #recordTimings(label: string, s: SenderStats): void {
    // A custom sender's stats() may have no timings, or not all of them.
    const timings = s.timings as Partial<Record<TimingInstrument['field'], Histogram>> | undefined
    if (typeof timings !== 'object' || timings === null) return
    for (const timing of TIMINGS) {
      const next = timings[timing.field]
      if (next === undefined) continue
      const key = `${label}\0${timing.field}`
      const delta = histogramDelta(this.#lastTimings.get(key), next)
      if (delta === undefined) continue
      // A copy: a custom sender may hand out one histogram object, updated in place, from every stats().
      this.#lastTimings.set(key, { bounds: [...next.bounds], counts: [...next.counts], sum: next.sum, count: next.count })
      if (!delta.counts.some((n) => n > 0)) continue
      const histogram = this.#histograms.get(timing.field) as OtelHistogram
      const attributes = { ...this.#settings.attributes, sender: label }
      for (const { value, count } of representativeObservations(delta, timing.scale)) {
        for (let n = 0; n < count; n++) histogram.record(value, attributes)
      }
    }
  }

  #name(suffix: string): string {
    return `${this.#settings.prefix}.${suffix}`
  }
}
