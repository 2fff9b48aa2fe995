import { describe, expect, it } from "vitest"
import { leastSquares } from "../../domain/forecast/leastSquares.ts"

describe("leastSquares", () => {
  it("recovers the exact weights of a noiseless linear system, for every output", () => {
    const x: Array<Array<number>> = []
    const y: Array<Array<number>> = []
    for (let i = 0; i < 50; i++) {
      const row = [1, Math.sin(i), Math.cos(3 * i), (i % 7) - 3]
      x.push(row)
      y.push([2 - row[1]! + 0.5 * row[3]!, 4 * row[2]!])
    }
    const w = leastSquares(x, y)
    expect(w.map((r) => r.map((v) => Number(v.toFixed(6)) + 0))).toEqual([
      [2, 0],
      [-1, 0],
      [0, 4],
      [0.5, 0]
    ])
  })

  it("returns the mean for an intercept-only fit and zero for an all-zero column", () => {
    const w = leastSquares(
      [1, 2, 3, 6].map(() => [1, 0]),
      [[1], [2], [3], [6]]
    )
    expect(w[0]?.[0]).toBeCloseTo(3, 6)
    expect(w[1]?.[0]).toBeCloseTo(0, 6)
  })
})
