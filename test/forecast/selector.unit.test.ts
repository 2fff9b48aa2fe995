import { describe, expect, it } from "vitest"
import { ExpertSelector } from "../../domain/forecast/selector.ts"

const selector = (state?: ReadonlyArray<number>, experts = 3) =>
  new ExpertSelector({ experts, target: 0.05, decay: 0.99 }, state)

describe("ExpertSelector", () => {
  it("prefers the tighter of two bounds that both cover the demand", () => {
    const s = selector()
    for (let i = 0; i < 100; i++) {
      s.score(0, 20, 10)
      s.score(1, 12, 10)
      s.score(2, 30, 10)
    }
    expect(s.best()).toBe(1)
  })

  it("charges a miss nineteen times a unit of waste at a 5 % target", () => {
    const s = selector()
    s.score(0, 9, 10) // one unit short: 0.95
    s.score(1, 29, 10) // nineteen units unused: 19 × 0.05 = 0.95
    s.score(2, 28, 10) // eighteen units unused: 0.9
    expect(s.best()).toBe(2)
    s.score(2, 12, 10)
    expect(s.toState()[0]).toBeCloseTo(0.95, 9)
    expect(s.toState()[1]).toBeCloseTo(0.95, 9)
  })

  it("follows a change of regime as old losses decay", () => {
    const s = selector(undefined, 2)
    for (let i = 0; i < 500; i++) {
      s.score(0, 11, 10)
      s.score(1, 15, 10)
    }
    expect(s.best()).toBe(0)
    // Demand rises to 14: expert 0's bound now falls short every step.
    for (let i = 0; i < 50; i++) {
      s.score(0, 11, 14)
      s.score(1, 15, 14)
    }
    expect(s.best()).toBe(1)
  })

  it("keeps the first expert on a tie and restores its state", () => {
    expect(selector().best()).toBe(0)
    const s = selector()
    s.score(1, 5, 1)
    s.score(2, 2, 1)
    expect(s.best()).toBe(0)
    expect(selector(JSON.parse(JSON.stringify(s.toState()))).toState()).toEqual(s.toState())
  })
})
