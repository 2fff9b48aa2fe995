import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { DependencyFile } from "../../domain/signals.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { orchestratedControlPlaneLayer, shadowOf, shadowTestSettings, sharedTemplate, streamTypes, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("dep")

const inferred = (clientId: string) =>
  Effect.gen(function* () {
    const events = yield* (yield* EventStore).readStream(`profile-${tenant}.${clientId}`)
    return events.filter((event) => event.type === "DependenciesInferred").map((event) => event.data as { readonly files: ReadonlyArray<DependencyFile>; readonly added: ReadonlyArray<string> })
  })

for (const runtime of ["process", "docker"] as const) {
  const controlPlane = orchestratedControlPlaneLayer(tenant, runtime, { ...shadowTestSettings, poolSize: 0 }, { scalingIntervalMs: 600_000 })
  const clientId = `c-${runtime}`

  layer(controlPlane, { excludeTestServices: true, timeout: "120 seconds" })(`dependencies inferred from use (${runtime} runtime)`, (it) => {
    it.effect("the libraries a shadow's workload loads while it warms up are in its profile, with the template's own list left as given", () =>
      Effect.gen(function* () {
        const template = { ...sharedTemplate, dependencies: ["sample-cache"] }
        assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "basic", template })).ok)
        yield* eventually(shadowOf(tenant, clientId).pipe(Effect.map((id) => id !== undefined)), 20_000, "a shadow")
        const instanceId = (yield* shadowOf(tenant, clientId))!
        yield* eventually(streamTypes(`instance-${tenant}.${instanceId}`).pipe(Effect.map((types) => types.includes("InstanceReady"))), 60_000, "InstanceReady")
        yield* eventually(inferred(clientId).pipe(Effect.map((all) => all.length > 0)), 30_000, "DependenciesInferred")
        const [first] = yield* inferred(clientId)
        // The sample workload is Node: its executable and the C library it maps are what it loaded.
        const libraries = first!.files.filter((file) => file.kind === "library").map((file) => file.path)
        assert.isTrue(libraries.some((path) => /\/libc\.so|\/node$/.test(path)), JSON.stringify(libraries))
        assert.includeMembers([...first!.added], libraries)
        const profile = (yield* (yield* EventStore).readStream(`profile-${tenant}.${clientId}`)).find((event) => event.type === "ProfileCreated")!
        assert.deepStrictEqual((profile.data as { template: { dependencies: unknown } }).template.dependencies, ["sample-cache"])
      }))
  })
}
