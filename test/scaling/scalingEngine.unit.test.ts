import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { emptyQuality } from "../../domain/scaling/forecastQuality.ts"
import { Forecaster } from "../../domain/forecast/forecaster.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteScalingStates from "../../infra/readModels/sqliteScalingStates.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeScalingEngine } from "../../src/scaling/scalingEngine.ts"
import { ScalingStates } from "../../src/scaling/scalingStates.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { command } from "../support/commands.ts"
import { tenantKey } from "../../domain/tenantKey.ts"

const step = 5 * 60_000
const start = Date.UTC(2026, 10, 28)
const mib = 1024 * 1024

const engineLayer = Layer.mergeAll(
  CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)),
  Layer.mergeAll(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer)), sqliteScalingStates.layer).pipe(Layer.provide(ReadModelDatabase.layer(":memory:")))
)

/** Given a standard client and `hours` of 5-minute telemetry at `cpu` cores and `memMiB`, when the engine ticks. */
const givenDemand = (hours: number, cpu: (i: number) => number, memMiB: number) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler
    yield* handler.handle(command("CreateProfile", { clientId: "c1", tier: "standard" }))
    const telemetry = yield* TelemetryReadModel
    const inputs = Array.from({ length: (hours * 60 * 60_000) / step }, (_, i) => ({
      sample: { instanceId: "shd-1" as InstanceId, at: new Date(start + i * step).toISOString(), cpu: cpu(i), memBytes: memMiB * mib },
      instanceKey: tenantKey("acme", "shd-1"),
      clientKey: tenantKey("acme", "c1")
    }))
    yield* telemetry.apply(inputs, inputs.length)
  })

const types = (stream: string) => EventStore.use((store) => store.readStream(stream)).pipe(Effect.map((events) => events.map((e) => e.type)))

describe("predictive scaling engine", () => {
  it.effect("buckets in → ForecastUpdated for CPU and memory, and ScaleProfile when demand is far below the profile", () =>
    Effect.gen(function* () {
      yield* givenDemand(6, () => 0.3, 400)
      const engine = yield* makeScalingEngine()
      yield* engine.tick
      const forecasts = yield* EventStore.use((store) => store.readStream("forecast-acme.c1"))
      assert.deepStrictEqual(forecasts.map((e) => [e.type, (e.data as { metric: string }).metric]), [
        ["ForecastUpdated", "cpu"],
        ["ForecastUpdated", "memBytes"]
      ])
      const profile = yield* EventStore.use((store) => store.readStream("profile-acme.c1"))
      assert.deepStrictEqual(profile.map((e) => e.type), ["ProfileCreated", "ProfileRefined"])
      const refined = profile[1]!.data as { expected: { cpuMillis: number; memoryMiB: number }; reason: string; source: string }
      assert.strictEqual(refined.source, "scaling")
      assert.isBelow(refined.expected.cpuMillis, 1000)
      assert.isAtLeast(refined.expected.cpuMillis, 300)
      assert.isBelow(refined.expected.memoryMiB, 1024)
      assert.match(refined.reason, /^forecast/)
      yield* engine.tick
      assert.lengthOf(yield* types("forecast-acme.c1"), 2, "nothing new: no new complete bucket")
    }).pipe(Effect.provide(engineLayer)))

  it.effect("respects the hysteresis band: demand near the profile's expectation changes nothing", () =>
    Effect.gen(function* () {
      // The standard tier expects 2000 m and 4096 MiB: demand whose bound lands within ±15 % refines nothing.
      yield* givenDemand(6, () => 1.85, 3900)
      const engine = yield* makeScalingEngine()
      yield* engine.tick
      assert.lengthOf(yield* types("forecast-acme.c1"), 2)
      assert.deepStrictEqual(yield* types("profile-acme.c1"), ["ProfileCreated"])
    }).pipe(Effect.provide(engineLayer)))

  it.effect("falls back to the conservative policy, and says so, when the model has done worse than the last value", () =>
    Effect.gen(function* () {
      yield* givenDemand(3, () => 0.3, 400)
      const lost = { modelError: 5, lastValueError: 1, upper: 1, actual: 0.3 }
      yield* ScalingStates.use((states) =>
        states.save(tenantKey("acme", "c1"), {
          lastStart: 0,
          forecasters: {
            cpu: Forecaster.make({ priorLevel: 2 }).toState(),
            memBytes: Forecaster.make({ priorLevel: 4096 * mib }).toState()
          },
          quality: { cpu: { pending: [], scored: Array.from({ length: 20 }, () => lost) }, memBytes: emptyQuality }
        })
      )
      const engine = yield* makeScalingEngine()
      yield* engine.tick
      const forecasts = yield* EventStore.use((store) => store.readStream("forecast-acme.c1"))
      const cpu = forecasts[0]!.data as { fallback: boolean; reason: string }
      assert.isTrue(cpu.fallback)
      assert.match(cpu.reason, /^fallback/)
      assert.deepStrictEqual(yield* types("profile-acme.c1"), ["ProfileCreated"], "the conservative policy never shrinks the profile")
    }).pipe(Effect.provide(engineLayer)))
})
