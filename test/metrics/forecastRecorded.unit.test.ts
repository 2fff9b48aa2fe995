import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import * as sqliteScalingStates from "../../infra/readModels/sqliteScalingStates.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { type ForecastScore, Metrics } from "../../src/metrics.ts"
import { makeScalingEngine } from "../../src/scaling/scalingEngine.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { command } from "../support/commands.ts"

const recorded: Array<ForecastScore> = []
const recording = Layer.succeed(Metrics)({
  commandHandled: () => Effect.void,
  forecastRecorded: (score) => Effect.sync(() => void recorded.push(score)),
  readAtScrape: () => Effect.void
})

const engineLayer = Layer.mergeAll(
  CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)),
  Layer.mergeAll(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer)), sqliteScalingStates.layer).pipe(
    Layer.provide(ReadModelDatabase.layer(":memory:"))
  ),
  recording
)

describe("the scaling engine's forecast scores", () => {
  it.effect("are recorded through the Metrics port as each forecast is: tenant, client, metric and the quality the event carries", () =>
    Effect.gen(function* () {
      yield* CommandHandler.use((handler) => handler.handle(command("CreateProfile", { clientId: "c1", tier: "standard" })))
      const start = Date.UTC(2026, 10, 28)
      const inputs = Array.from({ length: 72 }, (_, i) => ({
        sample: { instanceId: "shd-1" as InstanceId, at: new Date(start + i * 5 * 60_000).toISOString(), cpu: 0.3, memBytes: 400 * 1024 * 1024 },
        instanceKey: tenantKey("acme", "shd-1"),
        clientKey: tenantKey("acme", "c1")
      }))
      yield* TelemetryReadModel.use((telemetry) => telemetry.apply(inputs, inputs.length))
      yield* (yield* makeScalingEngine()).tick
      const events = yield* EventStore.use((store) => store.readStream("forecast-acme.c1"))
      const carried = events.map((event) => {
        const { metric, quality, fallback } = event.data as { metric: string; quality: ForecastScore; fallback: boolean }
        return { tenant: "acme", clientId: "c1", metric, shortfall: quality.shortfall, slack: quality.slack, scoredSteps: quality.scoredSteps, fallback }
      })
      assert.lengthOf(carried, 2)
      assert.deepStrictEqual(recorded, carried)
      assert.isAbove(recorded[0]!.scoredSteps, 0, "six hours of demand score the forecasts made an hour before")
    }).pipe(Effect.provide(engineLayer)))
})
