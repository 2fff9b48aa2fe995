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
const RESORT_EVERY = 12

export class Headroom {
  private alpha: number
  private readonly errors: Float64Array
  private count = 0
  private head = 0
  private sorted = new Float64Array(0)
  private sinceSort = 0
  private open: { base: number; sigma: number; margin: number; left: number } | null = null
  readonly config: HeadroomConfig

  constructor(config: HeadroomConfig, state?: HeadroomState) {
    this.config = config
    this.alpha = state?.alpha ?? config.target
    this.errors = new Float64Array(config.window)
    for (const e of state?.errors ?? []) this.push(e)
    this.open = state?.open ? { ...state.open } : null
    this.resort()
  }

  /** The current margin, in units of sigma. */
  margin(): number {
    if (this.sorted.length < MIN_ERRORS) return this.config.priorMargin
    return quantileSorted(this.sorted, 1 - Math.min(0.5, Math.max(0, this.alpha)))
  }

  /** Opens a bound for the next `span` steps and returns it. */
  openBound(base: number, sigma: number): number {
    const margin = this.margin()
    this.open = { base, sigma, margin, left: this.config.span }
    return base + margin * sigma
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
    if (++this.sinceSort >= RESORT_EVERY) this.resort()
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
    this.errors[this.head] = error
    this.head = (this.head + 1) % this.errors.length
    this.count = Math.min(this.count + 1, this.errors.length)
  }

  private resort(): void {
    this.sorted = this.errors.slice(0, this.count).sort()
    this.sinceSort = 0
  }
}
