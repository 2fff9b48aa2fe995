/**
 * Online choice among provisioning experts (the model's bound and the simple baselines, each with its
 * own calibrated headroom). Every scored step charges each expert the pinball loss of its bound at the
 * quantile 1 − target: a proper score for that quantile, so calibrated bounds are ranked by how little
 * they waste, without having to compare them at a matched shortfall. Losses decay, so the choice
 * follows regime changes; only demand already observed is ever scored.
 */
export interface SelectorConfig {
  readonly experts: number
  readonly target: number
  /** Per-step factor applied to past losses (a half-life of about a day at 288 steps). */
  readonly decay: number
}

export class ExpertSelector {
  private readonly losses: Array<number>
  readonly config: SelectorConfig

  constructor(config: SelectorConfig, state?: ReadonlyArray<number>) {
    this.config = config
    this.losses = Array.from({ length: config.experts }, (_, e) => state?.[e] ?? 0)
  }

  /** Charges `expert` for a bound it held while `demand` arrived (both in demand units). */
  score(expert: number, bound: number, demand: number): void {
    const miss = demand - bound
    const loss = miss > 0 ? (1 - this.config.target) * miss : -this.config.target * miss
    this.losses[expert] = (this.losses[expert] ?? 0) * this.config.decay + loss
  }

  /** The expert with the least loss so far; ties go to the lowest index. */
  best(): number {
    let best = 0
    this.losses.forEach((loss, e) => {
      if (loss < (this.losses[best] ?? 0)) best = e
    })
    return best
  }

  toState(): ReadonlyArray<number> {
    return [...this.losses]
  }
}
