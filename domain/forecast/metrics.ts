/** Accumulators for the two questions the backtest asks: how close, and how much capacity for how few misses. */

/** Sum of absolute errors of a forecast and of the last-value forecast over the same origins. */
export class RelativeError {
  private model = 0
  private lastValue = 0

  add(forecast: number, last: number, actual: number): void {
    this.model += Math.abs(forecast - actual)
    this.lastValue += Math.abs(last - actual)
  }

  /** MAE relative to the last value (< 1 beats it); NaN when the last value was never wrong. */
  value(): number {
    return this.lastValue > 0 ? this.model / this.lastValue : Number.NaN
  }
}

export interface Capacity {
  readonly target: number
  /** Share of steps whose demand exceeded the provision. */
  readonly shortfall: number
  /** Σ(P − y)+ / ΣP: the share of provisioned capacity left unused. */
  readonly slack: number
}

/** Tallies a provision held over the steps it covered. */
export class CapacityTally {
  private steps = 0
  private short = 0
  private unused = 0
  private provisioned = 0

  add(provision: number, demand: ArrayLike<number>, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const y = demand[i] ?? 0
      this.steps++
      if (y > provision) this.short++
      this.unused += Math.max(0, provision - y)
      this.provisioned += provision
    }
  }

  result(target: number): Capacity {
    return {
      target,
      shortfall: this.steps > 0 ? this.short / this.steps : Number.NaN,
      slack: this.provisioned > 0 ? this.unused / this.provisioned : Number.NaN
    }
  }
}
