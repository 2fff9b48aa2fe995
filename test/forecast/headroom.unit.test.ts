import { describe, expect, it } from "vitest"
import { Headroom } from "../../domain/forecast/headroom.ts"
import { CapacityTally } from "../../domain/forecast/metrics.ts"

/** A seeded generator, so the test sees the same noise on every run. */
const uniform = (seed: number) => () => {
  seed = (seed * 1_664_525 + 1_013_904_223) % 4_294_967_296
  return seed / 4_294_967_296
}

describe("Headroom", () => {
  it("reaches the target shortfall on noise it has to learn", () => {
    const random = uniform(7)
    const headroom = new Headroom({ target: 0.05, span: 12, window: 2016, gamma: 0.005, priorMargin: 0 })
    const tally = new CapacityTally()
    const hour = new Float64Array(12)
    for (let origin = 0; origin < 1000; origin++) {
      const bound = headroom.openBound(0, 1)
      for (let j = 0; j < 12; j++) {
        hour[j] = Math.exp(2 * random()) - 1
        headroom.observe(hour[j] ?? 0)
      }
      if (origin >= 200) tally.add(bound, hour, 0, 12)
    }
    expect(Math.abs(tally.result(0.05).shortfall - 0.05)).toBeLessThan(0.01)
  })

  it("round-trips its state", () => {
    const headroom = new Headroom({ target: 0.01, span: 3, window: 50, gamma: 0.01, priorMargin: 2 })
    expect(headroom.margin()).toBe(2)
    for (let i = 0; i < 80; i++) {
      if (i % 3 === 0) headroom.openBound(0, 1)
      headroom.observe(i % 10)
    }
    const copy = new Headroom(headroom.config, JSON.parse(JSON.stringify(headroom.toState())))
    expect(copy.margin()).toBe(headroom.margin())
    expect(copy.toState()).toEqual(headroom.toState())
  })
})

describe("CapacityTally", () => {
  it("counts shortfall per step and slack as unused over provisioned", () => {
    const tally = new CapacityTally()
    tally.add(10, [4, 10, 12, 6], 0, 4)
    expect(tally.result(0.05)).toEqual({ target: 0.05, shortfall: 0.25, slack: (6 + 0 + 0 + 4) / 40 })
  })
})
