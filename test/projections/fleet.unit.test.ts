import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { fleet } from "../../projections/fleet.ts"
import { fleetQuery } from "../../src/queries/fleetQuery.ts"
import { catchUp, deployAs, handleAs, readModelLayers, rebuildOf, recordHeartbeat, whileRebuilding } from "../support/readModelSpec.ts"

const byId = <Row extends { readonly instanceId: string }>(instances: ReadonlyArray<Row>): Record<string, Row> =>
  Object.fromEntries(instances.map((row) => [row.instanceId, row]))

describe("Fleet", () => {
  it.effect("given shadows, a pooled instance and a launch, then each instance shows its role, state, resources, image and last heartbeat", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", "2026-11-30T12:00:00.000Z")
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-a", runtimeId: "r1" })
      yield* handleAs("acme", "MarkInstanceReady", { instanceId: "shd-a" })
      yield* handleAs("acme", "ResizeInstance", { instanceId: "shd-a", resources: { cpuMillis: 250, memoryMiB: 256 }, reason: "observed use" })
      yield* recordHeartbeat("acme", "shd-a", 7, "2026-11-30T12:01:00.000Z")
      yield* deployAs("acme", "shd-b", "c2")
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-b", runtimeId: "r2" })
      yield* handleAs("acme", "RecycleInstance", { instanceId: "shd-b" })
      yield* deployAs("acme", "shd-c", "c3")
      yield* handleAs("acme", "TerminateInstance", { instanceId: "shd-c", reason: "done" })
      yield* handleAs("acme", "RequestProduction", { clientId: "c1", launchId: "l1" })
      const production = productionInstanceId("acme", "l1")
      yield* handleAs("acme", "StartProvisioning", {
        launchId: "l1",
        shadowInstanceId: "shd-a",
        productionInstanceId: production,
        tier: "basic",
        template: defaultTemplate,
        network: defaultNetwork,
        resources: { cpuMillis: 1000, memoryMiB: 1024 }
      })
      yield* handleAs("acme", "RecordProductionProvisioned", { launchId: "l1", runtimeId: "p1", cpuMillis: 1000, memoryMiB: 1024 })

      yield* catchUp(fleet)
      const { instances } = yield* fleetQuery("acme")
      const rows = byId(instances)
      assert.deepStrictEqual(Object.keys(rows).sort(), [production, "shd-a", "shd-b"].sort(), "the terminated instance is dropped")
      assert.deepStrictEqual(rows["shd-a"], {
        instanceId: "shd-a",
        clientId: "c1",
        role: "shadow",
        state: "ready",
        resources: { cpuMillis: 250, memoryMiB: 256 },
        image: defaultTemplate.image,
        created: "2026-11-30T12:00:00.000Z",
        lastHeartbeat: { seq: 7, at: "2026-11-30T12:01:00.000Z", ready: true }
      })
      assert.deepInclude(rows["shd-b"], { role: "pooled", state: "recycled", clientId: "c2" })
      assert.deepInclude(rows[production], { role: "production", state: "running", clientId: "c1", resources: { cpuMillis: 1000, memoryMiB: 1024 } })

      // Claimed from the pool, the instance is a shadow of its new client; a rolled-back launch's production goes.
      yield* handleAs("acme", "ClaimPooledInstance", { instanceId: "shd-b", clientId: "c4", resources: { cpuMillis: 125, memoryMiB: 128 } })
      yield* handleAs("acme", "RollBackLaunch", { launchId: "l1", reason: "gate" })
      yield* catchUp(fleet)
      const after = byId((yield* fleetQuery("acme")).instances)
      assert.deepStrictEqual(Object.keys(after).sort(), ["shd-a", "shd-b"])
      assert.deepInclude(after["shd-b"], { role: "shadow", state: "started", clientId: "c4" })
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given two tenants, then each sees only its own instances", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1")
      yield* deployAs("beta", "shd-a", "c1")
      yield* deployAs("beta", "shd-b", "c1")
      yield* handleAs("beta", "TerminateInstance", { instanceId: "shd-a", reason: "done" })
      yield* catchUp(fleet)
      assert.deepStrictEqual((yield* fleetQuery("acme")).instances.map((row) => row.instanceId), ["shd-a"])
      assert.deepStrictEqual((yield* fleetQuery("beta")).instances.map((row) => row.instanceId), ["shd-b"])
      assert.deepStrictEqual((yield* fleetQuery("gamma")).instances, [])
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("while the projection is rebuilt, the answer says so", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1")
      yield* catchUp(fleet)
      assert.deepStrictEqual(rebuildOf(yield* fleetQuery("acme")), { rebuilding: undefined, progress: undefined })
      const answer = yield* fleetQuery("acme").pipe(whileRebuilding(fleet))
      assert.deepStrictEqual(rebuildOf(answer), { rebuilding: true, progress: { folded: 1, total: 2 } })
      assert.strictEqual(answer.instances.length, 1)
    }).pipe(Effect.provide(readModelLayers)))
})
