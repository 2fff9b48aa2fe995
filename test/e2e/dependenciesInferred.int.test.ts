import { assert, describe, layer } from "@effect/vitest"
import { readdir, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import type { DependencyFile } from "../../domain/signals.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { send } from "../support/controlPlane.ts"
import { runtimeTags } from "../setup/testGroups.ts"
import { eventually } from "../support/eventually.ts"
import { docker, orchestratedControlPlaneLayer, shadowOf, shadowTestSettings, sharedTemplate, streamTypes, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("dep")

const inferred = (clientId: string) =>
  Effect.gen(function* () {
    const events = yield* (yield* EventStore).readStream(`profile-${tenant}.${clientId}`)
    return events.filter((event) => event.type === "DependenciesInferred").map((event) => event.data as { readonly files: ReadonlyArray<DependencyFile>; readonly added: ReadonlyArray<string> })
  })

/** A container's log as the engine sends it without a TTY: frames of an 8-byte header (stream, size) and their bytes. */
const demuxed = (raw: Buffer) => {
  const parts: Array<Buffer> = []
  for (let at = 0; at + 8 <= raw.length; at += 8 + raw.readUInt32BE(at + 4)) parts.push(raw.subarray(at + 8, at + 8 + raw.readUInt32BE(at + 4)))
  return Buffer.concat(parts).toString("utf8")
}

/** What production's agent printed: its container's log, or the output.log of its directory in a data directory of the harness's. */
const agentLog = (runtime: "process" | "docker", instanceId: string) =>
  Effect.gen(function* () {
    if (runtime === "docker") {
      const info = yield* (yield* InstanceRuntime).inspect({ tenant, instanceId })
      if (info === undefined) return ""
      return yield* Effect.promise(async () => demuxed(await docker.getContainer(info.runtimeId).logs({ stdout: true, stderr: true })))
    }
    return yield* Effect.promise(async () => {
      const dataDirs = (await readdir(tmpdir())).filter((name) => name.startsWith("umbra-shadows-"))
      const logs = await Promise.all(dataDirs.map((dir) => readFile(join(instanceDir(join(tmpdir(), dir), tenant, instanceId), "output.log"), "utf8").catch(() => "")))
      return logs.join("")
    })
  })

/** How many files the agent's JSON log says it preloaded, if it says so. */
const preloadedFiles = (log: string) =>
  log.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    const entry = JSON.parse(line) as { readonly msg?: string; readonly files?: number }
    return entry.msg === "preloaded the workload's dependencies" ? [entry.files!] : []
  })[0]

for (const runtime of ["process", "docker"] as const) {
  const controlPlane = orchestratedControlPlaneLayer(tenant, runtime, { ...shadowTestSettings, poolSize: 0 }, { scalingIntervalMs: 600_000 })
  const clientId = `c-${runtime}`

  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(controlPlane, { excludeTestServices: true, timeout: "120 seconds" })(`dependencies inferred from use (${runtime} runtime)`, (it) => {
    it.effect("the libraries a shadow's workload loads while it warms up are in its profile, with the template's own list left as given; production preloads them", () =>
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

        const launchId = `l-${runtime}`
        assert.isTrue((yield* send(tenant, "RequestProduction", { clientId, launchId })).ok)
        yield* eventually(streamTypes(`launch-${tenant}.${launchId}`).pipe(Effect.map((types) => types.includes("ProvisioningStarted"))), 20_000, "ProvisioningStarted")
        const planned = (yield* (yield* EventStore).readStream(`launch-${tenant}.${launchId}`)).find((event) => event.type === "ProvisioningStarted")!
        assert.includeMembers([...(planned.data as { preload: ReadonlyArray<string> }).preload], libraries)
        const production = productionInstanceId(tenant, launchId)
        yield* eventually(agentLog(runtime, production).pipe(Effect.map((log) => preloadedFiles(log) !== undefined)), 60_000, "production's agent preloaded")
        assert.isAtLeast(preloadedFiles(yield* agentLog(runtime, production))!, libraries.length)
      }), { timeout: 180_000 })
  }))
}
