import { describe, expect, it } from "vitest"
import { backtestSeries } from "../../domain/forecast/backtest.ts"
import { Forecaster } from "../../domain/forecast/forecaster.ts"
import { STEP_MS, STEPS_PER_DAY } from "../../domain/forecast/series.ts"

const series = (length: number, at: (t: number) => number): Float64Array => Float64Array.from({ length }, (_, t) => at(t))

/** Feeds every value, refitting when due, as a saga would. */
const fed = (values: Float64Array, config: Parameters<typeof Forecaster.make>[0] = {}): Forecaster => {
  const forecaster = Forecaster.make(config)
  for (const value of values) {
    forecaster.observe({ value })
    forecaster.refitIfDue()
  }
  return forecaster
}

const horizons = [15, 30, 60]
const score = (values: Float64Array) => backtestSeries(values, { targetShortfall: 0.05, horizonsMinutes: horizons })

describe("Forecaster on series with known answers", () => {
  it("forecasts a constant as itself, with no headroom needed", () => {
    const forecasts = fed(series(2 * STEPS_PER_DAY, () => 5)).forecast()
    for (const f of forecasts) {
      expect(f.predicted).toBeCloseTo(5, 6)
      expect(f.upper).toBeGreaterThanOrEqual(f.predicted)
      expect(f.upper).toBeLessThan(5.05)
    }
  })

  it("follows a linear ramp better than the last value", () => {
    const ramp = (t: number) => 20 + 0.05 * t
    const n = 2 * STEPS_PER_DAY
    const [, , hour] = fed(series(n, ramp)).forecast()
    const truth = ramp(n - 1 + 12)
    expect(Math.abs((hour?.predicted ?? 0) - truth)).toBeLessThan(0.25 * Math.abs(ramp(n - 1) - truth))
  })

  it("learns a clean daily cycle", () => {
    const result = score(series(6 * STEPS_PER_DAY, (t) => 50 + 30 * Math.sin((2 * Math.PI * t) / STEPS_PER_DAY)))
    expect(result.relMae["60"]).toBeLessThan(0.3)
    expect(result.capacity.shortfall).toBeLessThan(0.1)
  })

  it("moves to the new level after a step change", () => {
    const forecaster = fed(series(2 * STEPS_PER_DAY + 24, (t) => (t < 2 * STEPS_PER_DAY ? 10 : 50)))
    for (const f of forecaster.forecast()) {
      expect(f.predicted).toBeGreaterThan(45)
      expect(f.predicted).toBeLessThan(55)
      expect(f.upper).toBeGreaterThanOrEqual(f.predicted)
    }
  })

  it("provisions for an hourly spike train instead of chasing it", () => {
    const result = score(series(4 * STEPS_PER_DAY, (t) => (t % 12 === 5 ? 100 : 10)))
    expect(result.relMae["15"]).toBeLessThan(0.5)
    expect(result.capacity.shortfall).toBeLessThan(0.06)
  })

  it("provisions at least as tightly as the best baseline once it has scored them", () => {
    let seed = 11
    const random = () => ((seed = (seed * 1_664_525 + 1_013_904_223) % 4_294_967_296) / 4_294_967_296)
    // Busy and idle spells of a few hours, with multiplicative noise: no single simple rule fits both.
    let busy = false
    const values = series(8 * STEPS_PER_DAY, () => {
      if (random() < 1 / 36) busy = !busy
      return (busy ? 60 : 8) * Math.exp(0.3 * (random() - 0.5))
    })
    const result = score(values)
    const best = Math.min(...Object.values(result.baselines).map((b) => b.capacity.slack))
    expect(Math.abs(result.capacity.shortfall - 0.05)).toBeLessThan(0.02)
    expect(result.capacity.slack).toBeLessThanOrEqual(1.05 * best)
  })

  it("never forecasts below zero on a series of zeros and bursts", () => {
    const forecasts = fed(series(STEPS_PER_DAY, (t) => (t % 50 < 3 ? 1e6 : 0))).forecast()
    for (const f of forecasts) {
      expect(f.predicted).toBeGreaterThanOrEqual(0)
      expect(f.upper).toBeGreaterThanOrEqual(f.predicted)
    }
  })
})

describe("Forecaster with little history", () => {
  it("starts from the tier's prior and shrinks toward the data", () => {
    const forecaster = Forecaster.make({ priorLevel: 4 })
    expect(forecaster.forecast()[0]?.predicted).toBeCloseTo(4, 6)
    for (let i = 0; i < 6; i++) forecaster.observe({ value: 10 })
    const early = forecaster.forecast()[0]?.predicted ?? 0
    expect(early).toBeGreaterThan(4)
    expect(early).toBeLessThan(10)
    for (let i = 0; i < 30; i++) forecaster.observe({ value: 10 })
    expect(forecaster.refitIfDue()).toBe(true)
    expect(forecaster.forecast()[0]?.predicted).toBeCloseTo(10, 3)
  })

  it("refits at most once per day", () => {
    const forecaster = Forecaster.make()
    const fits: Array<number> = []
    for (let t = 0; t < 3 * STEPS_PER_DAY; t++) {
      forecaster.observe({ value: 10 + (t % 7) })
      if (forecaster.refitIfDue()) fits.push(t)
    }
    expect(fits.length).toBe(3)
    fits.slice(1).forEach((t, i) => expect(t - (fits[i] ?? 0)).toBeGreaterThanOrEqual(STEPS_PER_DAY))
  })

  it("forward-fills the buckets a gap skipped", () => {
    const forecaster = Forecaster.make()
    forecaster.observe({ value: 3, at: 0 })
    forecaster.observe({ value: 4, at: 4 * STEP_MS })
    expect(forecaster.observed).toBe(5)
    forecaster.observe({ value: 9, at: 4 * STEP_MS })
    expect(forecaster.observed).toBe(5)
  })
})

describe("Forecaster state", () => {
  it("round-trips through JSON and keeps forecasting identically", () => {
    const values = series(3 * STEPS_PER_DAY, (t) => 20 + 10 * Math.sin(t / 17) + (t % 31 === 0 ? 40 : 0))
    const original = fed(values.subarray(0, 2 * STEPS_PER_DAY))
    const restored = Forecaster.fromState(JSON.parse(JSON.stringify(original.toState())))
    expect(restored.forecast()).toEqual(original.forecast())
    for (const value of values.subarray(2 * STEPS_PER_DAY)) {
      for (const f of [original, restored]) {
        f.observe({ value })
        f.refitIfDue()
      }
    }
    expect(restored.forecast()).toEqual(original.forecast())
    expect(restored.toState()).toEqual(original.toState())
  })

  it("rejects a state that is not one", () => {
    expect(() => Forecaster.fromState({ version: 1, values: ["x"] })).toThrow()
  })
})
