import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ClientId, LaunchId } from "../../domain/ids.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { launches } from "../../projections/launches.ts"
import { launchTimeline } from "../../projections/launchTimeline.ts"
import { loadLaunch } from "../../src/launch/launchState.ts"
import { launchesQuery } from "../../src/queries/launchesQuery.ts"
import { launchQuery } from "../../src/queries/launchQuery.ts"
import { catchUp, handleAs, readModelLayers, rebuildOf, whileRebuilding } from "../support/readModelSpec.ts"

const start = Date.parse("2026-11-30T12:00:00.000Z")
const iso = (ms: number) => new Date(ms).toISOString()

/** What the step before `weight` passed with, told apart by its request count. */
const readingAfter = (weight: number) => ({ heldMs: 10_000, traffic: { requests: 400 + weight, errors: 0, p99Ms: 38 }, heartbeatP99Ms: 4 })

/** Drives a launch of `clientId` through every step to its shadow's release, a second apart. */
const fullLaunch = (tenant: string, launchId: string, clientId: string, fromMs = start) =>
  Effect.gen(function* () {
    let step = 0
    const next = (type: string, data: Record<string, unknown>) => handleAs(tenant, type, { launchId, ...data }, iso(fromMs + step++ * 1_000))
    yield* next("RequestProduction", { clientId, priority: 3 })
    yield* next("StartProvisioning", {
      shadowInstanceId: `shd-${clientId}`,
      productionInstanceId: productionInstanceId(tenant, launchId),
      tier: "basic",
      template: defaultTemplate,
      network: defaultNetwork,
      resources: { cpuMillis: 500, memoryMiB: 512 },
      endpointPort: 31_234
    })
    yield* next("RecordProductionProvisioned", { runtimeId: "p1", cpuMillis: 500, memoryMiB: 512 })
    yield* next("StartStateTransfer", {})
    yield* next("RecordStateTransfer", { bytes: 2048, files: 3, checksum: "a".repeat(64), ms: 40, reset: ["identity.json"] })
    for (const weight of [5, 25, 50, 100]) yield* next("ShiftTraffic", weight === 5 ? { weight } : { weight, passed: readingAfter(weight) })
    yield* next("CompleteLaunch", { shadowDisposition: "recycled", passed: readingAfter(101) })
    yield* next("RecordShadowReleased", { disposition: "recycled" })
  })

const l = (id: string) => ({ launchId: id as LaunchId })

describe("Launches and Launch", () => {
  it.effect("given a whole launch, then the Launch query answers from the model what folding its stream answers", () =>
    Effect.gen(function* () {
      yield* fullLaunch("acme", "l1", "c1")
      yield* catchUp(launches)
      const answer = yield* launchQuery("acme", l("l1"))
      const folded = launchTimeline((yield* loadLaunch("acme", "l1")).events)!
      assert.deepStrictEqual(answer, { ...folded, endpoint: "http://127.0.0.1:31234" })
      assert.deepInclude(answer, { stage: "released", weight: 100, priority: 3, shadowDisposition: "recycled" })
      assert.deepStrictEqual(answer.stages.map((stage) => stage.stage), [
        "queued", "provisioning", "provisioned", "transferring", "transferred", "weight-5", "weight-25", "weight-50", "weight-100", "completed", "shadowReleased"
      ])
      assert.deepStrictEqual(answer.stages.at(-1), { stage: "shadowReleased", at: iso(start + 10_000), sinceRequestMs: 10_000, sincePreviousMs: 1_000 })
      assert.deepStrictEqual(answer.transfer, { bytes: 2048, files: 3, checksum: "a".repeat(64), ms: 40 })
      assert.deepStrictEqual(
        answer.stages.filter((stage) => stage.stage.startsWith("weight-")).map((stage) => [stage.stage, stage.passed]),
        [["weight-5", readingAfter(25)], ["weight-25", readingAfter(50)], ["weight-50", readingAfter(100)], ["weight-100", readingAfter(101)]],
        "each step keeps the readings it passed with"
      )
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given launches of two clients, one rolled back, then Launches lists each with its outcome, all or one client's", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("acme", "ConnectClient", { clientId: "c2", tier: "basic" })
      yield* handleAs("acme", "ConnectClient", { clientId: "c3", tier: "basic" })
      yield* fullLaunch("acme", "l-b", "c1", start)
      yield* handleAs("acme", "RequestProduction", { launchId: "l-a", clientId: "c2" }, iso(start + 60_000))
      yield* handleAs("acme", "RollBackLaunch", { launchId: "l-a", reason: "error rate" }, iso(start + 61_000))
      yield* handleAs("acme", "RequestProduction", { launchId: "l-c", clientId: "c1" }, iso(start + 120_000))
      yield* catchUp(launches)

      const all = (yield* launchesQuery("acme", {})).launches
      assert.deepStrictEqual(all.map(({ launchId, clientId, stage, outcome }) => [launchId, clientId, stage, outcome]), [
        ["l-b", "c1", "released", "completed"],
        ["l-a", "c2", "rolledBack", "rolledBack"],
        ["l-c", "c1", "queued", "underWay"]
      ])
      assert.deepStrictEqual(all[1]!.rollback, { reason: "error rate", stage: "queued" })
      assert.deepStrictEqual(all[0]!.stages.find((stage) => stage.stage === "weight-50")?.passed, readingAfter(100), "Launches answers the readings")
      const ofC1 = (yield* launchesQuery("acme", { clientId: "c1" as ClientId })).launches
      assert.deepStrictEqual(ofC1.map((launch) => launch.launchId), ["l-b", "l-c"])
      assert.deepStrictEqual((yield* launchesQuery("acme", { clientId: "c3" as ClientId })).launches, [])
      assert.strictEqual((yield* launchesQuery("acme", { clientId: "c9" as ClientId }).pipe(Effect.flip))._tag, "NotFound")
      assert.strictEqual((yield* launchQuery("acme", l("nope")).pipe(Effect.flip))._tag, "NotFound")
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given two tenants, then each sees only its own launches", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("acme", "RequestProduction", { launchId: "l1", clientId: "c1" })
      yield* handleAs("beta", "RequestProduction", { launchId: "l2", clientId: "c1" })
      yield* catchUp(launches)
      assert.deepStrictEqual((yield* launchesQuery("acme", {})).launches.map((launch) => launch.launchId), ["l1"])
      assert.deepStrictEqual((yield* launchesQuery("beta", {})).launches.map((launch) => launch.launchId), ["l2"])
      assert.strictEqual((yield* launchQuery("beta", l("l1")).pipe(Effect.flip))._tag, "NotFound")
      assert.strictEqual((yield* launchesQuery("beta", { clientId: "c1" as ClientId }).pipe(Effect.flip))._tag, "NotFound", "beta's c1 never connected")
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("while the projection is rebuilt, both answers say so", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "RequestProduction", { launchId: "l1", clientId: "c1" })
      yield* catchUp(launches)
      const rebuilding = { rebuilding: true, progress: { folded: 1, total: 2 } }
      assert.deepStrictEqual(rebuildOf(yield* launchesQuery("acme", {}).pipe(whileRebuilding(launches))), rebuilding)
      assert.deepStrictEqual(rebuildOf(yield* launchQuery("acme", l("l1")).pipe(whileRebuilding(launches))), rebuilding)
    }).pipe(Effect.provide(readModelLayers)))
})
