import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { tenant } from "../../projections/tenant.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { tenantQuery, tenantSummary } from "../../src/queries/tenantQuery.ts"
import { catchUp, deployAs, handleAs, readModelLayers, rebuildOf, recordHeartbeat, whileRebuilding } from "../support/readModelSpec.ts"

/** Every event the store holds of `name`. */
const eventsOf = (name: string) =>
  EventStore.use((store) => store.readAll({ limit: 10_000 })).pipe(Effect.map((events) => events.filter((event) => event.tenant === name).length))

describe("Tenant", () => {
  it.effect("given clients, instances, launches and heartbeats, then the counts by kind, role, state and outcome, and every event", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("acme", "ConnectClient", { clientId: "c2", tier: "basic" })
      yield* handleAs("acme", "ConnectClient", { clientId: "c3", tier: "basic" })
      yield* handleAs("acme", "DisconnectClient", { clientId: "c3" })
      yield* deployAs("acme", "shd-a", "c1")
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-a", runtimeId: "r1" })
      yield* handleAs("acme", "MarkInstanceReady", { instanceId: "shd-a" })
      yield* recordHeartbeat("acme", "shd-a", 0, "2026-11-30T12:00:01.000Z")
      yield* deployAs("acme", "shd-b", "c2")
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-b", runtimeId: "r2" })
      yield* handleAs("acme", "RecycleInstance", { instanceId: "shd-b" })
      yield* deployAs("acme", "shd-c", "c3")
      yield* handleAs("acme", "TerminateInstance", { instanceId: "shd-c", reason: "client left" })
      yield* handleAs("acme", "RequestProduction", { clientId: "c1", launchId: "l1" })
      yield* handleAs("acme", "StartProvisioning", {
        launchId: "l1",
        shadowInstanceId: "shd-a",
        productionInstanceId: productionInstanceId("acme", "l1"),
        tier: "basic",
        template: defaultTemplate,
        network: defaultNetwork,
        resources: { cpuMillis: 500, memoryMiB: 512 }
      })
      yield* handleAs("acme", "RequestProduction", { clientId: "c2", launchId: "l2" })
      yield* handleAs("acme", "RollBackLaunch", { launchId: "l2", reason: "gate" })
      yield* catchUp(tenant)

      const summary = yield* tenantSummary("acme")
      assert.deepStrictEqual(summary, {
        clients: { connected: 2, disconnected: 1 },
        instances: {
          total: 3,
          byRole: { shadow: 1, production: 1, pooled: 1 },
          byState: { requested: 0, started: 0, ready: 1, lost: 0, recycled: 1, provisioning: 1, running: 0 }
        },
        launches: { underWay: 1, completed: 0, rolledBack: 1 },
        events: yield* eventsOf("acme")
      })
      assert.deepStrictEqual(yield* tenantQuery("acme"), summary)
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given two tenants, then each summary counts only its own; a tenant with nothing counts zeros", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("beta", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* handleAs("beta", "ConnectClient", { clientId: "c2", tier: "basic" })
      yield* deployAs("beta", "shd-a", "c1")
      yield* catchUp(tenant)
      const acme = yield* tenantSummary("acme")
      const beta = yield* tenantSummary("beta")
      assert.deepStrictEqual([acme.clients.connected, acme.instances.total, acme.events], [1, 0, yield* eventsOf("acme")])
      assert.deepStrictEqual([beta.clients.connected, beta.instances.total, beta.events], [2, 1, yield* eventsOf("beta")])
      const none = yield* tenantSummary("gamma")
      assert.deepStrictEqual([none.clients, none.instances.total, none.launches, none.events], [{ connected: 0, disconnected: 0 }, 0, { underWay: 0, completed: 0, rolledBack: 0 }, 0])
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("while the projection is rebuilt, the answer says so", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "ConnectClient", { clientId: "c1", tier: "basic" })
      yield* catchUp(tenant)
      const answer = yield* tenantQuery("acme").pipe(whileRebuilding(tenant))
      assert.deepStrictEqual(rebuildOf(answer), { rebuilding: true, progress: { folded: 1, total: 2 } })
      assert.strictEqual(answer.clients.connected, 1)
    }).pipe(Effect.provide(readModelLayers)))
})
