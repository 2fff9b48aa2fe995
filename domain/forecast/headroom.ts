import { quantileSorted } from "./series.ts"

/**
 * An upper bound learned online from its own past errors. Every `span` steps a bound is opened at
 * `base + margin × sigma` for the next `span` steps; each step then adds its normalised error
 * (level − base) / sigma to a window of recent errors and counts whether the bound fell short.
 * The margin is the empirical (1 − α) quantile of that window, and α itself follows adaptive conformal
 * inference (α ← α + γ(target − shortfall)), which keeps the long-run shortfall at the target even
 * when the errors drift.
 */
export interface HeadroomConfig {
  readonly target: number
  readonly span: number
  readonly window: number
  readonly gamma: number
  /** The margin used until enough errors have been seen. */
  readonly priorMargin: number
}

export interface HeadroomState {
  readonly alpha: number
  readonly errors: ReadonlyArray<number>
  readonly open: { readonly base: number; readonly sigma: number; readonly margin: number; readonly left: number } | null
}

const MIN_ERRORS = 24

export class Headroom {
  private alpha: number
  private readonly errors: Float64Array
  private count = 0
  private head = 0
  /** The same errors kept in ascending order, updated by insertion so a quantile is a lookup. */
  private readonly sorted: Float64Array
  private open: { base: number; sigma: number; margin: number; left: number } | null = null
  readonly config: HeadroomConfig

  constructor(config: HeadroomConfig, state?: HeadroomState) {
    this.config = config
    this.alpha = state?.alpha ?? config.target
    this.errors = new Float64Array(config.window)
    this.sorted = new Float64Array(config.window)
    for (const e of state?.errors ?? []) this.push(e)
    this.open = state?.open ? { ...state.open } : null
  }

  /** The current margin, in units of sigma. */
  margin(): number {
    if (this.count < MIN_ERRORS) return this.config.priorMargin
    return quantileSorted(this.sorted.subarray(0, this.count), 1 - Math.min(0.5, Math.max(0, this.alpha)))
  }

  /** Opens a bound for the next `span` steps and returns it. */
  openBound(base: number, sigma: number): number {
    const margin = this.margin()
    this.open = { base, sigma, margin, left: this.config.span }
    return base + margin * sigma
  }

  /** The level of the bound that is open, if any. */
  openLevel(): number | undefined {
    return this.open === null ? undefined : this.open.base + this.open.margin * this.open.sigma
  }

  /** Scores the newest observed level against the bound that is open, if any. */
  observe(level: number): void {
    const open = this.open
    if (open === null) return
    const error = (level - open.base) / open.sigma
    this.alpha += this.config.gamma * (this.config.target - (error > open.margin ? 1 : 0))
    this.push(error)
    open.left--
    if (open.left <= 0) this.open = null
  }

  /** Forgets the open bound (its base is no longer comparable, e.g. after a change of scale). */
  abandon(): void {
    this.open = null
  }

  toState(): HeadroomState {
    const errors: Array<number> = []
    const start = (this.head - this.count + this.errors.length) % this.errors.length
    for (let i = 0; i < this.count; i++) errors.push(this.errors[(start + i) % this.errors.length] ?? 0)
    return { alpha: this.alpha, errors, open: this.open ? { ...this.open } : null }
  }

  private push(error: number): void {
    if (!Number.isFinite(error)) return
    if (this.count === this.errors.length) this.removeSorted(this.errors[this.head] ?? 0)
    this.insertSorted(error)
    this.errors[this.head] = error
    this.head = (this.head + 1) % this.errors.length
    this.count = Math.min(this.count + 1, this.errors.length)
  }

  /** First index in sorted[0..size) whose value is ≥ `value`. */
  private lowerBound(value: number, size: number): number {
    let low = 0
    let high = size
    while (low < high) {
      const mid = (low + high) >>> 1
      if ((this.sorted[mid] ?? 0) < value) low = mid + 1
      else high = mid
    }
    return low
  }

  private removeSorted(value: number): void {
    const i = this.lowerBound(value, this.count)
    this.sorted.copyWithin(i, i + 1, this.count)
    this.count--
  }

  private insertSorted(value: number): void {
    const i = this.lowerBound(value, this.count)
    this.sorted.copyWithin(i + 1, i, this.count)
    this.sorted[i] = value
  }
}
