import { baselines } from "./baselines.ts"
import { Forecaster, type ForecasterConfig } from "./forecaster.ts"
import { Headroom } from "./headroom.ts"
import { CapacityTally, RelativeError, type Capacity } from "./metrics.ts"
import { fromLevel, horizonSteps, scaleOf, STEP_MS, STEPS_PER_DAY, STEPS_PER_HOUR, toLevel } from "./series.ts"

/**
 * The evaluation protocol of the traces README, over one series on the 5-minute grid: the first half
 * is history, every point of the second half is a forecast origin that sees only the data up to it,
 * and a provision is set every hour for the next hour. Baselines are run alongside, each with its own
 * headroom learned the same way.
 */
export interface BacktestOptions {
  readonly targetShortfall: number
  readonly horizonsMinutes: ReadonlyArray<number>
  /** Epoch milliseconds of the first point, when the series has timestamps (for calendar features). */
  readonly start?: number
  readonly config?: Partial<ForecasterConfig>
}

export interface MethodScore {
  /** Relative MAE against the last value, keyed by horizon minutes. */
  readonly relMae: Readonly<Record<string, number>>
  readonly capacity: Capacity
}

export interface SeriesScore extends MethodScore {
  readonly baselines: Readonly<Record<string, MethodScore>>
}

/** The forecaster starts fitting this long before the scored half, so its headroom has seen errors by then. */
const WARM_UP_STEPS = 2 * STEPS_PER_DAY

/** Why a series cannot be scored, or undefined when it can. */
export const unscorable = (values: Float64Array): string | undefined => {
  if (values.length < 4 * STEPS_PER_HOUR) return "too short"
  const scored = values.subarray(Math.floor(values.length / 2))
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of scored) {
    if (Number.isFinite(v)) {
      min = Math.min(min, v)
      max = Math.max(max, v)
    }
  }
  if (min > max) return "empty in the scored half"
  return min === max ? "constant in the scored half" : undefined
}

export const backtestSeries = (values: Float64Array, options: BacktestOptions): SeriesScore => {
  const n = values.length
  const half = Math.floor(n / 2)
  const provisionHorizon = horizonSteps(60)
  const steps = options.horizonsMinutes.map(horizonSteps)
  const forecaster = Forecaster.make({
    ...options.config,
    horizonsMinutes: [...options.horizonsMinutes],
    targetShortfall: options.targetShortfall
  })
  const provisionIndex = options.horizonsMinutes.indexOf(60)
  const scale = scaleOf(values, 0, half, 1)
  const errors = steps.map(() => new RelativeError())
  const tally = new CapacityTally()
  const baselineRuns = baselines.map((baseline) => ({
    baseline,
    errors: steps.map(() => new RelativeError()),
    tally: new CapacityTally(),
    headroom: new Headroom({
      target: options.targetShortfall,
      span: provisionHorizon,
      window: forecaster.config.headroomWindow,
      gamma: forecaster.config.headroomGamma,
      priorMargin: forecaster.config.priorMargin
    })
  }))

  for (let t = 0; t < n; t++) {
    const y = values[t] ?? 0
    forecaster.observe(options.start === undefined ? { value: y } : { value: y, at: options.start + t * STEP_MS })
    if (t >= half - WARM_UP_STEPS) forecaster.refitIfDue()
    const hourOrigin = (t - half) % provisionHorizon === 0 && t + provisionHorizon < n
    for (const run of baselineRuns) {
      run.headroom.observe(toLevel(y, scale))
      const base = run.baseline.at(values, t)
      if (t >= half) {
        steps.forEach((h, k) => {
          if (t + h < n) run.errors[k]?.add(base, y, values[t + h] ?? 0)
        })
      }
      if (hourOrigin) {
        const provision = fromLevel(run.headroom.openBound(toLevel(base, scale), 1), scale)
        if (t >= half) run.tally.add(provision, values, t + 1, t + 1 + provisionHorizon)
      }
    }
    if (t < half) continue
    const forecasts = forecaster.forecast()
    steps.forEach((h, k) => {
      if (t + h < n) errors[k]?.add(forecasts[k]?.predicted ?? y, y, values[t + h] ?? 0)
    })
    if (hourOrigin) tally.add(forecasts[provisionIndex]?.upper ?? y, values, t + 1, t + 1 + provisionHorizon)
  }

  const relMae = (list: ReadonlyArray<RelativeError>) =>
    Object.fromEntries(options.horizonsMinutes.map((m, k) => [String(m), list[k]?.value() ?? Number.NaN]))
  return {
    relMae: relMae(errors),
    capacity: tally.result(options.targetShortfall),
    baselines: Object.fromEntries(
      baselineRuns.map((run) => [
        run.baseline.name,
        { relMae: relMae(run.errors), capacity: run.tally.result(options.targetShortfall) }
      ])
    )
  }
}
