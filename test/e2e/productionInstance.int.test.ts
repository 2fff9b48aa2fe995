import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect, Stream } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { EventBus } from "../../src/eventBus.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { decodeSignal } from "../../src/telemetry/signalDecoding.ts"
import { requestRaw, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { accepts } from "../support/tcpProbe.ts"
import { endpointOf, launchStream, newClientId, requestProduction, stateFiles } from "../support/launchHarness.ts"
import {
  countOf,
  docker,
  orchestratedControlPlaneLayer,
  shadowOf,
  shadowTestSettings,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"

type Runtime = "docker" | "process"

const statePath = sharedTemplate.statePaths[0]!
/** No pool: the released shadow is terminated, so that once the client disconnects nothing of it may be left. */
const settings = { ...shadowTestSettings, poolSize: 0 }

const instanceStream = (tenant: string, instanceId: string) => `instance-${tenant}.${instanceId}`
const hasEvent = (tenant: string, instanceId: string, type: string, times = 1) =>
  streamTypes(instanceStream(tenant, instanceId)).pipe(Effect.map((types) => countOf(types, type) >= times))

const serves = (url: string) => Effect.promise(() => fetch(url).then((r) => r.ok, () => false))

/** What production's workload said of its cache in its first telemetry sample after `sinceMs`: 1 when it found it warm. */
const cacheReusedSince = (tenant: string, instanceId: string, sinceMs: number) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const samples = yield* bus.followSignals({ filterSubject: `umbra.sig.${tenant}.${instanceId}.tm`, from: "start" }).pipe(
      Stream.map(decodeSignal),
      Stream.filter((signal) => signal?.kind === "tm" && Date.parse(signal.sample.at) > sinceMs && signal.sample.metrics?.["cacheReused"] !== undefined),
      Stream.take(1),
      Stream.runCollect,
      Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.succeed([]) })
    )
    const first = samples[0]
    return first?.kind === "tm" ? first.sample.metrics?.["cacheReused"] : undefined
  })

/** Kills production behind Umbra's back: its container, or its process group. */
const kill = (runtime: Runtime, runtimeId: string) =>
  runtime === "docker"
    ? Effect.promise(() => docker.getContainer(runtimeId).kill())
    : Effect.sync(() => process.kill(-Number(runtimeId), "SIGKILL"))

/** What the runtime keeps of the tenant's instances: containers and volumes (Docker), instance directories (processes). */
const leftovers = (runtime: Runtime, tenant: string, instanceIds: ReadonlyArray<string>) =>
  runtime === "docker"
    ? Effect.promise(async () => {
      const filters = { label: [`umbra.tenant=${tenant}`] }
      const containers = (await docker.listContainers({ all: true, filters })).map((c) => c.Id)
      const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name)
      return [...containers, ...volumes]
    })
    : Effect.sync(() =>
      // The harness's data directory is a temporary one; the tenant is this file's own, so only its instances match.
      readdirSync(tmpdir()).filter((name) => name.startsWith("umbra-shadows-"))
        .flatMap((name) => instanceIds.map((instanceId) => instanceDir(join(tmpdir(), name), tenant, instanceId)))
        .filter((dir) => existsSync(dir))
    )

for (const runtime of ["docker", "process"] as const) {
  const tenant = testTenant(runtime === "docker" ? "pd" : "pp")
  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(orchestratedControlPlaneLayer(tenant, runtime, settings), { excludeTestServices: true, timeout: "600 seconds" })(`production as an instance (${runtime})`, (it) => {
    it.effect("after a completed launch: killed → HeartbeatLost, recreated on its state, serving again; RefineProfile → resized live; DisconnectClient → nothing of the client left", () =>
      Effect.gen(function* () {
        const instances = yield* InstanceRuntime
        const clientId = newClientId()
        assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "basic", template: sharedTemplate })).ok)
        yield* eventually(shadowOf(tenant, clientId).pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
        const shadow = (yield* shadowOf(tenant, clientId))!
        yield* eventually(hasEvent(tenant, shadow, "InstanceReady"), 90_000, "shadow ready")
        yield* eventually(stateFiles(tenant, shadow, statePath).pipe(Effect.map((files) => "manifest.json" in files)), 30_000, "shadow cache built")

        const launchId = yield* requestProduction(tenant, clientId)
        const production = productionInstanceId(tenant, launchId)
        yield* eventually(streamTypes(launchStream(tenant, launchId)).pipe(Effect.map((types) => types.includes("ShadowReleased"))), 150_000, "launch released")
        const endpoint = yield* endpointOf(tenant, launchId)
        yield* eventually(hasEvent(tenant, production, "InstanceReady"), 30_000, "production ready as an instance")
        // Its lifecycle from the start; a refinement of the profile during the launch may resize it on the way.
        const lifecycle = (yield* streamTypes(instanceStream(tenant, production))).filter((type) => type !== "InstanceResized")
        assert.deepStrictEqual(lifecycle.slice(0, 3), ["ProductionRequested", "InstanceStarted", "InstanceReady"])
        const fleet = (yield* requestRaw(`umbra.query.${tenant}.Fleet`, "{}")) as unknown as {
          readonly result: { readonly instances: ReadonlyArray<{ readonly instanceId: string; readonly role: string; readonly state: string }> }
        }
        assert.deepInclude(fleet.result.instances.find((row) => row.instanceId === production), { role: "production", state: "ready" })
        // The workload writes its identity anew at every start; the rest is the state it was given.
        const { ["identity.json"]: _, ...state } = yield* stateFiles(tenant, production, statePath)
        assert.property(state, "manifest.json")

        // Killed behind Umbra's back: the watchdog finds it silent, and it runs again on its own state.
        const before = (yield* instances.inspect({ tenant, instanceId: production }))!
        const killedAtMs = Date.now()
        yield* kill(runtime, before.runtimeId)
        yield* eventually(hasEvent(tenant, production, "InstanceRecreated"), 90_000, "production recreated")
        yield* eventually(hasEvent(tenant, production, "InstanceReady", 2), 90_000, "production ready again")
        const types = yield* streamTypes(instanceStream(tenant, production))
        assert.strictEqual(countOf(types, "HeartbeatLost"), 1)
        assert.strictEqual(countOf(types, "InstanceRecreated"), 1)
        yield* eventually(serves(endpoint), 30_000, "the endpoint serving again")
        const { ["identity.json"]: __, ...after } = yield* stateFiles(tenant, production, statePath)
        assert.deepStrictEqual(after, state, "its state is still there, unchanged")
        assert.strictEqual(yield* cacheReusedSince(tenant, production, killedAtMs), 1, "the workload started again on the cache it had")
        const recreated = (yield* instances.list({ tenant })).filter((info) => info.instanceId === production)
        assert.strictEqual(recreated.length, 1)
        assert.isTrue(recreated[0]!.running)

        // Refined: production at the profile's full size, live, on the same container (or process).
        const running = recreated[0]!.runtimeId
        assert.isTrue((yield* send(tenant, "RefineProfile", { clientId, expected: { cpuMillis: 1000, memoryMiB: 768 }, reason: "manual" })).ok)
        yield* eventually(
          instances.inspect({ tenant, instanceId: production }).pipe(Effect.map((info) => info?.cpuMillis === 1000 && info.memoryMiB === 768)),
          30_000,
          "production's new limits"
        )
        assert.deepInclude(yield* instances.inspect({ tenant, instanceId: production }), { runtimeId: running, running: true })
        assert.isTrue(yield* hasEvent(tenant, production, "InstanceResized"))
        assert.isTrue(yield* serves(endpoint))

        // The client goes: its production, its state and its endpoint with it.
        assert.isTrue((yield* send(tenant, "DisconnectClient", { clientId })).ok)
        yield* eventually(hasEvent(tenant, production, "InstanceTerminated"), 30_000, "production terminated")
        yield* eventually(instances.list({ tenant }).pipe(Effect.map((all) => all.length === 0)), 60_000, "no instance of the client")
        yield* eventually(accepts(Number(new URL(endpoint).port)).pipe(Effect.map((ok) => !ok)), 30_000, "the endpoint closed")
        // The runtime forgets an instance before its files are all deleted: under load that takes a moment.
        yield* eventually(leftovers(runtime, tenant, [production, shadow]).pipe(Effect.map((left) => left.length === 0)), 30_000, "no container, volume or directory left")
        assert.deepStrictEqual((yield* streamTypes(launchStream(tenant, launchId))).at(-1), "ProductionRetired")
      }), 500_000)
  }))
}
