// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { control } from "../support/instanceSignals.ts"
import { stateFiles as archivedFiles } from "../support/launchHarness.ts"
import {
  containersOf,
  countOf,
  docker,
  orchestratedControlPlaneLayer,
  shadowOf as shadowOfClient,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"
import { tenantKey } from "../../domain/tenantKey.ts"

const tenant = testTenant("sh")
const instanceStream = (instanceId: string) => `instance-${tenant}.${instanceId}`

const shadowOf = (clientId: string) => shadowOfClient(tenant, clientId)

const awaitShadow = (clientId: string) =>
  Effect.gen(function* () {
    yield* eventually(shadowOf(clientId).pipe(Effect.map((id) => id !== undefined)), 20_000, `a profile for ${clientId}`)
    return (yield* shadowOf(clientId))!
  })

const runningContainers = (instanceId: string) =>
  containersOf(tenant, [`umbra.instance=${instanceId}`]).pipe(Effect.map((all) => all.filter((c) => c.State === "running")))

const hasEvent = (instanceId: string, type: string, times = 1) =>
  streamTypes(instanceStream(instanceId)).pipe(Effect.map((types) => countOf(types, type) >= times))

layer(orchestratedControlPlaneLayer(tenant), { excludeTestServices: true, timeout: "300 seconds" })("shadows on Docker", (it) => {
  let instanceId = ""
  let containerId = ""

  it.effect("ConnectClient → a running shadow container with limits and labels → InstanceReady", () =>
    Effect.gen(function* () {
      const reply = yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "standard", template: sharedTemplate })
      assert.isTrue(reply.ok, JSON.stringify(reply))
      instanceId = yield* awaitShadow("c1")
      yield* eventually(hasEvent(instanceId, "InstanceReady"), 90_000, "InstanceReady")
      const [container] = yield* runningContainers(instanceId)
      containerId = container!.Id
      const inspected = yield* Effect.promise(() => docker.getContainer(containerId).inspect())
      // standard: 2000 mCPU / 4096 MiB expected; the shadow gets a quarter.
      assert.strictEqual(inspected.HostConfig.NanoCpus, 500_000_000)
      assert.strictEqual(inspected.HostConfig.Memory, 1024 * 1024 * 1024)
      assert.deepInclude(inspected.Config.Labels, { "umbra.tenant": tenant, "umbra.client": "c1", "umbra.instance": instanceId, "umbra.role": "shadow" })
      assert.deepStrictEqual(yield* streamTypes(instanceStream(instanceId)), ["ShadowRequested", "InstanceStarted", "InstanceReady"])
    }), 180_000)

  it.effect("docker kill of the shadow → HeartbeatLost → one new container, InstanceRecreated once", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => docker.getContainer(containerId).kill())
      yield* eventually(hasEvent(instanceId, "InstanceRecreated"), 60_000, "InstanceRecreated")
      yield* eventually(hasEvent(instanceId, "InstanceReady", 2), 90_000, "ready again")
      const types = yield* streamTypes(instanceStream(instanceId))
      assert.strictEqual(countOf(types, "HeartbeatLost"), 1)
      assert.strictEqual(countOf(types, "InstanceRecreated"), 1)
      const all = yield* containersOf(tenant, [`umbra.instance=${instanceId}`])
      assert.strictEqual(all.length, 1, "the killed container was removed")
      assert.notStrictEqual(all[0]!.Id, containerId)
      assert.strictEqual(all[0]!.State, "running")
      containerId = all[0]!.Id
    }), 180_000)

  it.effect("RefineProfile → InstanceResized: the same container, new limits", () =>
    Effect.gen(function* () {
      const reply = yield* send(tenant, "RefineProfile", { clientId: "c1", expected: { cpuMillis: 4000, memoryMiB: 6144 }, reason: "forecast" })
      assert.isTrue(reply.ok, JSON.stringify(reply))
      yield* eventually(hasEvent(instanceId, "InstanceResized"), 30_000, "InstanceResized")
      yield* eventually(
        Effect.promise(() => docker.getContainer(containerId).inspect()).pipe(
          Effect.map((c) => c.HostConfig.NanoCpus === 1_000_000_000 && c.HostConfig.Memory === 1536 * 1024 * 1024)
        ),
        30_000,
        "the new limits on the container"
      )
      const [container] = yield* runningContainers(instanceId)
      assert.strictEqual(container!.Id, containerId, "resized live, not restarted")
    }), 180_000)

  it.effect("a disconnected client's shadow is recycled and reused for the next client of the same image and tier", () =>
    Effect.gen(function* () {
      const stateFiles = control(yield* NatsConnection, tenant, instanceId, "statePaths").pipe(
        Effect.map((reply) => (reply.ok && reply.op === "statePaths" ? reply.paths.reduce((n, p) => n + p.files, 0) : -1))
      )
      yield* eventually(stateFiles.pipe(Effect.map((files) => files > 0)), 30_000, "the warm cache in the state path")
      const identity = archivedFiles(tenant, instanceId, sharedTemplate.statePaths[0]!).pipe(Effect.map((files) => files["identity.json"]))
      const c1 = yield* identity
      assert.isDefined(c1)
      assert.isTrue((yield* send(tenant, "DisconnectClient", { clientId: "c1" })).ok)
      yield* eventually(hasEvent(instanceId, "InstanceRecycled"), 30_000, "InstanceRecycled")
      // Scrubbed, then a run of its workload for no client (this template has no shared path: it builds its cache again).
      yield* eventually(identity.pipe(Effect.map((now) => now !== undefined && now !== c1)), 30_000, "the recycled shadow scrubbed and its workload started for the pool")
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c2", tier: "standard", template: sharedTemplate })).ok)
      yield* eventually(hasEvent(instanceId, "InstanceClaimed"), 30_000, "InstanceClaimed")
      const telemetry = yield* TelemetryReadModel
      yield* eventually(
        telemetry.keys("client", "1m").pipe(Effect.map((keys) => keys.includes(tenantKey(tenant, "c2")))),
        30_000,
        "the claimed shadow's telemetry counted for its new client"
      )
      yield* eventually(hasEvent(instanceId, "InstanceReady", 3), 30_000, "ready for the new client")
      // The pool's run serves c2: the cache emptied for the pool is there again.
      yield* eventually(stateFiles.pipe(Effect.map((files) => files > 0)), 30_000, "the claimed shadow's cache built again")
      const all = yield* containersOf(tenant)
      assert.deepStrictEqual(all.map((c) => c.Id), [containerId], "the pooled container, and no fresh one")
      const fresh = yield* shadowOf("c2")
      assert.deepStrictEqual(yield* streamTypes(instanceStream(fresh!)), [], "no shadow was requested for c2")
    }), 180_000)

  it.effect("a template whose image the engine lacks: each start refused and recorded with the image it lacks, the shadow given up at the limit", () =>
    Effect.gen(function* () {
      const missing = { ...sharedTemplate, image: "umbra/not-built-here:1" }
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c3", tier: "basic", template: missing })).ok)
      const shadow = yield* awaitShadow("c3")
      yield* eventually(hasEvent(shadow, "InstanceTerminated"), 60_000, "the shadow given up")
      const events = yield* EventStore.use((store) => store.readStream(instanceStream(shadow)))
      assert.deepStrictEqual(events.map((event) => event.type), ["ShadowRequested", ...Array(3).fill("InstanceStartFailed"), "InstanceTerminated"])
      assert.strictEqual((events[1]!.data as { reason: string }).reason, "the runtime refused it: no such image: umbra/not-built-here:1")
      assert.deepStrictEqual(yield* containersOf(tenant, [`umbra.instance=${shadow}`]), [])
    }), 120_000)
})
