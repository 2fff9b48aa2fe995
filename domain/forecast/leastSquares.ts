/**
 * Least squares by the normal equations and a Cholesky factorisation. The forecaster's designs are a
 * few thousand rows by a couple of dozen standardised, ridge-padded columns, so XᵀX is small and well
 * conditioned and this is orders of magnitude cheaper than a general SVD solve.
 */

/** Solves min ‖XW − Y‖² for W (columns × outputs); a tiny jitter keeps an all-zero column solvable. */
export const leastSquares = (
  x: ReadonlyArray<ReadonlyArray<number>>,
  y: ReadonlyArray<ReadonlyArray<number>>
): Array<Array<number>> => {
  const p = x[0]?.length ?? 0
  const q = y[0]?.length ?? 0
  const gram = Array.from({ length: p }, () => new Float64Array(p))
  const moment = Array.from({ length: p }, () => new Float64Array(q))
  x.forEach((row, i) => {
    const target = y[i] ?? []
    for (let a = 0; a < p; a++) {
      const xa = row[a] ?? 0
      if (xa === 0) continue
      const g = gram[a] as Float64Array
      for (let b = a; b < p; b++) g[b] = (g[b] ?? 0) + xa * (row[b] ?? 0)
      const m = moment[a] as Float64Array
      for (let o = 0; o < q; o++) m[o] = (m[o] ?? 0) + xa * (target[o] ?? 0)
    }
  })
  const factor = Array.from({ length: p }, () => new Float64Array(p))
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = (gram[j]?.[i] ?? 0) + (i === j ? 1e-9 : 0)
      for (let k = 0; k < j; k++) sum -= (factor[i]?.[k] ?? 0) * (factor[j]?.[k] ?? 0)
      const row = factor[i] as Float64Array
      row[j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / (factor[j]?.[j] ?? 1)
    }
  }
  const weights = Array.from({ length: p }, () => new Array<number>(q).fill(0))
  const forward = new Float64Array(p)
  for (let o = 0; o < q; o++) {
    for (let i = 0; i < p; i++) {
      let sum = moment[i]?.[o] ?? 0
      for (let k = 0; k < i; k++) sum -= (factor[i]?.[k] ?? 0) * (forward[k] ?? 0)
      forward[i] = sum / (factor[i]?.[i] ?? 1)
    }
    for (let i = p - 1; i >= 0; i--) {
      let sum = forward[i] ?? 0
      for (let k = i + 1; k < p; k++) sum -= (factor[k]?.[i] ?? 0) * (weights[k]?.[o] ?? 0)
      const w = weights[i] as Array<number>
      w[o] = sum / (factor[i]?.[i] ?? 1)
    }
  }
  return weights
}
