/**
 * Smooth weighted round-robin, as nginx does it: each pick adds every candidate's weight to its score, takes
 * the highest score (the first on a tie) and subtracts the total weight from it. It is deterministic and
 * spreads picks evenly: the picks repeat every `total weight` picks, each candidate taking exactly its weight
 * of them, so 95/5 sends exactly 1 request in 20 to the 5 % one, never two in a row.
 */
export interface WeightedChoice<A> {
  /** The next candidate with weight > 0 other than `except` (a retry's first pick), if there is one. */
  readonly next: (except?: A) => A | undefined
}

export const weightedChoice = <A extends { readonly weight: number }>(candidates: ReadonlyArray<A>): WeightedChoice<A> => {
  const scores = candidates.map(() => 0)
  return {
    next: (except) => {
      let best = -1
      let total = 0
      for (let i = 0; i < candidates.length; i++) {
        const candidate = candidates[i]!
        if (candidate.weight <= 0 || candidate === except) continue
        scores[i] = scores[i]! + candidate.weight
        total += candidate.weight
        if (best < 0 || scores[i]! > scores[best]!) best = i
      }
      if (best < 0) return undefined
      scores[best] = scores[best]! - total
      return candidates[best]
    }
  }
}
