import { assert, describe, it } from "@effect/vitest"
import { emptyQuality, observeDemand, qualityOf, recordForecast } from "../../domain/scaling/forecastQuality.ts"

const hour = 3_600_000

describe("forecast quality", () => {
  it("scores each forecast when its demand arrives: errors against the last value, shortfall and slack", () => {
    let state = recordForecast(emptyQuality, { origin: 0, horizonMs: hour, predicted: 10, upper: 12, lastValue: 4 })
    state = recordForecast(state, { origin: 300_000, horizonMs: hour, predicted: 10, upper: 12, lastValue: 4 })
    state = observeDemand(state, hour, 8)
    assert.deepStrictEqual(qualityOf(state), { modelError: 2, lastValueError: 4, meanDemand: 8, shortfall: 0, slack: 4 / 12, scoredSteps: 1 })
    state = observeDemand(state, hour + 300_000, 14)
    const quality = qualityOf(state)
    assert.strictEqual(quality.shortfall, 0.5)
    assert.strictEqual(quality.scoredSteps, 2)
    assert.lengthOf(state.pending, 0)
  })

  it("has nothing to say before any forecast is due", () => {
    const state = recordForecast(emptyQuality, { origin: 0, horizonMs: hour, predicted: 1, upper: 2, lastValue: 1 })
    assert.strictEqual(qualityOf(observeDemand(state, 300_000, 5)).scoredSteps, 0)
  })
})
