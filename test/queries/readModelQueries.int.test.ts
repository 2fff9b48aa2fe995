import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import type { fleetQuery } from "../../src/queries/fleetQuery.ts"
import type { forecastQuery } from "../../src/queries/forecastQuery.ts"
import type { launchesQuery } from "../../src/queries/launchesQuery.ts"
import type { launchQuery } from "../../src/queries/launchQuery.ts"
import type { livenessQuery } from "../../src/queries/livenessQuery.ts"
import type { profileQuery } from "../../src/queries/profileQuery.ts"
import type { tenantQuery } from "../../src/queries/tenantQuery.ts"
import { controlPlaneTestLayer, requestRaw, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { deployAs, handleAs, recordHeartbeat } from "../support/readModelSpec.ts"

interface Answer<Result> {
  readonly ok: boolean
  readonly result?: Result
  readonly error?: { readonly tag: string; readonly message: string }
}

/** What a query function answers, as its reply carries it. */
type ResultOf<Query extends (...args: never) => Effect.Effect<unknown, unknown, unknown>> = Effect.Success<ReturnType<Query>>

/** Asks `umbra.query.<tenant>.<name>` over NATS, through the control plane's query gateway. */
const ask = <Result>(tenant: string, name: string, body: unknown = {}) =>
  requestRaw(`umbra.query.${tenant}.${name}`, JSON.stringify(body)).pipe(Effect.map((reply) => reply as unknown as Answer<Result>))

/** Asks until the answer satisfies `ready` (the read models fold the log a moment after it is written). */
const askUntil = <Result>(tenant: string, name: string, body: unknown, ready: (result: Result) => boolean) =>
  Effect.gen(function* () {
    yield* eventually(ask<Result>(tenant, name, body).pipe(Effect.map((answer) => answer.result !== undefined && ready(answer.result))), 15_000, `${tenant}'s ${name}`)
    return (yield* ask<Result>(tenant, name, body)).result!
  })

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "120 seconds" })("read-model queries over NATS", (it) => {
  it.effect("each query answers its tenant from its read model, never another tenant's rows; bad bodies and unknown names are typed errors", () =>
    Effect.gen(function* () {
      // acme: a client with a ready shadow that heartbeats, a launch provisioning production, and forecasts.
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "c1", tier: "basic" })).ok)
      assert.isTrue((yield* send("beta", "ConnectClient", { clientId: "c9", tier: "premium" })).ok)
      yield* deployAs("acme", "shd-a", "c1")
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-a", runtimeId: "r1" })
      yield* handleAs("acme", "MarkInstanceReady", { instanceId: "shd-a" })
      const now = Date.now()
      for (const seq of [0, 1, 3]) yield* recordHeartbeat("acme", "shd-a", seq, new Date(now - (3 - seq) * 1_000).toISOString())
      assert.isTrue((yield* send("acme", "RequestProduction", { clientId: "c1", launchId: "l1" })).ok)
      yield* handleAs("acme", "StartProvisioning", {
        launchId: "l1",
        shadowInstanceId: "shd-a",
        productionInstanceId: productionInstanceId("acme", "l1"),
        tier: "basic",
        template: defaultTemplate,
        network: defaultNetwork,
        resources: { cpuMillis: 500, memoryMiB: 512 }
      })
      yield* handleAs("acme", "RecordForecast", {
        clientId: "c1",
        metric: "cpu",
        model: "holt",
        horizons: [{ minutes: 60, predicted: 0.4, upper: 0.6 }],
        quality: { modelError: 0.1, lastValueError: 0.2, meanDemand: 0.3, shortfall: 0, slack: 0.2, scoredSteps: 4 },
        fallback: false,
        reason: "model"
      }, new Date(now).toISOString())
      yield* deployAs("beta", "shd-z", "c9")

      const fleet = yield* askUntil<ResultOf<typeof fleetQuery>>("acme", "Fleet", {}, (result) => result.instances.length === 2)
      assert.deepStrictEqual(fleet.instances.map((row) => [row.role, row.state]).sort(), [["production", "provisioning"], ["shadow", "ready"]])
      assert.deepStrictEqual((yield* askUntil<ResultOf<typeof fleetQuery>>("beta", "Fleet", {}, (result) => result.instances.length > 0)).instances.map((row) => row.instanceId), ["shd-z"])

      const liveness = yield* askUntil<ResultOf<typeof livenessQuery>>("acme", "Liveness", {}, (result) => result.instances.some((row) => row.lastHeartbeat?.seq === 3))
      assert.deepInclude(liveness.instances.find((row) => row.instanceId === "shd-a"), { missed: 1, recreations: 0 })
      assert.isTrue(liveness.instances.every((row) => row.instanceId !== "shd-z"))

      const profile = yield* askUntil<ResultOf<typeof profileQuery>>("acme", "Profile", { clientId: "c1" }, () => true)
      assert.deepInclude(profile, { clientId: "c1", tier: "basic", basis: "tier" })
      assert.strictEqual((yield* askUntil<ResultOf<typeof profileQuery>>("beta", "Profile", { clientId: "c9" }, () => true)).tier, "premium")

      const forecast = yield* askUntil<ResultOf<typeof forecastQuery>>("acme", "Forecast", { clientId: "c1", from: now - 3_600_000, to: now + 7_200_000 }, (result) => result.metrics.length > 0)
      assert.deepStrictEqual(forecast.metrics.map((row) => [row.metric, row.model, row.horizons[0]!.upper]), [["cpu", "holt", 0.6]])
      assert.strictEqual(forecast.window?.metrics[0]?.forecast.length, 1)

      const launches = yield* askUntil<ResultOf<typeof launchesQuery>>("acme", "Launches", { clientId: "c1" }, (result) => result.launches[0]?.stage === "provisioning")
      assert.deepStrictEqual(launches.launches.map((launch) => [launch.launchId, launch.outcome]), [["l1", "underWay"]])
      const launch = yield* askUntil<ResultOf<typeof launchQuery>>("acme", "Launch", { launchId: "l1" }, () => true)
      assert.deepStrictEqual(launch.stages.map((stage) => stage.stage), ["queued", "provisioning"])
      assert.deepStrictEqual((yield* ask<unknown>("beta", "Launches", {})).result, { launches: [] })

      const acme = yield* askUntil<ResultOf<typeof tenantQuery>>("acme", "Tenant", {}, (result) => result.instances.total === 2)
      assert.deepStrictEqual([acme.clients.connected, acme.instances.byRole.production, acme.launches.underWay], [1, 1, 1])
      assert.isAbove(acme.events, 8)
      const beta = yield* askUntil<ResultOf<typeof tenantQuery>>("beta", "Tenant", {}, (result) => result.instances.total === 1)
      assert.deepStrictEqual([beta.clients.connected, beta.launches.underWay], [1, 0])

      // A query after a command sees what the command stored, without waiting.
      assert.isTrue((yield* send("acme", "RequestProduction", { clientId: "c1", launchId: "l2" })).ok)
      assert.strictEqual((yield* ask<ResultOf<typeof launchQuery>>("acme", "Launch", { launchId: "l2" })).result?.stage, "queued")

      // Another tenant's ids are unknown here; malformed bodies are refused before any row is read.
      assert.strictEqual((yield* ask("beta", "Launch", { launchId: "l1" })).error?.tag, "NotFound")
      assert.strictEqual((yield* ask("beta", "Profile", { clientId: "c1" })).error?.tag, "NotFound")
      assert.strictEqual((yield* ask("beta", "Forecast", { clientId: "c1" })).error?.tag, "NotFound")
      assert.strictEqual((yield* ask("acme", "Launches", { clientId: "nobody" })).error?.tag, "NotFound")
      assert.strictEqual((yield* ask("acme", "Profile", {})).error?.tag, "ValidationFailed")
      assert.strictEqual((yield* ask("acme", "Forecast", { clientId: "c1", from: 5 })).error?.tag, "ValidationFailed")
      assert.strictEqual((yield* ask("acme", "Fleet", [])).error?.tag, "ValidationFailed")
    }))
})
