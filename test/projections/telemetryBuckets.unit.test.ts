import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import type { TelemetrySample } from "../../domain/signals.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import type { BucketSize, Scope } from "../../projections/telemetryBuckets.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"

const minute0 = Date.UTC(2026, 10, 30, 12, 0, 0)
const sample = (second: number, cpu: number, metrics?: Record<string, number>): TelemetrySample => ({
  instanceId: "shd-1" as InstanceId,
  at: new Date(minute0 + second * 1000).toISOString(),
  cpu,
  memBytes: 1000,
  ...(metrics === undefined ? {} : { metrics })
})
const input = (second: number, cpu: number, clientId: string | null = "c1", metrics?: Record<string, number>) => ({
  sample: sample(second, cpu, metrics),
  instanceKey: tenantKey("acme", "shd-1"),
  clientKey: clientId === null ? undefined : tenantKey("acme", clientId)
})
const series = (scope: Scope, metric: string, size: BucketSize, sinceMs?: number) =>
  TelemetryReadModel.use((model) =>
    model.series({ scope, key: tenantKey("acme", scope === "client" ? "c1" : "shd-1"), metric, size, ...(sinceMs === undefined ? {} : { sinceMs }) })
  )

const layer = TelemetryReadModel.layer.pipe(Layer.provideMerge(projectionsInMemory))

describe("telemetry buckets", () => {
  it.effect("given samples, then 1-minute and 5-minute buckets per instance and per client with mean, max, p95 and count", () =>
    Effect.gen(function* () {
      yield* TelemetryReadModel.use((model) => model.apply(Array.from({ length: 20 }, (_, i) => input(i * 5, i + 1)), 20))
      const minutes = yield* series("instance", "cpu", "1m")
      assert.deepStrictEqual(minutes.map((m) => m.count), [12, 8])
      assert.deepStrictEqual(minutes[0], { start: minute0, count: 12, mean: 6.5, max: 12, p95: 12 })
      assert.deepStrictEqual((yield* series("client", "cpu", "5m")).map((f) => [f.count, f.mean, f.max, f.p95]), [[20, 10.5, 20, 19]])
      assert.lengthOf(yield* series("client", "memBytes", "1m"), 2)
      assert.deepStrictEqual((yield* series("instance", "cpu", "1m", minute0 + 60_000)).map((m) => m.count), [8])
      assert.deepStrictEqual(yield* TelemetryReadModel.use((model) => model.keys("client", "5m")), [tenantKey("acme", "c1")])
      assert.strictEqual(yield* TelemetryReadModel.use((model) => model.checkpoint()), 20)
    }).pipe(Effect.provide(layer)))

  it.effect("carries the workload's own metrics and leaves out the client scope when a sample names no client", () =>
    Effect.gen(function* () {
      yield* TelemetryReadModel.use((model) => model.apply([input(0, 1, null, { requests: 7 })], 1))
      assert.deepStrictEqual((yield* series("instance", "requests", "1m")).map((m) => m.mean), [7])
      assert.deepStrictEqual(yield* series("client", "cpu", "1m"), [])
      assert.deepStrictEqual(yield* TelemetryReadModel.use((model) => model.keys("client", "1m")), [])
    }).pipe(Effect.provide(layer)))

  it.effect("adds to the stored state of a bucket, so a batch continues where the last one stopped", () =>
    Effect.gen(function* () {
      yield* TelemetryReadModel.use((model) => model.apply([input(0, 2)], 1))
      yield* TelemetryReadModel.use((model) => model.apply([input(10, 4)], 2))
      const minute = (yield* series("instance", "cpu", "1m"))[0]!
      assert.deepStrictEqual([minute.count, minute.mean, minute.max], [2, 3, 4])
    }).pipe(Effect.provide(layer)))

  it.effect("a sweep deletes the blocks of buckets a series no longer keeps, and nothing newer", () =>
    Effect.gen(function* () {
      const day = 24 * 60 * 60_000
      const later = day + 10 * 60_000
      yield* TelemetryReadModel.use((model) => model.apply([input(0, 1), input(later / 1000, 2)], 2))
      assert.lengthOf(yield* series("instance", "cpu", "1m"), 2)
      assert.strictEqual(yield* TelemetryReadModel.use((model) => model.prune(minute0 + later)), 4)
      // A minute bucket is kept for a day, in blocks of ten: the first block is past that; five-minute buckets are kept 35 days.
      assert.deepStrictEqual((yield* series("instance", "cpu", "1m")).map((m) => m.mean), [2])
      assert.deepStrictEqual((yield* series("client", "memBytes", "1m")).map((m) => m.count), [1])
      assert.lengthOf(yield* series("instance", "cpu", "5m"), 2)
    }).pipe(Effect.provide(layer)))
})
