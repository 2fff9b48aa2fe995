import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { shadowInstanceId } from "../../domain/instance/shadowInstanceId.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import * as sqliteStore from "../../infra/eventStore/sqliteEventStore.ts"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { controlPlaneClientLayer, send, TestDataDir } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { orchestratedServe, runtimeBesideServe, stopProcess } from "../support/serveProcess.ts"
import { docker, imagesLayer, sharedTemplate, testTenant } from "../support/shadowHarness.ts"

type Runtime = "docker" | "process"

/** The runtime `umbra serve` will use, for the test's own view of the instances (same engine, same data directory). */
const testLayer = (runtime: Runtime, tenant: string) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const dataDir = yield* TestDataDir
      const instances = runtimeBesideServe(runtime, server.url, dataDir)
      // Every instance of the tenant goes when the file ends, whatever a failed test left.
      const cleanup = Layer.effectDiscard(
        Effect.addFinalizer(() =>
          InstanceRuntime.use((r) => r.list({ tenant }).pipe(Effect.flatMap(Effect.forEach((info) => r.remove(info))))).pipe(
            Effect.ignore
          )
        )
      )
      return cleanup.pipe(Layer.provideMerge(instances))
    })
  ).pipe(Layer.provideMerge(controlPlaneClientLayer), Layer.provideMerge(imagesLayer(tenant)))

/** Kills a shadow behind Umbra's back: the container, or the process group. */
const killShadow = (runtime: Runtime, runtimeId: string) =>
  runtime === "docker"
    ? Effect.promise(() => docker.getContainer(runtimeId).kill())
    : Effect.sync(() => process.kill(-Number(runtimeId), "SIGKILL"))

for (const runtime of ["docker", "process"] as const) {
  const tenant = testTenant(runtime === "docker" ? "sc" : "sq")
  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(testLayer(runtime, tenant), { excludeTestServices: true, timeout: "300 seconds" })(`shadows (${runtime}) across a crash of Umbra`, (it) => {
    it.effect("after a SIGKILL with shadows running, a restart leaves exactly the expected instances", () =>
      Effect.gen(function* () {
        const server = yield* NatsTestServer
        const dataDir = yield* TestDataDir
        const storeLayer = sqliteStore.layerFile(join(dataDir, "events.db"))
        const readStream = (stream: string) =>
          Effect.gen(function* () {
            return yield* (yield* EventStore).readStream(stream)
          }).pipe(Effect.provide(storeLayer))
        const shadowOf = (clientId: string) =>
          readStream(`profile-${tenant}.${clientId}`).pipe(
            Effect.map((events) => events.find((e) => e.type === "ProfileCreated")),
            Effect.map((created) => (created === undefined ? undefined : shadowInstanceId(tenant, clientId, created.id)))
          )
        const types = (instanceId: string) => readStream(`instance-${tenant}.${instanceId}`).pipe(Effect.map((events) => events.map((e) => e.type)))
        const countOf = (instanceId: string, type: string) => types(instanceId).pipe(Effect.map((all) => all.filter((t) => t === type).length))

        const instances = yield* InstanceRuntime
        const running = instances.list({ tenant }).pipe(Effect.map((all) => all.filter((info) => info.running)))
        const runtimeIdOf = (instanceId: string) => running.pipe(Effect.map((all) => all.find((info) => info.instanceId === instanceId)?.runtimeId))
        const first = yield* orchestratedServe(runtime, server.url, dataDir)
        for (const clientId of ["c1", "c2"]) {
          assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "standard", template: sharedTemplate })).ok)
        }
        yield* eventually(Effect.map(Effect.all([shadowOf("c1"), shadowOf("c2")]), ([a, b]) => a !== undefined && b !== undefined), 30_000, "profiles")
        const lost = (yield* shadowOf("c1"))!
        const kept = (yield* shadowOf("c2"))!
        for (const id of [lost, kept]) yield* eventually(countOf(id, "InstanceReady").pipe(Effect.map((n) => n === 1)), 90_000, `${id} ready`)
        const keptContainer = (yield* runtimeIdOf(kept))!

        yield* stopProcess(first, "SIGKILL")
        // While Umbra is down: one shadow dies, and a container appears that no event accounts for.
        const lostContainer = (yield* runtimeIdOf(lost))!
        yield* killShadow(runtime, lostContainer)
        yield* instances.create({
          tenant, clientId: "ghost", instanceId: "shd-orphan", role: "shadow", image: sampleWorkloadImage, env: { UMBRA_HEARTBEAT_MS: "500" },
          statePaths: ["/var/lib/umbra/state"], cpuMillis: 100, memoryMiB: 256, network: defaultNetwork
        })

        const second = yield* orchestratedServe(runtime, server.url, dataDir)
        yield* eventually(countOf(lost, "InstanceReady").pipe(Effect.map((n) => n === 2)), 90_000, "the lost shadow recreated and ready")
        yield* eventually(instances.list({ tenant }).pipe(Effect.map((all) => all.length === 2)), 30_000, "the orphan removed")
        const all = yield* instances.list({ tenant })
        assert.sameMembers(all.map((info) => info.instanceId), [lost, kept])
        assert.isTrue(all.every((info) => info.running))
        assert.include(all.map((info) => info.runtimeId), keptContainer, "the surviving shadow was adopted, not replaced")
        assert.notInclude(all.map((info) => info.runtimeId), lostContainer)
        assert.strictEqual(yield* countOf(lost, "InstanceRecreated"), 1)
        assert.strictEqual(yield* countOf(kept, "InstanceRecreated"), 0)
        yield* stopProcess(second, "SIGTERM")
      }), 280_000)
  }))
}
