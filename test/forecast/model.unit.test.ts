import { Matrix } from "ml-matrix"
import { describe, expect, it } from "vitest"
import { weightedLeastSquares } from "../../domain/forecast/model.ts"

const solved = (x: Array<Array<number>>, y: Array<Array<number>>, rowWeights?: ReadonlyArray<number>) =>
  weightedLeastSquares(new Matrix(x), new Matrix(y), rowWeights).to2DArray()

describe("weightedLeastSquares", () => {
  it("recovers the exact weights of a noiseless linear system, for every output", () => {
    const x: Array<Array<number>> = []
    const y: Array<Array<number>> = []
    for (let i = 0; i < 50; i++) {
      const row = [1, Math.sin(i), Math.cos(3 * i), (i % 7) - 3]
      x.push(row)
      y.push([2 - row[1]! + 0.5 * row[3]!, 4 * row[2]!])
    }
    const w = solved(x, y)
    expect(w.map((r) => r.map((v) => Number(v.toFixed(6)) + 0))).toEqual([
      [2, 0],
      [-1, 0],
      [0, 4],
      [0.5, 0]
    ])
  })

  it("returns the mean for an intercept-only fit and zero for an all-zero column", () => {
    const w = solved(
      [1, 2, 3, 6].map(() => [1, 0]),
      [[1], [2], [3], [6]]
    )
    expect(w[0]?.[0]).toBeCloseTo(3, 6)
    expect(w[1]?.[0]).toBeCloseTo(0, 6)
  })

  it("weighs a row as that many copies of it", () => {
    const x = [[1, 0], [1, 1], [1, 2], [1, 3]]
    const y = [[1], [2], [2], [5]]
    const copies = [1, 3, 2, 1]
    const repeated = copies.flatMap((n, i) => Array.from({ length: n }, () => i))
    const w = solved(x, y, copies)
    const expected = solved(repeated.map((i) => x[i]!), repeated.map((i) => y[i]!))
    w.forEach((row, j) => expect(row[0]).toBeCloseTo(expected[j]?.[0] ?? Number.NaN, 9))
    expect(w[1]?.[0]).not.toBeCloseTo(solved(x, y)[1]?.[0] ?? Number.NaN, 3)
  })

  it("still fits when one column is a multiple of another, where the Cholesky factorisation breaks down", () => {
    const x = [1, 2, 3, 4].map((t) => [1e5 * Math.sqrt(t), 3e5 * Math.sqrt(t)])
    const w = solved(x, x.map(([a]) => [2 * (a ?? 0)]))
    expect(w.flat().every(Number.isFinite)).toBe(true)
    x.forEach(([a, b]) => expect((a ?? 0) * (w[0]?.[0] ?? 0) + (b ?? 0) * (w[1]?.[0] ?? 0)).toBeCloseTo(2 * (a ?? 0), 3))
  })
})
