/** The 5-minute grid and the small order statistics the forecaster and the backtest share. */

export const STEP_MINUTES = 5
export const STEP_MS = STEP_MINUTES * 60_000
export const STEPS_PER_HOUR = 12
export const STEPS_PER_DAY = 288

/** Minutes of a forecast horizon as 5-minute steps (15 → 3). */
export const horizonSteps = (minutes: number): number => Math.max(1, Math.round(minutes / STEP_MINUTES))

/**
 * Demand is modelled on log1p(y / scale): heavy tails and bursts become additive, zeros stay finite,
 * and dividing by the series' own scale makes coefficients comparable between a 0.1 % CPU and a 10 MB/s NIC.
 */
export const toLevel = (value: number, scale: number): number => Math.log1p(Math.max(0, value) / scale)
export const fromLevel = (level: number, scale: number): number => Math.max(0, scale * Math.expm1(level))

/** The mean of the non-negative values, or `fallback` when there is nothing positive to scale by. */
export const scaleOf = (values: ArrayLike<number>, from: number, to: number, fallback: number): number => {
  let sum = 0
  let count = 0
  for (let i = from; i < to; i++) {
    const v = values[i] ?? 0
    if (v > 0) sum += v
    count++
  }
  const mean = count > 0 ? sum / count : 0
  return mean > 0 ? mean : fallback
}

/** Linear interpolation between order statistics of an ascending array (p in [0, 1]). */
export const quantileSorted = (sorted: ArrayLike<number>, p: number): number => {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const position = Math.min(1, Math.max(0, p)) * (n - 1)
  const below = Math.floor(position)
  const lower = sorted[below] ?? 0
  const upper = sorted[Math.min(n - 1, below + 1)] ?? lower
  return lower + (upper - lower) * (position - below)
}

export const quantile = (values: ArrayLike<number>, p: number): number =>
  quantileSorted(Float64Array.from(values).sort(), p)

export const median = (values: ArrayLike<number>): number => quantile(values, 0.5)

export const geometricMean = (values: ReadonlyArray<number>): number => {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v))
  return positive.length === 0 ? Number.NaN : Math.exp(positive.reduce((s, v) => s + Math.log(v), 0) / positive.length)
}

export interface GridSeries {
  /** Epoch milliseconds of the first grid point. */
  readonly start: number
  readonly values: Float64Array
  /** Grid points that had no sample and were forward-filled. */
  readonly filled: number
  /** Gaps (runs of missing points) longer than `maxGapSteps`; they are forward-filled too, but counted apart. */
  readonly longGaps: number
  /** Samples that were not on the grid and were snapped to the nearest point. */
  readonly snapped: number
  /** Samples that fell on an already occupied point (the later one wins). */
  readonly duplicates: number
}

/**
 * Puts timestamped samples (ascending) on the 5-minute grid that starts at the first sample: each
 * sample goes to its nearest grid point, empty points repeat the previous value.
 */
export const alignToGrid = (
  times: ReadonlyArray<number>,
  values: ReadonlyArray<number>,
  maxGapSteps: number
): GridSeries => {
  const start = times[0] ?? 0
  const last = times[times.length - 1] ?? start
  const length = times.length === 0 ? 0 : Math.round((last - start) / STEP_MS) + 1
  const grid = new Float64Array(length).fill(Number.NaN)
  let snapped = 0
  let duplicates = 0
  for (let i = 0; i < times.length; i++) {
    const offset = ((times[i] ?? start) - start) / STEP_MS
    const slot = Math.round(offset)
    if (Math.abs(offset - slot) > 1e-9) snapped++
    if (slot < 0 || slot >= length) continue
    if (!Number.isNaN(grid[slot] ?? Number.NaN)) duplicates++
    grid[slot] = values[i] ?? Number.NaN
  }
  let filled = 0
  let longGaps = 0
  let run = 0
  for (let i = 0; i < length; i++) {
    if (Number.isNaN(grid[i] ?? Number.NaN)) {
      grid[i] = i > 0 ? (grid[i - 1] ?? 0) : 0
      filled++
      run++
    } else {
      if (run > maxGapSteps) longGaps++
      run = 0
    }
  }
  return { start, values: grid, filled, longGaps, snapped, duplicates }
}
