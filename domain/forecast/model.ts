import { FEATURE_COUNT, writeFeatures } from "./features.ts"
import { leastSquares } from "./leastSquares.ts"
import { quantileSorted, STEPS_PER_DAY } from "./series.ts"

/**
 * Direct multi-horizon linear model on log1p levels. For every horizon h (in steps) it predicts two
 * deviations from the last level: the level at t+h (the point forecast) and the maximum level over
 * (t, t+h] (the base of the provisioning bound). One least-squares fit serves all outputs.
 */
export interface LinearModel {
  readonly horizons: ReadonlyArray<number>
  /** FEATURE_COUNT rows × (2 × horizons) columns: weights[feature][output]. */
  readonly weights: ReadonlyArray<ReadonlyArray<number>>
  /** Per output, the range of the (winsorised) targets it was fitted on: predictions never leave it. */
  readonly bounds: ReadonlyArray<readonly [number, number]>
}

export interface FitOptions {
  readonly horizons: ReadonlyArray<number>
  /** Ridge strength in rows of evidence: the fit sits at the "last value" prior until the history outweighs it. */
  readonly priorRows: number
  /** Targets are clipped to this central share of their history, so one burst cannot steer the fit. */
  readonly winsorShare: number
  /** Origins older than this many steps are left out of the fit. */
  readonly maxRows: number
  /** Quantile fitted for the point outputs (0.5: the median, which is what a mean absolute error rewards). */
  readonly pointQuantile: number
  /** Quantile fitted for the maximum outputs: the base the headroom is added to. */
  readonly maxQuantile: number
}

export const pointOutput = (horizonIndex: number): number => 2 * horizonIndex
export const maxOutput = (horizonIndex: number): number => 2 * horizonIndex + 1

const IRLS_ROUNDS = 3

/**
 * Quantile regression by iteratively reweighted least squares: each round weights a row by the
 * pinball loss's slope over its last residual, which moves the fit toward the τ-quantile. The outputs
 * of one family (points, or maxima) share row weights — the mean over their residuals — so a round is
 * one least-squares fit. The ridge rows (after the first `observations`) keep weight one.
 */
const fitQuantile = (
  features: ReadonlyArray<ReadonlyArray<number>>,
  targets: ReadonlyArray<ReadonlyArray<number>>,
  observations: number,
  outputs: ReadonlyArray<number>,
  tau: number,
  weights: Array<Array<number>>
): void => {
  const slope = new Float64Array(observations)
  for (let round = 0; round < IRLS_ROUNDS; round++) {
    for (let i = 0; i < observations; i++) {
      const x = features[i] ?? []
      let sum = 0
      for (const o of outputs) {
        let fitted = 0
        for (let j = 0; j < FEATURE_COUNT; j++) fitted += (weights[j]?.[o] ?? 0) * (x[j] ?? 0)
        const r = (targets[i]?.[o] ?? 0) - fitted
        sum += r > 0 ? tau * r : (tau - 1) * r
      }
      slope[i] = sum / outputs.length
    }
    const floor = Math.max(1e-6, 0.1 * quantileSorted(slope.slice().sort(), 0.5))
    const x: Array<Array<number>> = []
    const y: Array<Array<number>> = []
    features.forEach((row, i) => {
      const w = i < observations ? Math.sqrt(1 / Math.max(floor, slope[i] ?? 0)) : 1
      x.push(row.map((v) => v * w))
      y.push(outputs.map((o) => (targets[i]?.[o] ?? 0) * w))
    })
    const fitted = leastSquares(x, y)
    fitted.forEach((column, j) => outputs.forEach((o, k) => {
      const row = weights[j]
      if (row) row[o] = column[k] ?? 0
    }))
  }
}

const writeTargets = (levels: Float64Array, t: number, horizons: ReadonlyArray<number>, out: Array<number>): void => {
  const last = levels[t] ?? 0
  horizons.forEach((h, k) => {
    let max = Number.NEGATIVE_INFINITY
    for (let j = 1; j <= h; j++) max = Math.max(max, levels[t + j] ?? 0)
    out[pointOutput(k)] = (levels[t + h] ?? 0) - last
    out[maxOutput(k)] = max - last
  })
}

const winsorize = (targets: Array<Array<number>>, outputs: number, share: number): Array<[number, number]> => {
  const column = new Float64Array(targets.length)
  const bounds: Array<[number, number]> = []
  for (let o = 0; o < outputs; o++) {
    targets.forEach((row, i) => (column[i] = row[o] ?? 0))
    column.sort()
    const low = quantileSorted(column, (1 - share) / 2)
    const high = quantileSorted(column, (1 + share) / 2)
    for (const row of targets) row[o] = Math.min(high, Math.max(low, row[o] ?? 0))
    bounds.push([low, high])
  }
  return bounds
}

/**
 * Fits on origins [from, count - max horizon) of `levels`, or returns undefined when fewer than a
 * handful of origins have an observed future. Features are standardised so the ridge prior weighs
 * every one alike; the weights returned apply to raw features.
 */
export const fitModel = (
  levels: Float64Array,
  count: number,
  stepOfDayAt: (t: number) => number,
  options: FitOptions
): LinearModel | undefined => {
  const longest = Math.max(...options.horizons)
  const outputs = 2 * options.horizons.length
  const to = count - longest
  const from = Math.max(Math.min(STEPS_PER_DAY / 24, to), to - options.maxRows)
  if (to - from < 8) return undefined
  const row = new Float64Array(FEATURE_COUNT)
  const features: Array<Array<number>> = []
  const targets: Array<Array<number>> = []
  for (let t = from; t < to; t++) {
    writeFeatures(levels, t, stepOfDayAt(t), row)
    features.push(Array.from(row))
    const target = new Array<number>(outputs)
    writeTargets(levels, t, options.horizons, target)
    targets.push(target)
  }
  const bounds = winsorize(targets, outputs, options.winsorShare)

  const mean = new Float64Array(FEATURE_COUNT)
  const sd = new Float64Array(FEATURE_COUNT)
  for (let j = 1; j < FEATURE_COUNT; j++) {
    let sum = 0
    let squares = 0
    for (const x of features) {
      const v = x[j] ?? 0
      sum += v
      squares += v * v
    }
    mean[j] = sum / features.length
    sd[j] = Math.sqrt(Math.max(0, squares / features.length - (mean[j] ?? 0) ** 2))
  }
  const standardise = (j: number, v: number): number => ((sd[j] ?? 0) > 1e-9 ? (v - (mean[j] ?? 0)) / (sd[j] ?? 1) : 0)
  for (const x of features) for (let j = 1; j < FEATURE_COUNT; j++) x[j] = standardise(j, x[j] ?? 0)
  const penalty = Math.sqrt(options.priorRows)
  for (let j = 1; j < FEATURE_COUNT; j++) {
    const prior = new Array<number>(FEATURE_COUNT).fill(0)
    prior[j] = penalty
    features.push(prior)
    targets.push(new Array<number>(outputs).fill(0))
  }

  const weights = leastSquares(features, targets)
  const observations = to - from
  const family = (output: (k: number) => number) => options.horizons.map((_, k) => output(k))
  fitQuantile(features, targets, observations, family(pointOutput), options.pointQuantile, weights)
  fitQuantile(features, targets, observations, family(maxOutput), options.maxQuantile, weights)
  const intercept = weights[0] ?? []
  for (let j = 1; j < FEATURE_COUNT; j++) {
    const w = weights[j] ?? []
    for (let o = 0; o < outputs; o++) {
      const raw = (sd[j] ?? 0) > 1e-9 ? (w[o] ?? 0) / (sd[j] ?? 1) : 0
      w[o] = raw
      intercept[o] = (intercept[o] ?? 0) - raw * (mean[j] ?? 0)
    }
  }
  return { horizons: options.horizons, weights, bounds }
}

/** The predicted deviation from the last level for one output. */
export const predictOutput = (model: LinearModel, row: Float64Array, output: number): number => {
  let sum = 0
  for (let j = 0; j < FEATURE_COUNT; j++) sum += (model.weights[j]?.[output] ?? 0) * (row[j] ?? 0)
  const [low, high] = model.bounds[output] ?? [0, 0]
  return Number.isFinite(sum) ? Math.min(high, Math.max(low, sum)) : 0
}
