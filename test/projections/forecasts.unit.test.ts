import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import type { ClientId, InstanceId } from "../../domain/ids.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { forecasts, forecastsKept } from "../../projections/forecasts.ts"
import { ForecastQuery, forecastQuery } from "../../src/queries/forecastQuery.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { catchUp, handleAs, readModelLayers, rebuildOf, whileRebuilding } from "../support/readModelSpec.ts"

const layers = TelemetryReadModel.layer.pipe(Layer.provideMerge(readModelLayers))
const start = Date.parse("2026-11-30T12:00:00.000Z")
const minute = 60_000
const iso = (ms: number) => new Date(ms).toISOString()
const c1 = "c1" as ClientId

const quality = { modelError: 0.1, lastValueError: 0.2, meanDemand: 1, shortfall: 0.05, slack: 0.3, scoredSteps: 12 }
const recordForecast = (tenant: string, atMs: number, metric: string, predicted: number, fallback = false) =>
  handleAs(
    tenant,
    "RecordForecast",
    {
      clientId: "c1",
      metric,
      model: fallback ? "last-value" : "holt",
      horizons: [
        { minutes: 5, predicted, upper: predicted * 1.5 },
        { minutes: 60, predicted: predicted * 2, upper: predicted * 3 }
      ],
      quality,
      fallback,
      reason: fallback ? "the model did worse than the last value" : "model"
    },
    iso(atMs)
  )

/** CPU samples of the client's shadow, one a minute from `start`. */
const cpuSamples = (tenant: string, values: ReadonlyArray<number>) =>
  TelemetryReadModel.use((telemetry) =>
    telemetry.apply(
      values.map((cpu, i) => ({
        sample: { instanceId: "shd-a" as InstanceId, clientId: c1, at: iso(start + i * minute), cpu, memBytes: 1 },
        instanceKey: tenantKey(tenant, "shd-a"),
        clientKey: tenantKey(tenant, "c1")
      })),
      values.length
    )
  )

describe("Forecast", () => {
  it.effect("given forecasts per metric, then the latest of each horizon with its bound, quality, model or fallback", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* recordForecast("acme", start, "cpu", 1)
      yield* recordForecast("acme", start + 5 * minute, "cpu", 2, true)
      yield* recordForecast("acme", start, "memBytes", 100)
      yield* catchUp(forecasts)

      const answer = yield* forecastQuery("acme", { clientId: c1 })
      assert.deepStrictEqual(answer.metrics.map((row) => row.metric), ["cpu", "memBytes"])
      assert.deepStrictEqual(answer.metrics[0], {
        metric: "cpu",
        at: iso(start + 5 * minute),
        model: "last-value",
        fallback: true,
        reason: "the model did worse than the last value",
        quality,
        horizons: [
          { minutes: 5, predicted: 2, upper: 3, at: iso(start + 5 * minute) },
          { minutes: 60, predicted: 4, upper: 6, at: iso(start + 5 * minute) }
        ]
      })
      assert.notProperty(answer, "window")
    }).pipe(Effect.provide(layers)))

  it.effect("given a window, then demand (each 5-minute peak) against the forecasts made for times in it", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* recordForecast("acme", start, "cpu", 1)
      yield* recordForecast("acme", start + 5 * minute, "cpu", 2)
      yield* cpuSamples("acme", [0.5, 0.7, 0.6, 0.9, 0.8, 1.2, 1.1])
      yield* catchUp(forecasts)

      const answer = yield* forecastQuery("acme", { clientId: c1, from: start, to: start + 30 * minute })
      const cpu = answer.window?.metrics.find((series) => series.metric === "cpu")
      assert.deepStrictEqual(cpu?.demand.map(({ at, max }) => [at, max]), [[start, 0.9], [start + 5 * minute, 1.2]])
      // Only the 5-minute horizons fall in the window: the 60-minute ones are for later.
      assert.deepStrictEqual(cpu?.forecast.map(({ at, minutes, predicted, upper }) => [at, minutes, predicted, upper]), [
        [start + 5 * minute, 5, 1, 1.5],
        [start + 10 * minute, 5, 2, 3]
      ])
    }).pipe(Effect.provide(layers)))

  it.effect(`given more than ${forecastsKept} forecasts, then the window draws from the newest ${forecastsKept}`, () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      for (let i = 0; i < forecastsKept + 2; i++) yield* recordForecast("acme", start + i * 5 * minute, "cpu", i + 1)
      yield* catchUp(forecasts)
      const answer = yield* forecastQuery("acme", { clientId: c1, from: start, to: start + 2 * 24 * 60 * minute })
      const points = answer.window!.metrics[0]!.forecast.filter((point) => point.minutes === 5)
      assert.strictEqual(points.length, forecastsKept)
      assert.strictEqual(points[0]!.predicted, 3)
    }).pipe(Effect.provide(layers)))

  it.effect("a window is from and to together, in order, at most 35 days long", () =>
    Effect.sync(() => {
      const decode = Schema.decodeUnknownResult(ForecastQuery)
      assert.strictEqual(decode({ clientId: "c1" })._tag, "Success")
      assert.strictEqual(decode({ clientId: "c1", from: 1, to: 2 })._tag, "Success")
      assert.strictEqual(decode({ clientId: "c1", from: 1 })._tag, "Failure")
      assert.strictEqual(decode({ clientId: "c1", from: 3, to: 2 })._tag, "Failure")
      assert.strictEqual(decode({ clientId: "c1", from: 0, to: 36 * 24 * 60 * minute })._tag, "Failure")
      assert.strictEqual(decode({ clientId: "c1", from: "2026-11-30T12:00:00Z", to: 2 })._tag, "Failure")
    }))

  it.effect("given two tenants, then each sees only its own forecasts and demand, and an unknown client is NotFound", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("beta", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* recordForecast("acme", start, "cpu", 1)
      yield* recordForecast("beta", start, "cpu", 7)
      yield* cpuSamples("beta", [3])
      yield* catchUp(forecasts)
      const window = { from: start, to: start + 30 * minute }
      const acme = yield* forecastQuery("acme", { clientId: c1, ...window })
      const beta = yield* forecastQuery("beta", { clientId: c1, ...window })
      assert.deepStrictEqual(acme.metrics.map((row) => row.horizons[0]!.predicted), [1])
      assert.deepStrictEqual(beta.metrics.map((row) => row.horizons[0]!.predicted), [7])
      assert.deepStrictEqual(acme.window!.metrics[0]!.demand, [])
      assert.strictEqual(beta.window!.metrics[0]!.demand.length, 1)
      assert.strictEqual((yield* forecastQuery("gamma", { clientId: c1 }).pipe(Effect.flip))._tag, "NotFound")
    }).pipe(Effect.provide(layers)))

  it.effect("given a connected client with no forecast yet, then no metrics; while rebuilt, the answer says so", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* catchUp(forecasts)
      assert.deepStrictEqual(yield* forecastQuery("acme", { clientId: c1 }), { clientId: c1, metrics: [] })
      const answer = yield* forecastQuery("acme", { clientId: c1 }).pipe(whileRebuilding(forecasts))
      assert.deepStrictEqual(rebuildOf(answer), { rebuilding: true, progress: { folded: 1, total: 2 } })
    }).pipe(Effect.provide(layers)))
})
