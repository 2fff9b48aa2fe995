import { STEPS_PER_DAY, STEPS_PER_HOUR } from "./series.ts"

/**
 * One feature row describes the history up to origin `t` (inclusive) on the log1p level scale.
 * Everything but the level itself is a deviation from the last level, so a model whose coefficients
 * are shrunk to zero forecasts "the last value" — the prior every fit starts from.
 * Lags that reach before the start of the history read its first point, so a row exists from step 0.
 */
export const FEATURE_NAMES = [
  "constant",
  "level",
  "lag1",
  "lag2",
  "mean30m",
  "mean1h",
  "mean3h",
  "mean1d",
  "max1h",
  "min1h",
  "max1d",
  "sd1h",
  "hourBefore15m",
  "hourBefore30m",
  "dayBefore15m",
  "dayBefore60m",
  "dayBeforeNextHour",
  "daySin",
  "dayCos",
  "halfDaySin",
  "halfDayCos"
] as const

export const FEATURE_COUNT = FEATURE_NAMES.length

const at = (levels: Float64Array, i: number): number => levels[i < 0 ? 0 : i] ?? 0

const windowMean = (levels: Float64Array, from: number, to: number): number => {
  let sum = 0
  for (let i = from; i <= to; i++) sum += at(levels, i)
  return sum / (to - from + 1)
}

const windowMax = (levels: Float64Array, from: number, to: number): number => {
  let max = Number.NEGATIVE_INFINITY
  for (let i = from; i <= to; i++) max = Math.max(max, at(levels, i))
  return max
}

const windowMin = (levels: Float64Array, from: number, to: number): number => {
  let min = Number.POSITIVE_INFINITY
  for (let i = from; i <= to; i++) min = Math.min(min, at(levels, i))
  return min
}

const windowSd = (levels: Float64Array, from: number, to: number): number => {
  const mean = windowMean(levels, from, to)
  let sum = 0
  for (let i = from; i <= to; i++) sum += (at(levels, i) - mean) ** 2
  return Math.sqrt(sum / (to - from + 1))
}

/**
 * Writes the features of origin `t` into `row` (length FEATURE_COUNT) without allocating.
 * `stepOfDay` is the position of step `t` in its day (0..287): from timestamps when the series has
 * them, else the step count, which still lets the model learn a daily cycle of unknown phase.
 */
export const writeFeatures = (levels: Float64Array, t: number, stepOfDay: number, row: Float64Array): void => {
  const last = at(levels, t)
  const hour = STEPS_PER_HOUR
  const day = STEPS_PER_DAY
  const angle = (2 * Math.PI * stepOfDay) / day
  row[0] = 1
  row[1] = last
  row[2] = at(levels, t - 1) - last
  row[3] = at(levels, t - 2) - last
  row[4] = windowMean(levels, t - 5, t) - last
  row[5] = windowMean(levels, t - hour + 1, t) - last
  row[6] = windowMean(levels, t - 3 * hour + 1, t) - last
  row[7] = windowMean(levels, t - day + 1, t) - last
  row[8] = windowMax(levels, t - hour + 1, t) - last
  row[9] = windowMin(levels, t - hour + 1, t) - last
  row[10] = windowMax(levels, t - day + 1, t) - last
  row[11] = windowSd(levels, t - hour + 1, t)
  row[12] = at(levels, t + 3 - hour) - last
  row[13] = at(levels, t + 6 - hour) - last
  row[14] = at(levels, t + 3 - day) - last
  row[15] = at(levels, t + hour - day) - last
  row[16] = windowMean(levels, t + 1 - day, t + hour - day) - last
  row[17] = Math.sin(angle)
  row[18] = Math.cos(angle)
  row[19] = Math.sin(2 * angle)
  row[20] = Math.cos(2 * angle)
}

/** Recent volatility of the level: mean absolute step change over the last three hours. */
export const recentVolatility = (levels: Float64Array, t: number): number => {
  const from = Math.max(1, t - 3 * STEPS_PER_HOUR + 1)
  if (t < from) return 0
  let sum = 0
  for (let i = from; i <= t; i++) sum += Math.abs(at(levels, i) - at(levels, i - 1))
  return sum / (t - from + 1)
}
