import { CholeskyDecomposition, Matrix, solve } from "ml-matrix"
import { FEATURE_COUNT, writeFeatures } from "./features.ts"
import { quantileSorted, STEPS_PER_DAY } from "./series.ts"

/**
 * Direct multi-horizon linear model on log1p levels, ridge-regularised toward "the last value". For
 * every horizon h (in steps) it predicts two deviations from the last level: the level at t+h (the
 * point forecast, fitted to the `pointQuantile`) and the maximum level over (t, t+h] (the base of the
 * provisioning bound, fitted to the `maxQuantile`). One least-squares fit of all outputs starts a few
 * rounds of reweighted fits, one per family of outputs.
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
 * Weighted least squares, min Σᵢ wᵢ ‖xᵢW − yᵢ‖² for W (columns × outputs), by the normal equations
 * XᵀWX · W = XᵀWY and ml-matrix's Cholesky factorisation: the designs are a few thousand rows by a couple
 * of dozen standardised, ridge-padded columns, so XᵀX is small and well conditioned. A tiny jitter on
 * its diagonal gives an all-zero column weight zero; a Gram matrix that still is not positive definite
 * falls back to ml-matrix's SVD solve.
 */
// Not ml-regression-multivariate-linear: it takes no row weights, and fitting it on row-scaled copies made a 30-day refit 2.4× slower (p50 170 against 70 ms).
export const weightedLeastSquares = (x: Matrix, y: Matrix, rowWeights?: ArrayLike<number>): Matrix => {
  const gram = x.transpose().mmulByTranspose(rowWeights)
  for (let j = 0; j < gram.rows; j++) gram.set(j, j, gram.get(j, j) + 1e-9)
  const moment = x.transposeMultiply(rowWeights === undefined ? y : y.clone().mulColumnVector(rowWeights))
  const cholesky = new CholeskyDecomposition(gram)
  return cholesky.isPositiveDefinite() ? cholesky.solve(moment) : solve(gram, moment, true)
}

/**
 * Quantile regression by iteratively reweighted least squares: each round weights a row by the
 * pinball loss's slope over its last residual, which moves the fit toward the τ-quantile. The outputs
 * of one family (points, or maxima) share row weights — the mean over their residuals — so a round is
 * one least-squares fit. The ridge rows (after the first `observations`) keep weight one.
 */
const fitQuantile = (
  design: Matrix,
  targets: Matrix,
  observations: number,
  outputs: ReadonlyArray<number>,
  tau: number,
  weights: Matrix
): void => {
  const family = targets.subMatrixColumn(outputs)
  const slope = new Float64Array(observations)
  const rowWeights = new Float64Array(design.rows).fill(1)
  for (let round = 0; round < IRLS_ROUNDS; round++) {
    const fitted = design.mmul(weights.subMatrixColumn(outputs))
    for (let i = 0; i < observations; i++) {
      let sum = 0
      for (let k = 0; k < outputs.length; k++) {
        const r = family.get(i, k) - fitted.get(i, k)
        sum += r > 0 ? tau * r : (tau - 1) * r
      }
      slope[i] = sum / outputs.length
    }
    const floor = Math.max(1e-6, 0.1 * quantileSorted(slope.slice().sort(), 0.5))
    for (let i = 0; i < observations; i++) rowWeights[i] = 1 / Math.max(floor, slope[i] ?? 0)
    const solved = weightedLeastSquares(design, family, rowWeights)
    outputs.forEach((o, k) => weights.setColumn(o, solved.getColumn(k)))
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

/** Clips each output's first `observations` targets to the central `share` of their values. */
const winsorize = (targets: Matrix, observations: number, share: number): Array<[number, number]> => {
  const column = new Float64Array(observations)
  const bounds: Array<[number, number]> = []
  for (let o = 0; o < targets.columns; o++) {
    for (let i = 0; i < observations; i++) column[i] = targets.get(i, o)
    column.sort()
    const low = quantileSorted(column, (1 - share) / 2)
    const high = quantileSorted(column, (1 + share) / 2)
    for (let i = 0; i < observations; i++) targets.set(i, o, Math.min(high, Math.max(low, targets.get(i, o))))
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
  const observations = to - from
  // One row per origin, then one ridge row per non-constant feature (its target: zero deviation).
  const design = new Matrix(observations + FEATURE_COUNT - 1, FEATURE_COUNT)
  const targets = new Matrix(design.rows, outputs)
  const row = new Float64Array(FEATURE_COUNT)
  const target = new Array<number>(outputs)
  for (let i = 0; i < observations; i++) {
    writeFeatures(levels, from + i, stepOfDayAt(from + i), row)
    design.setRow(i, row)
    writeTargets(levels, from + i, options.horizons, target)
    targets.setRow(i, target)
  }
  const bounds = winsorize(targets, observations, options.winsorShare)

  const mean = new Float64Array(FEATURE_COUNT)
  const sd = new Float64Array(FEATURE_COUNT)
  for (let j = 1; j < FEATURE_COUNT; j++) {
    let sum = 0
    let squares = 0
    for (let i = 0; i < observations; i++) {
      const v = design.get(i, j)
      sum += v
      squares += v * v
    }
    mean[j] = sum / observations
    sd[j] = Math.sqrt(Math.max(0, squares / observations - (mean[j] ?? 0) ** 2))
  }
  const standardise = (j: number, v: number): number => ((sd[j] ?? 0) > 1e-9 ? (v - (mean[j] ?? 0)) / (sd[j] ?? 1) : 0)
  for (let i = 0; i < observations; i++) for (let j = 1; j < FEATURE_COUNT; j++) design.set(i, j, standardise(j, design.get(i, j)))
  const penalty = Math.sqrt(options.priorRows)
  for (let j = 1; j < FEATURE_COUNT; j++) design.set(observations + j - 1, j, penalty)

  const fitted = weightedLeastSquares(design, targets)
  const family = (output: (k: number) => number) => options.horizons.map((_, k) => output(k))
  fitQuantile(design, targets, observations, family(pointOutput), options.pointQuantile, fitted)
  fitQuantile(design, targets, observations, family(maxOutput), options.maxQuantile, fitted)
  const weights = fitted.to2DArray()
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
