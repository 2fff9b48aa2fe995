import { assert, describe, it } from "@effect/vitest"
import {
  conservativeRequirement,
  defaultScalingPolicy as policy,
  refinement,
  requirementFrom,
  shouldFallBack
} from "../../domain/scaling/scalingPolicy.ts"

const current = { cpuMillis: 1000, memoryMiB: 1024 }

describe("scaling policy", () => {
  it("turns provisioning bounds into millicores and MiB, rounding up", () => {
    assert.deepStrictEqual(requirementFrom(0.4501, 300 * 1024 * 1024 + 1), { cpuMillis: 451, memoryMiB: 301 })
    assert.deepStrictEqual(requirementFrom(0, 0), { cpuMillis: 1, memoryMiB: 1 })
  })

  it("respects the hysteresis band: small moves change nothing, larger ones only the field that moved", () => {
    assert.isUndefined(refinement(current, { cpuMillis: 1140, memoryMiB: 900 }, policy))
    assert.deepStrictEqual(refinement(current, { cpuMillis: 1200, memoryMiB: 1000 }, policy), { cpuMillis: 1200 })
    assert.deepStrictEqual(refinement(current, { cpuMillis: 500, memoryMiB: 2048 }, policy), { cpuMillis: 500, memoryMiB: 2048 })
  })

  it("falls back only when the model lost to the last value over enough steps", () => {
    const quality = { modelError: 2, lastValueError: 1, meanDemand: 4, scoredSteps: 12 }
    assert.isTrue(shouldFallBack(quality, policy))
    assert.isFalse(shouldFallBack({ ...quality, scoredSteps: 11 }, policy))
    assert.isFalse(shouldFallBack({ ...quality, modelError: 1, lastValueError: 2 }, policy))
    assert.isFalse(shouldFallBack({ ...quality, modelError: 1e-12, lastValueError: 0 }, policy), "numerically equal on a flat series")
  })

  it("sizes conservatively on the recent peak with a margin, never below the current expectation", () => {
    assert.deepStrictEqual(conservativeRequirement(current, { cpuMillis: 2000, memoryMiB: 100 }, policy), {
      cpuMillis: 2500,
      memoryMiB: 1024
    })
  })
})
