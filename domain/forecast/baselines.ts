import { quantileSorted, STEPS_PER_DAY, STEPS_PER_HOUR } from "./series.ts"

/**
 * Simple forecasts the forecaster must beat, measured in the same run: each is both a point forecast
 * for every horizon and the base of a provision (calibrated by the same headroom as the forecaster).
 */
export interface Baseline {
  readonly name: string
  /** The baseline's value from the history values[0..t]. */
  readonly at: (values: Float64Array, t: number) => number
}

const lastValue: Baseline = { name: "lastValue", at: (values, t) => values[t] ?? 0 }

const mean1h: Baseline = {
  name: "mean1h",
  at: (values, t) => {
    const from = Math.max(0, t - STEPS_PER_HOUR + 1)
    let sum = 0
    for (let i = from; i <= t; i++) sum += values[i] ?? 0
    return sum / (t - from + 1)
  }
}

const max24h: Baseline = {
  name: "max24h",
  at: (values, t) => {
    let max = 0
    for (let i = Math.max(0, t - STEPS_PER_DAY + 1); i <= t; i++) max = Math.max(max, values[i] ?? 0)
    return max
  }
}

const p95of24h: Baseline = {
  name: "p95of24h",
  at: (values, t) => quantileSorted(values.slice(Math.max(0, t - STEPS_PER_DAY + 1), t + 1).sort(), 0.95)
}

export const baselines: ReadonlyArray<Baseline> = [lastValue, mean1h, max24h, p95of24h]
