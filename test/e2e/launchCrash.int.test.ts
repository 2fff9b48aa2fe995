// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import * as dockerRuntime from "../../infra/docker/dockerRuntime.ts"
import * as sqliteStore from "../../infra/eventStore/sqliteEventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { controlPlaneClientLayer, send, TestDataDir } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { endpointOf, launchStream, newClientId, queryLaunch, requestProduction } from "../support/launchHarness.ts"
import { serveProcess, stopProcess } from "../support/serveProcess.ts"
import { containersOf, countOf, imagesLayer, shadowOf, shadowTestSettings, sharedTemplate, streamTypes, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("lc")

/** `umbra serve` on Docker as its own OS process, with steps held long enough to be killed in the middle of the shift. */
const startServe = (natsUrl: string, dataDir: string) =>
  serveProcess(
    {
      NATS_URL: natsUrl,
      UMBRA_DATA_DIR: dataDir,
      UMBRA_ORCHESTRATOR: "on",
      UMBRA_RUNTIME: "docker",
      UMBRA_HEARTBEAT_MS: String(shadowTestSettings.heartbeatMs),
      UMBRA_SHADOW_MIN_MEMORY_MIB: String(shadowTestSettings.shadowMinMemoryMiB),
      UMBRA_LAUNCH_HOLD_MS: "3000"
    },
    "Umbra orchestrator running"
  )

/** The test's own view: the same Docker engine and the same SQLite event store as `umbra serve`. */
const testLayer = Layer.unwrap(
  Effect.gen(function* () {
    const server = yield* NatsTestServer
    const dataDir = yield* TestDataDir
    const cleanup = Layer.effectDiscard(
      Effect.addFinalizer(() =>
        InstanceRuntime.use((r) => r.list({ tenant }).pipe(Effect.flatMap(Effect.forEach((info) => r.remove(info))))).pipe(Effect.ignore)
      )
    )
    return cleanup.pipe(
      Layer.provideMerge(dockerRuntime.layer({ natsUrl: server.url, stopTimeoutSeconds: 2 })),
      Layer.provideMerge(sqliteStore.layerFile(join(dataDir, "events.db")))
    )
  })
).pipe(Layer.provideMerge(controlPlaneClientLayer), Layer.provideMerge(imagesLayer(tenant)))

layer(testLayer, { excludeTestServices: true, timeout: "600 seconds" })("a launch across a crash of Umbra", (it) => {
  it.effect("SIGKILL in the middle of the shift: after a restart the launch ends, with exactly the expected containers", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const dataDir = yield* TestDataDir
      const first = yield* startServe(server.url, dataDir)
      const clientId = newClientId()
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "basic", template: sharedTemplate })).ok)
      yield* eventually(shadowOf(tenant, clientId).pipe(Effect.map((id) => id !== undefined)), 30_000, "a profile")
      const shadow = (yield* shadowOf(tenant, clientId))!
      yield* eventually(streamTypes(`instance-${tenant}.${shadow}`).pipe(Effect.map((types) => types.includes("InstanceReady"))), 90_000, "shadow ready")

      const launchId = yield* requestProduction(tenant, clientId)
      const production = productionInstanceId(tenant, launchId)
      const shifts = streamTypes(launchStream(tenant, launchId)).pipe(Effect.map((types) => countOf(types, "TrafficShifted")))
      yield* eventually(shifts.pipe(Effect.map((n) => n >= 2)), 120_000, "the shift under way")
      const endpoint = yield* endpointOf(tenant, launchId)
      yield* stopProcess(first, "SIGKILL")
      const shiftedBeforeCrash = yield* shifts

      const second = yield* startServe(server.url, dataDir)
      const ended = streamTypes(launchStream(tenant, launchId)).pipe(
        Effect.map((types) => types.includes("ShadowReleased") || types.includes("LaunchRolledBack"))
      )
      yield* eventually(ended, 120_000, "the launch ended")
      const types = yield* streamTypes(launchStream(tenant, launchId))
      const { result: timeline } = yield* queryLaunch(tenant, launchId)
      const weights = timeline!.stages.filter((s) => s.stage.startsWith("weight-")).map((s) => s.stage)
      assert.deepStrictEqual(weights, [...new Set(weights)], "no step recorded twice")
      assert.isAtLeast(weights.length, shiftedBeforeCrash)
      assert.strictEqual(countOf(types, "ProductionProvisioned"), 1)

      // One container ever for production: the restart adopted it instead of making another.
      const productionContainers = yield* containersOf(tenant, [`umbra.instance=${production}`])
      const shadowContainers = yield* containersOf(tenant, [`umbra.instance=${shadow}`])
      if (types.includes("ShadowReleased")) {
        assert.lengthOf(productionContainers, 1)
        assert.strictEqual(productionContainers[0]!.State, "running")
        assert.strictEqual(timeline?.stage, "released")
        // The endpoint came back on the port the plan recorded, serving production.
        assert.strictEqual(timeline?.endpoint, endpoint)
        yield* eventually(Effect.promise(() => fetch(endpoint).then((r) => r.ok, () => false)), 30_000, "the endpoint serving after the restart")
        if (timeline?.shadowDisposition === "recycled") assert.lengthOf(shadowContainers, 1)
        else assert.lengthOf(shadowContainers, 0)
      } else {
        yield* eventually(containersOf(tenant, [`umbra.instance=${production}`]).pipe(Effect.map((all) => all.length === 0)), 30_000, "production removed")
        assert.lengthOf(shadowContainers, 1)
        assert.strictEqual(shadowContainers[0]!.State, "running")
      }
      const all = yield* containersOf(tenant)
      assert.sameMembers(all.map((c) => c.Labels["umbra.instance"]), [
        ...(types.includes("ShadowReleased") ? [production] : []),
        ...(shadowContainers.length > 0 ? [shadow] : [])
      ])
      yield* stopProcess(second, "SIGTERM")
    }), 500_000)
})
