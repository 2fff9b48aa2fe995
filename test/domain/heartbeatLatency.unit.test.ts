import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { latencyRise, percentile, recordRtt, summarizeLatency } from "../../domain/instance/heartbeatLatency.ts"
import { heartbeatLatencyBreach, defaultTrafficGates } from "../../domain/launch/trafficGate.ts"
import { Heartbeat } from "../../domain/signals.ts"

const steady = (n: number, ms: number) => Array.from({ length: n }, () => ms)

describe("heartbeat latency", () => {
  it("a window keeps the latest round trips, newest last", () => {
    let window: ReadonlyArray<number> = []
    for (let rtt = 1; rtt <= 5; rtt++) window = recordRtt(window, rtt, 3)
    assert.deepStrictEqual(window, [3, 4, 5])
  })

  it("percentiles by nearest rank; none of no samples", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i)
    assert.strictEqual(percentile(samples, 0.5), 50)
    assert.strictEqual(percentile(samples, 0.99), 99)
    assert.strictEqual(percentile([7], 0.99), 7)
    assert.isUndefined(percentile([], 0.5))
  })

  it("a summary: last, p50, p99 and how many; none of an empty window", () => {
    assert.deepStrictEqual(summarizeLatency([2, 9, 1, 3]), { lastMs: 3, p50Ms: 2, p99Ms: 9, samples: 4 })
    assert.isUndefined(summarizeLatency([]))
  })

  it("a sustained rise: the recent p50 over three times the earlier one, and by 20 ms at least", () => {
    assert.deepStrictEqual(latencyRise([...steady(20, 10), ...steady(8, 50)]), { recentP50Ms: 50, earlierP50Ms: 10 })
    // One slow beat, or a few, is not sustained.
    assert.isUndefined(latencyRise([...steady(20, 10), ...steady(3, 500), ...steady(5, 10)]))
    // Three times 1 ms is still a fast network.
    assert.isUndefined(latencyRise([...steady(20, 1), ...steady(8, 4)]))
    // Too few earlier round trips to compare with.
    assert.isUndefined(latencyRise([...steady(7, 10), ...steady(8, 500)]))
  })

  it("the launch gate: production's p99 above the bound breaks it, once there are enough round trips", () => {
    const gates = { ...defaultTrafficGates, maxHeartbeatP99Ms: 100 }
    assert.match(heartbeatLatencyBreach({ lastMs: 5, p50Ms: 5, p99Ms: 250, samples: 32 }, gates)!, /heartbeat round trip p99 250 ms over 32 heartbeats is above the gate of 100 ms/)
    assert.isUndefined(heartbeatLatencyBreach({ lastMs: 5, p50Ms: 5, p99Ms: 90, samples: 32 }, gates))
    assert.isUndefined(heartbeatLatencyBreach({ lastMs: 500, p50Ms: 500, p99Ms: 500, samples: 3 }, gates))
    // An agent that measures none is not judged by it.
    assert.isUndefined(heartbeatLatencyBreach(undefined, gates))
  })

  it("a heartbeat without rttMs (an older agent) still decodes; a negative or infinite one does not", () => {
    const decode = Schema.decodeUnknownSync(Heartbeat)
    const old = { instanceId: "shd-a", seq: 3, at: "2026-12-01T00:00:00.000Z", ready: true }
    assert.deepStrictEqual(decode(old), old)
    assert.strictEqual(decode({ ...old, rttMs: 1.25 }).rttMs, 1.25)
    assert.throws(() => decode({ ...old, rttMs: -1 }))
    assert.throws(() => decode({ ...old, rttMs: Infinity }))
  })
})
