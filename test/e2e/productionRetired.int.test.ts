import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { accepts } from "../support/tcpProbe.ts"
import { endpointOf, launchStream, newClientId, queryLaunch, requestProduction } from "../support/launchHarness.ts"
import { docker, orchestratedControlPlaneLayer, shadowOf, streamTypes, testTenant } from "../support/shadowHarness.ts"

/** What the runtime keeps of an instance beside the instance itself: its volumes (Docker) or its directory (processes). */
const leftoversOf = (runtime: "docker" | "process", tenant: string, instanceId: string) =>
  runtime === "docker"
    ? Effect.promise(() => docker.listVolumes({ filters: { label: [`umbra.tenant=${tenant}`, `umbra.instance=${instanceId}`] } })).pipe(
      Effect.map((volumes) => (volumes.Volumes ?? []).map((volume) => volume.Name))
    )
    : Effect.sync(() =>
      // The harness's data directory is a temporary one; the tenant is this file's own, so only its instance matches.
      readdirSync(tmpdir()).filter((name) => name.startsWith("umbra-shadows-"))
        .map((name) => instanceDir(join(tmpdir(), name), tenant, instanceId))
        .filter((dir) => existsSync(dir))
    )

for (const runtime of ["process", "docker"] as const) {
  const tenant = testTenant(runtime === "docker" ? "rd" : "rp")
  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(orchestratedControlPlaneLayer(tenant, runtime), { excludeTestServices: true, timeout: "600 seconds" })(`DisconnectClient after a launch (${runtime})`, (it) => {
    it.effect("the launch completes, the client disconnects: production is removed with its state, and its endpoint closed", () =>
      Effect.gen(function* () {
        const instances = yield* InstanceRuntime
        const clientId = newClientId()
        assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "basic" })).ok)
        yield* eventually(shadowOf(tenant, clientId).pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
        const shadow = (yield* shadowOf(tenant, clientId))!
        yield* eventually(streamTypes(`instance-${tenant}.${shadow}`).pipe(Effect.map((types) => types.includes("InstanceReady"))), 90_000, "shadow ready")

        const launchId = yield* requestProduction(tenant, clientId)
        const production = productionInstanceId(tenant, launchId)
        yield* eventually(streamTypes(launchStream(tenant, launchId)).pipe(Effect.map((types) => types.includes("ShadowReleased"))), 150_000, "launch released")
        assert.deepInclude(yield* instances.inspect({ tenant, instanceId: production }), { running: true, role: "production" })
        const endpoint = yield* endpointOf(tenant, launchId)
        assert.isTrue(yield* Effect.promise(() => fetch(endpoint).then((r) => r.ok, () => false)), "the endpoint serves")
        assert.isNotEmpty(yield* leftoversOf(runtime, tenant, production), "production has its state")

        assert.isTrue((yield* send(tenant, "DisconnectClient", { clientId })).ok)
        yield* eventually(instances.inspect({ tenant, instanceId: production }).pipe(Effect.map((info) => info === undefined)), 60_000, "production removed")
        yield* eventually(accepts(Number(new URL(endpoint).port)).pipe(Effect.map((ok) => !ok)), 30_000, "the endpoint closed")
        // The runtime forgets the instance before its files are all deleted: under load that takes a moment.
        yield* eventually(leftoversOf(runtime, tenant, production).pipe(Effect.map((left) => left.length === 0)), 30_000, "production's state gone")
        assert.isFalse((yield* instances.list({ tenant })).some((info) => info.role === "production"))
        assert.deepStrictEqual((yield* streamTypes(launchStream(tenant, launchId))).slice(-2), ["ShadowReleased", "ProductionRetired"])
        assert.strictEqual((yield* queryLaunch(tenant, launchId)).result?.stage, "retired")
      }), 400_000)
  }))
}
