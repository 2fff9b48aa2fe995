import { assert, describe, it } from "@effect/vitest"
import type { InstanceId } from "../../domain/ids.ts"
import type { TelemetrySample } from "../../domain/signals.ts"
import { type Bucket, foldSamples, keyString, summarize } from "../../projections/telemetryBuckets.ts"
import { tenantKey } from "../../domain/tenantKey.ts"

const sample = (second: number, cpu: number, metrics?: Record<string, number>): TelemetrySample => ({
  instanceId: "shd-1" as InstanceId,
  at: new Date(Date.UTC(2026, 10, 30, 12, 0, second)).toISOString(),
  cpu,
  memBytes: 1000,
  ...(metrics === undefined ? {} : { metrics })
})

const find = (buckets: ReadonlyMap<string, Bucket>, scope: string, metric: string, size: string) =>
  [...buckets.values()].filter((b) => b.scope === scope && b.metric === metric && b.size === size)

describe("telemetry buckets", () => {
  it("given samples, then 1-minute and 5-minute buckets per instance and per client with mean, max, p95 and count", () => {
    const inputs = Array.from({ length: 20 }, (_, i) => ({ sample: sample(i * 5, i + 1), instanceKey: tenantKey("acme", "shd-1"), clientKey: tenantKey("acme", "c1") }))
    const buckets = foldSamples(inputs, () => undefined)
    const minutes = find(buckets, "instance", "cpu", "1m").map(summarize)
    assert.deepStrictEqual(minutes.map((m) => m.count), [12, 8])
    assert.deepStrictEqual(minutes[0], { start: Date.UTC(2026, 10, 30, 12, 0, 0), count: 12, mean: 6.5, max: 12, p95: 12 })
    const fives = find(buckets, "client", "cpu", "5m").map(summarize)
    assert.deepStrictEqual(fives.map((f) => [f.count, f.mean, f.max, f.p95]), [[20, 10.5, 20, 19]])
    assert.lengthOf(find(buckets, "client", "memBytes", "1m"), 2)
  })

  it("carries the workload's own metrics and leaves out the client scope when a sample names no client", () => {
    const buckets = foldSamples([{ sample: sample(0, 1, { requests: 7 }), instanceKey: tenantKey("acme", "shd-1"), clientKey: undefined }], () => undefined)
    assert.strictEqual(find(buckets, "instance", "requests", "1m")[0]?.sum, 7)
    assert.lengthOf(find(buckets, "client", "cpu", "1m"), 0)
  })

  it("adds to the stored state of a bucket, so a batch continues where the last one stopped", () => {
    const first = foldSamples([{ sample: sample(0, 2), instanceKey: tenantKey("acme", "shd-1"), clientKey: tenantKey("acme", "c1") }], () => undefined)
    const second = foldSamples([{ sample: sample(10, 4), instanceKey: tenantKey("acme", "shd-1"), clientKey: tenantKey("acme", "c1") }], (key) => first.get(keyString(key)))
    const minute = find(second, "instance", "cpu", "1m").map(summarize)[0]!
    assert.deepStrictEqual([minute.count, minute.mean, minute.max], [2, 3, 4])
  })
})
