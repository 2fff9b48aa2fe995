import { assert, describe, it } from "@effect/vitest"
import { defaultSizingPolicy } from "../../domain/instance/sizingPolicy.ts"
import type { ShadowResources } from "../../domain/instance/sizingPolicy.ts"
import {
  decideUsageSize,
  defaultUsageSizingPolicy as policy,
  shadowBounds,
  type UsageDecision,
  type UsageSample,
  type UsageSizingPolicy
} from "../../domain/instance/usageSizing.ts"

const minute = 60_000
/** A profile expecting 2 cores and 4 GiB: its shadow lives between the floor (100 m, 128 MiB) and a quarter (500 m, 1024 MiB). */
const bounds = shadowBounds({ cpuMillis: 2000, memoryMiB: 4096, storageGiB: 10 }, defaultSizingPolicy)

/** One sample every 5 s over [fromMs, toMs], all at the same use. */
const steady = (fromMs: number, toMs: number, cpuMillis: number, memoryMiB: number, warming = false): Array<UsageSample> =>
  Array.from({ length: Math.floor((toMs - fromMs) / 5_000) + 1 }, (_, i) => ({ atMs: fromMs + i * 5_000, cpuMillis, memoryMiB, warming }))

/** Given a shadow of `current` size last sized at `lastSizedAtMs`, when it was seen using `samples` up to `nowMs`, then `expected`. */
const given = (current: ShadowResources, lastSizedAtMs?: number, sizing: UsageSizingPolicy = policy) => ({
  when: (samples: ReadonlyArray<UsageSample>, nowMs: number) => ({
    then: (expected: UsageDecision | UsageDecision["_tag"]) => {
      const decision = decideUsageSize(sizing, { bounds, current, samples, lastSizedAtMs, nowMs })
      if (typeof expected === "string") assert.strictEqual(decision._tag, expected, JSON.stringify(decision))
      else assert.deepStrictEqual(decision, expected)
      return decision
    }
  })
})

const now = 100 * minute

describe("sizing a shadow by its observed use", () => {
  it("a shadow using most of its CPU for a window grows to the middle of the band, rounded up to a step, with the reason", () => {
    given({ cpuMillis: 200, memoryMiB: 256 })
      .when(steady(now - 5 * minute, now, 190, 150), now)
      .then({
        _tag: "Resize",
        resources: { cpuMillis: 350, memoryMiB: 256 },
        reason: "observed use: cpu p90 190m of 200m, memory p90 150 MiB of 256 MiB over 5 min"
      })
  })

  it("the use is the 90th percentile: a short spike is not a need", () => {
    const samples = steady(now - 5 * minute, now, 100, 150).map((sample, i) => (i % 20 === 0 ? { ...sample, cpuMillis: 1000 } : sample))
    given({ cpuMillis: 200, memoryMiB: 256 }).when(samples, now).then("Keep")
  })

  it("never grows above its share of the predicted peak, nor changes at all when already there", () => {
    given({ cpuMillis: 450, memoryMiB: 900 })
      .when(steady(now - 5 * minute, now, 440, 890), now)
      .then({
        _tag: "Resize",
        resources: { cpuMillis: 500, memoryMiB: 1024 },
        reason: "observed use: cpu p90 440m of 450m, memory p90 890 MiB of 900 MiB over 5 min"
      })
    given({ cpuMillis: 500, memoryMiB: 1024 })
      .when(steady(now - 5 * minute, now, 499, 1000), now)
      .then({ _tag: "Keep", why: "within its band or its bounds: cpu p90 499m of 500m, memory p90 1000 MiB of 1024 MiB" })
  })

  it("never shrinks below the floor", () => {
    const decision = given({ cpuMillis: 400, memoryMiB: 1024 }).when(steady(now - 5 * minute, now, 5, 20), now).then("Resize")
    assert.deepInclude(decision, { resources: bounds.floor })
  })

  it("inside the band nothing changes", () => {
    given({ cpuMillis: 200, memoryMiB: 256 }).when(steady(now - 5 * minute, now, 159, 103), now).then("Keep")
    given({ cpuMillis: 200, memoryMiB: 256 }).when(steady(now - 5 * minute, now, 81, 204), now).then("Keep")
  })

  it("one dimension outside its band changes alone", () => {
    const decision = given({ cpuMillis: 200, memoryMiB: 512 }).when(steady(now - 5 * minute, now, 120, 100), now).then("Resize")
    assert.deepInclude(decision, { resources: { cpuMillis: 200, memoryMiB: 192 } })
  })

  it("nothing changes before a window of use has been seen", () => {
    given({ cpuMillis: 200, memoryMiB: 256 }).when([], now).then({ _tag: "Keep", why: "no use observed" })
    given({ cpuMillis: 200, memoryMiB: 256 }).when(steady(now - 3 * minute, now, 190, 150), now).then({ _tag: "Keep", why: "not observed for a window yet" })
    given({ cpuMillis: 200, memoryMiB: 256 }).when(steady(now - 4 * minute, now, 190, 150), now).then("Resize")
  })

  it("the cool-down holds between changes, and only use seen at the new size counts after one", () => {
    const short = { ...policy, windowMs: minute }
    const samples = steady(now - 5 * minute, now, 190, 150)
    given({ cpuMillis: 200, memoryMiB: 256 }, now - 2 * minute + 1, short).when(samples, now).then({ _tag: "Keep", why: "cooling down" })
    given({ cpuMillis: 200, memoryMiB: 256 }, now - 2 * minute, short).when(samples, now).then("Resize")
    // Past the cool-down, the use seen before the change measured the old size: it does not count.
    given({ cpuMillis: 200, memoryMiB: 256 }, now - 3 * minute).when(samples, now).then({ _tag: "Keep", why: "not observed for a window yet" })
  })

  it("grows under load, then shrinks back to the floor once the load stops and the cool-down has passed", () => {
    const loadEnds = now
    const grown = given({ cpuMillis: 100, memoryMiB: 128 }).when(steady(loadEnds - 5 * minute, loadEnds, 100, 110), loadEnds).then("Resize")
    assert.deepInclude(grown, { resources: { cpuMillis: 200, memoryMiB: 192 } })
    const idle = steady(loadEnds, loadEnds + 5 * minute, 4, 40)
    given({ cpuMillis: 200, memoryMiB: 192 }, loadEnds).when(idle, loadEnds + minute).then({ _tag: "Keep", why: "cooling down" })
    given({ cpuMillis: 200, memoryMiB: 192 }, loadEnds)
      .when(idle, loadEnds + 5 * minute)
      .then({
        _tag: "Resize",
        resources: bounds.floor,
        reason: "observed use: cpu p90 4m of 200m, memory p90 40 MiB of 192 MiB over 5 min"
      })
  })

  it("samples of a warming workload do not count: its start-up is no measure of its need", () => {
    given({ cpuMillis: 200, memoryMiB: 256 }).when(steady(now - 5 * minute, now, 200, 250, true), now).then({ _tag: "Keep", why: "no use observed" })
    const warmUpThenSteady = [...steady(now - 5 * minute, now - 4 * minute, 200, 250, true), ...steady(now - 4 * minute + 5_000, now, 120, 150)]
    given({ cpuMillis: 200, memoryMiB: 256 }).when(warmUpThenSteady, now).then("Keep")
  })

  it("the window slides: use older than it does not count", () => {
    const samples = [...steady(now - 10 * minute, now - 5 * minute - 1, 190, 250), ...steady(now - 5 * minute, now, 120, 150)]
    given({ cpuMillis: 200, memoryMiB: 256 }).when(samples, now).then("Keep")
  })
})
