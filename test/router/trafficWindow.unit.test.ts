import { assert, describe, it } from "@effect/vitest"
import { latencyBucketsMs, type UpstreamMetrics } from "../../src/trafficRouter.ts"
import { windowOf } from "../../src/trafficWindow.ts"

/** Metrics with `latencies` (ms → requests) counted in the bucket of each latency's upper bound. */
const metrics = (requests: number, errors: number, latencies: Record<number, number>, id = "prod"): UpstreamMetrics => {
  const buckets = Array.from({ length: latencyBucketsMs.length + 1 }, () => 0)
  for (const [ms, count] of Object.entries(latencies)) {
    const bucket = latencyBucketsMs.findIndex((bound) => Number(ms) <= bound)
    buckets[bucket < 0 ? latencyBucketsMs.length : bucket]! += count
  }
  return { id, requests, errors, inFlight: 0, latencyBuckets: buckets }
}

describe("traffic window", () => {
  it("subtracts two snapshots into the figures of the time between", () => {
    const before = metrics(100, 1, { 1: 100 })
    const after = metrics(300, 11, { 1: 100, 5: 150, 50: 48, 400: 2 })
    assert.deepStrictEqual(windowOf(before, after), { requests: 200, errors: 10, errorRate: 0.05, p50Ms: 5, p99Ms: 50 })
  })

  it("reports the upper bound of the bucket where the rank falls (nearest rank)", () => {
    // 100 requests: the 50th is the last at 2 ms, the 99th the first at 20 ms.
    const window = windowOf(undefined, metrics(100, 0, { 2: 50, 10: 48, 20: 2 }))
    assert.strictEqual(window.p50Ms, 2)
    assert.strictEqual(window.p99Ms, 20)
    assert.strictEqual(windowOf(undefined, metrics(1, 0, { 0.1: 1 })).p99Ms, 0.25)
  })

  it("reports the last bound for latencies beyond it", () => {
    const window = windowOf(undefined, metrics(10, 0, { 1: 5, 60_000: 5 }))
    assert.strictEqual(window.p50Ms, 1)
    assert.strictEqual(window.p99Ms, latencyBucketsMs.at(-1))
  })

  it("is all zero for a window without requests", () => {
    const snapshot = metrics(40, 3, { 7: 40 })
    assert.deepStrictEqual(windowOf(snapshot, snapshot), { requests: 0, errors: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 })
  })

  it("counts from zero when there is no earlier snapshot, or one that cannot precede the later", () => {
    const after = metrics(20, 2, { 3: 20 })
    const expected = { requests: 20, errors: 2, errorRate: 0.1, p50Ms: 3, p99Ms: 3 }
    assert.deepStrictEqual(windowOf(undefined, after), expected)
    assert.deepStrictEqual(windowOf(metrics(500, 0, { 1: 500 }), after), expected, "counters restarted")
    assert.deepStrictEqual(windowOf(metrics(5, 0, { 1: 5 }, "shadow"), after), expected, "another upstream")
  })
})
