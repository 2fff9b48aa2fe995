import { Schema } from "effect"

/** A 60-minute forecast waiting for the demand it predicted. */
const Pending = Schema.Struct({ due: Schema.Finite, predicted: Schema.Finite, upper: Schema.Finite, lastValue: Schema.Finite })
/** A scored forecast: the model's and the last value's absolute errors, and whether demand exceeded the bound. */
const Scored = Schema.Struct({ modelError: Schema.Finite, lastValueError: Schema.Finite, upper: Schema.Finite, actual: Schema.Finite })

export const QualityState = Schema.Struct({ pending: Schema.Array(Pending), scored: Schema.Array(Scored) })
export type QualityState = typeof QualityState.Type

export const emptyQuality: QualityState = { pending: [], scored: [] }

/** A day of 5-minute steps: long enough to judge, short enough to follow a change. */
export const scoredWindow = 288

/** Records a forecast made at `origin` for `origin + horizonMs`, with the value the last-value forecast would use. */
export const recordForecast = (
  state: QualityState,
  forecast: { readonly origin: number; readonly horizonMs: number; readonly predicted: number; readonly upper: number; readonly lastValue: number }
): QualityState => ({
  ...state,
  pending: [...state.pending, { due: forecast.origin + forecast.horizonMs, predicted: forecast.predicted, upper: forecast.upper, lastValue: forecast.lastValue }]
})

/** Scores the forecasts that were due at `at` against the demand seen then. */
export const observeDemand = (state: QualityState, at: number, actual: number): QualityState => {
  const due = state.pending.filter((p) => p.due <= at)
  if (due.length === 0) return state
  const scored = due
    .filter((p) => p.due === at)
    .map((p) => ({ modelError: Math.abs(p.predicted - actual), lastValueError: Math.abs(p.lastValue - actual), upper: p.upper, actual }))
  return { pending: state.pending.filter((p) => p.due > at), scored: [...state.scored, ...scored].slice(-scoredWindow) }
}

/**
 * Mean errors, mean demand, shortfall rate (demand above the bound) and relative slack (Σ(P − y)+ / ΣP) over
 * the scored window, or over its newest `last` steps.
 */
export const qualityOf = (state: QualityState, last: number = scoredWindow) => {
  const scored = state.scored.slice(-last)
  const n = scored.length
  if (n === 0) return { modelError: 0, lastValueError: 0, meanDemand: 0, shortfall: 0, slack: 0, scoredSteps: 0 }
  let model = 0
  let lastValue = 0
  let short = 0
  let unused = 0
  let provided = 0
  let demand = 0
  for (const s of scored) {
    demand += s.actual
    model += s.modelError
    lastValue += s.lastValueError
    if (s.actual > s.upper) short++
    unused += Math.max(0, s.upper - s.actual)
    provided += s.upper
  }
  return {
    modelError: model / n,
    lastValueError: lastValue / n,
    meanDemand: demand / n,
    shortfall: short / n,
    slack: provided > 0 ? unused / provided : 0,
    scoredSteps: n
  }
}
