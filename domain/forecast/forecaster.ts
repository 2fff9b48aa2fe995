import { Schema } from "effect"
import { baselines } from "./baselines.ts"
import { FEATURE_COUNT, recentVolatility, writeFeatures } from "./features.ts"
import { Headroom } from "./headroom.ts"
import { fitModel, maxOutput, pointOutput, predictOutput, type LinearModel } from "./model.ts"
import { ExpertSelector } from "./selector.ts"
import {
  fromLevel,
  horizonSteps,
  scaleOf,
  STEP_MINUTES,
  STEP_MS,
  STEPS_PER_DAY,
  toLevel
} from "./series.ts"

/** What `Forecaster` is, for the labels of the forecasts it issues. */
export const forecasterModel: string =
  "direct multi-horizon ridge regression (weighted normal equations, ml-matrix Cholesky) on log1p-level lag/window/day-before/daily-cycle features; " +
  "per-horizon point and window-max outputs fitted to quantiles by IRLS; upper bound: adaptive conformal headroom over the model's max or over a baseline, chosen online per horizon"

/**
 * The predictive scaling engine for one client and one metric. It is fed 5-minute buckets, refits its
 * model at most once per `refitEverySteps`, and answers with a point forecast and a provisioning bound
 * per horizon. It is mutable (one owner, e.g. a saga fiber, per instance) and round-trips through a
 * plain JSON value with `toState` / `Forecaster.fromState`.
 */
export const ForecasterConfig = Schema.Struct({
  horizonsMinutes: Schema.Array(Schema.Finite),
  /** The share of 5-minute steps whose demand may exceed the bound. */
  targetShortfall: Schema.Finite,
  /** The tier's default demand: the forecast before any history, and the unit of the early level scale. */
  priorLevel: Schema.Finite,
  refitEverySteps: Schema.Finite,
  minHistorySteps: Schema.Finite,
  historySteps: Schema.Finite,
  priorRows: Schema.Finite,
  winsorShare: Schema.Finite,
  pointQuantile: Schema.Finite,
  maxQuantile: Schema.Finite,
  headroomWindow: Schema.Finite,
  headroomGamma: Schema.Finite,
  /** How much the headroom widens with recent volatility: 0 = a fixed log margin, 1 = proportional. */
  volatilityExponent: Schema.Finite,
  priorMargin: Schema.Finite,
  /** Per-step decay of the experts' past losses when choosing which bound to provision with. */
  selectionDecay: Schema.Finite
})
export type ForecasterConfig = typeof ForecasterConfig.Type

export const defaultForecasterConfig: ForecasterConfig = {
  horizonsMinutes: [15, 30, 60],
  targetShortfall: 0.05,
  priorLevel: 1,
  refitEverySteps: STEPS_PER_DAY,
  minHistorySteps: 36,
  historySteps: 10 * STEPS_PER_DAY,
  priorRows: 1000,
  winsorShare: 1,
  pointQuantile: 0.5,
  maxQuantile: 0.8,
  headroomWindow: 7 * STEPS_PER_DAY,
  headroomGamma: 0.005,
  volatilityExponent: 0.5,
  priorMargin: 1,
  selectionDecay: 0.9975
}

const HeadroomStateSchema = Schema.Struct({
  alpha: Schema.Finite,
  errors: Schema.Array(Schema.Finite),
  open: Schema.NullOr(
    Schema.Struct({ base: Schema.Finite, sigma: Schema.Finite, margin: Schema.Finite, left: Schema.Finite })
  )
})

export const ForecasterState = Schema.Struct({
  version: Schema.Literal(2),
  config: ForecasterConfig,
  /** The raw history window, oldest first; `firstStep` is the absolute step of its first value. */
  values: Schema.Array(Schema.Finite),
  firstStep: Schema.Finite,
  /** Step of day of absolute step 0 (from the first timestamp seen, else 0). */
  dayOffset: Schema.Finite,
  lastAt: Schema.NullOr(Schema.Finite),
  scale: Schema.Finite,
  model: Schema.NullOr(
    Schema.Struct({
      horizons: Schema.Array(Schema.Finite),
      weights: Schema.Array(Schema.Array(Schema.Finite)),
      bounds: Schema.Array(Schema.Tuple([Schema.Finite, Schema.Finite]))
    })
  ),
  lastFitStep: Schema.NullOr(Schema.Finite),
  /** Per horizon, per expert (the model first, then the baselines): its headroom. */
  headroom: Schema.Array(Schema.Array(HeadroomStateSchema)),
  /** Per horizon, per expert: its decayed loss (see ExpertSelector). */
  selection: Schema.Array(Schema.Array(Schema.Finite))
})
export type ForecasterState = typeof ForecasterState.Type

export interface Bucket {
  readonly value: number
  /** Epoch milliseconds of the bucket; a jump of several steps forward-fills the missing buckets. */
  readonly at?: number
}

export interface HorizonForecast {
  readonly minutes: number
  /** Demand expected at the horizon. */
  readonly predicted: number
  /** A level that demand over the next `minutes` exceeds at about the target shortfall rate. */
  readonly upper: number
}

/** Expert 0 is the model's bound; the others are the baselines', calibrated the same way. */
const EXPERTS = 1 + baselines.length

/** Buckets that bridge a longer gap than this are not invented: the history restarts its level from the new value. */
const MAX_FILLED_STEPS = STEPS_PER_DAY

export class Forecaster {
  private values: Float64Array
  private levels: Float64Array
  private count = 0
  private firstStep = 0
  private dayOffset = 0
  private lastAt: number | null = null
  private scale: number
  private model: LinearModel | undefined
  private lastFitStep: number | null = null
  private readonly steps: ReadonlyArray<number>
  private readonly headroom: ReadonlyArray<ReadonlyArray<Headroom>>
  private readonly selectors: ReadonlyArray<ExpertSelector>
  private readonly row = new Float64Array(FEATURE_COUNT)
  readonly config: ForecasterConfig

  private constructor(config: ForecasterConfig, state?: ForecasterState) {
    this.config = config
    this.steps = config.horizonsMinutes.map(horizonSteps)
    this.values = new Float64Array(config.historySteps)
    this.levels = new Float64Array(config.historySteps)
    this.scale = state?.scale ?? Math.max(config.priorLevel, Number.MIN_VALUE)
    this.headroom = this.steps.map((span, k) =>
      Array.from(
        { length: EXPERTS },
        (_, e) =>
          new Headroom(
            {
              target: config.targetShortfall,
              span,
              window: config.headroomWindow,
              gamma: config.headroomGamma,
              priorMargin: config.priorMargin
            },
            state?.headroom[k]?.[e]
          )
      )
    )
    this.selectors = this.steps.map(
      (_, k) =>
        new ExpertSelector(
          { experts: EXPERTS, target: config.targetShortfall, decay: config.selectionDecay },
          state?.selection[k]
        )
    )
    if (state) {
      const kept = state.values.slice(-config.historySteps)
      this.values.set(kept)
      this.count = kept.length
      this.firstStep = state.firstStep + state.values.length - kept.length
      this.dayOffset = state.dayOffset
      this.lastAt = state.lastAt
      this.model = state.model ?? undefined
      this.lastFitStep = state.lastFitStep
      this.relevel()
    }
  }

  static make(config: Partial<ForecasterConfig> = {}): Forecaster {
    return new Forecaster({ ...defaultForecasterConfig, ...config })
  }

  /** Restores a forecaster from `toState()` output (after any JSON round trip); throws a SchemaError on bad input. */
  static fromState(json: unknown): Forecaster {
    const state = Schema.decodeUnknownSync(ForecasterState)(json)
    return new Forecaster(state.config, state)
  }

  /** Absolute number of buckets seen (including forward-filled ones). */
  get observed(): number {
    return this.firstStep + this.count
  }

  observe(bucket: Bucket): void {
    const value = Number.isFinite(bucket.value) ? Math.max(0, bucket.value) : this.lastValue()
    if (bucket.at !== undefined) {
      if (this.lastAt === null) {
        const minuteOfDay = Math.floor((bucket.at % 86_400_000) / 60_000)
        const offset = (Math.floor(minuteOfDay / STEP_MINUTES) - this.observed) % STEPS_PER_DAY
        this.dayOffset = offset < 0 ? offset + STEPS_PER_DAY : offset
      } else {
        const jump = Math.round((bucket.at - this.lastAt) / STEP_MS)
        if (jump <= 0) return
        for (let i = 1; i < Math.min(jump, MAX_FILLED_STEPS); i++) this.append(this.lastValue())
        if (jump > MAX_FILLED_STEPS) this.firstStep += jump - MAX_FILLED_STEPS
      }
      this.lastAt = bucket.at
    }
    this.append(value)
  }

  /** Refits when enough history has arrived since the last fit; returns whether it did. */
  refitIfDue(): boolean {
    const due =
      this.count >= this.config.minHistorySteps &&
      (this.lastFitStep === null || this.observed - this.lastFitStep >= this.config.refitEverySteps)
    if (!due) return false
    this.scale = scaleOf(this.values, 0, this.count, this.scale)
    this.relevel()
    for (const h of this.headroom.flat()) h.abandon()
    this.model = fitModel(this.levels, this.count, (t) => this.stepOfDay(t), {
      horizons: this.steps,
      priorRows: this.config.priorRows,
      winsorShare: this.config.winsorShare,
      pointQuantile: this.config.pointQuantile,
      maxQuantile: this.config.maxQuantile,
      maxRows: this.config.historySteps
    })
    this.lastFitStep = this.observed
    return true
  }

  /** Forecasts for the configured horizons, or for the given minutes (each mapped to the nearest configured horizon's bound). */
  forecast(minutes: ReadonlyArray<number> = this.config.horizonsMinutes): ReadonlyArray<HorizonForecast> {
    const t = this.count - 1
    if (this.model === undefined || t < 0) return minutes.map((m) => this.priorForecast(m))
    writeFeatures(this.levels, t, this.stepOfDay(t), this.row)
    const last = this.levels[t] ?? 0
    const sigma = this.sigma(t)
    return minutes.map((m) => {
      const k = this.nearestHorizon(m)
      const model = this.model as LinearModel
      const predicted = fromLevel(last + predictOutput(model, this.row, pointOutput(k)), this.scale)
      const expert = this.selectors[k]?.best() ?? 0
      const margin = this.headroom[k]?.[expert]?.margin() ?? this.config.priorMargin
      const bound = expert === 0 ? last + predictOutput(model, this.row, maxOutput(k)) + margin * sigma : this.baselineLevel(expert, t) + margin
      return { minutes: m, predicted, upper: Math.max(predicted, fromLevel(bound, this.scale)) }
    })
  }

  toState(): ForecasterState {
    return {
      version: 2,
      config: this.config,
      values: Array.from(this.values.subarray(0, this.count)),
      firstStep: this.firstStep,
      dayOffset: this.dayOffset,
      lastAt: this.lastAt,
      scale: this.scale,
      model: this.model
        ? {
            horizons: [...this.model.horizons],
            weights: this.model.weights.map((w) => [...w]),
            bounds: this.model.bounds.map(([low, high]) => [low, high] as const)
          }
        : null,
      lastFitStep: this.lastFitStep,
      headroom: this.headroom.map((experts) => experts.map((h) => h.toState())),
      selection: this.selectors.map((s) => s.toState())
    }
  }

  private append(value: number): void {
    if (this.count === this.values.length) this.dropOldestDay()
    const t = this.count++
    this.values[t] = value
    this.levels[t] = toLevel(value, this.scale)
    const level = this.levels[t] ?? 0
    this.headroom.forEach((experts, k) =>
      experts.forEach((h, e) => {
        const bound = h.openLevel()
        if (bound !== undefined) this.selectors[k]?.score(e, fromLevel(bound, this.scale), value)
        h.observe(level)
      })
    )
    if (this.model === undefined) return
    const step = this.observed - 1
    let written = false
    this.steps.forEach((span, k) => {
      if (step % span !== 0) return
      if (!written) writeFeatures(this.levels, t, this.stepOfDay(t), this.row)
      written = true
      const experts = this.headroom[k] ?? []
      const base = level + predictOutput(this.model as LinearModel, this.row, maxOutput(k))
      experts[0]?.openBound(base, this.sigma(t))
      for (let e = 1; e < experts.length; e++) experts[e]?.openBound(this.baselineLevel(e, t), 1)
    })
  }

  /** Expert `e` ≥ 1's base: its baseline over the raw history, on the level scale. */
  private baselineLevel(e: number, t: number): number {
    return toLevel(baselines[e - 1]?.at(this.values, t) ?? 0, this.scale)
  }

  private dropOldestDay(): void {
    const drop = Math.min(STEPS_PER_DAY, this.count)
    this.values.copyWithin(0, drop, this.count)
    this.levels.copyWithin(0, drop, this.count)
    this.count -= drop
    this.firstStep += drop
  }

  private relevel(): void {
    for (let i = 0; i < this.count; i++) this.levels[i] = toLevel(this.values[i] ?? 0, this.scale)
  }

  private lastValue(): number {
    return this.count > 0 ? (this.values[this.count - 1] ?? 0) : this.config.priorLevel
  }

  private stepOfDay(t: number): number {
    return (this.dayOffset + this.firstStep + t) % STEPS_PER_DAY
  }

  private sigma(t: number): number {
    return Math.max(0.02, recentVolatility(this.levels, t)) ** this.config.volatilityExponent
  }

  private nearestHorizon(minutes: number): number {
    let best = 0
    this.config.horizonsMinutes.forEach((m, k) => {
      if (Math.abs(m - minutes) < Math.abs((this.config.horizonsMinutes[best] ?? m) - minutes)) best = k
    })
    return best
  }

  /** Before the first fit: the recent mean shrunk toward the tier's default, with the prior margin on top. */
  private priorForecast(minutes: number): HorizonForecast {
    const recent = this.values.subarray(Math.max(0, this.count - 12), this.count)
    const weight = recent.length / (recent.length + 12)
    const mean = recent.length > 0 ? recent.reduce((s, v) => s + v, 0) / recent.length : 0
    const peak = recent.reduce((m, v) => Math.max(m, v), 0)
    const predicted = weight * mean + (1 - weight) * this.config.priorLevel
    const upper = fromLevel(toLevel(Math.max(predicted, peak), this.scale) + this.config.priorMargin, this.scale)
    return { minutes, predicted, upper }
  }
}
