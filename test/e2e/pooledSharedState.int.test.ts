import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect, Layer } from "effect"
import { defaultTemplate, type Template } from "../../domain/profile/template.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { collectSignals } from "../support/instanceSignals.ts"
import { stateFiles } from "../support/launchHarness.ts"
import {
  AgentNats,
  containersOf,
  countOf,
  imagesLayer,
  orchestratedControlPlaneOn,
  shadowOf,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"

/** The tests' sample template with the sample's shared path: its cache lives there, not in its state. */
const template: Template = { ...sharedTemplate, sharedStatePaths: defaultTemplate.sharedStatePaths! }
const statePath = template.statePaths[0]!
const sharedPath = template.sharedStatePaths![0]!

/** Docker needs the images; the process runtime runs the sample from the sources. */
const controlPlane = (tenant: string, runtime: "docker" | "process") => {
  const base = orchestratedControlPlaneOn(tenant, runtime).pipe(Layer.provideMerge(AgentNats.direct), Layer.provideMerge(natsTestLayer))
  return runtime === "docker" ? base.pipe(Layer.provideMerge(imagesLayer(tenant))) : base
}

for (const runtime of ["docker", "process"] as const) {
  const tenant = testTenant(runtime === "docker" ? "pd" : "pp")
  const hasEvent = (instanceId: string, type: string, times = 1) =>
    streamTypes(`instance-${tenant}.${instanceId}`).pipe(Effect.map((types) => countOf(types, type) >= times))

  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(controlPlane(tenant, runtime), { excludeTestServices: true, timeout: "300 seconds" })(`a pooled shadow's shared path (${runtime})`, (it) => {
    it.effect("recycled then claimed: none of the last client's state, the shared cache kept and started on", () =>
      Effect.gen(function* () {
        const nc = yield* NatsConnection
        assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "standard", template })).ok)
        yield* eventually(shadowOf(tenant, "c1").pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile for c1")
        const instanceId = (yield* shadowOf(tenant, "c1"))!
        const signals = yield* collectSignals(nc, tenant, instanceId)
        yield* eventually(hasEvent(instanceId, "InstanceReady"), 90_000, "InstanceReady for c1")
        const warmFor = (clientId: string | undefined, reused: number) =>
          signals.telemetry.pipe(Effect.map((all) => all.some((tm) => tm.clientId === clientId && tm.metrics?.["cacheReused"] === reused)))
        yield* eventually(warmFor("c1", 0), 30_000, "c1's workload built the cache (cold start)")
        // c1's state: its identity only, the cache being in the shared path.
        const first = yield* stateFiles(tenant, instanceId, statePath)
        assert.deepStrictEqual(Object.keys(first), ["identity.json"])

        // What c1's workload leaves in the container's scratch space (/tmp, a tmpfs) goes with its state.
        const inContainer = (script: string) =>
          containersOf(tenant, [`umbra.instance=${instanceId}`]).pipe(
            Effect.flatMap(([container]) => Effect.promise(() => promisify(execFile)("docker", ["exec", container!.Id, "sh", "-c", script]))),
            Effect.map(({ stdout }) => stdout.trim())
          )
        if (runtime === "docker") yield* inContainer("echo c1 > /tmp/c1-scratch")

        assert.isTrue((yield* send(tenant, "DisconnectClient", { clientId: "c1" })).ok)
        yield* eventually(hasEvent(instanceId, "InstanceRecycled"), 30_000, "InstanceRecycled")
        // Its state emptied, then a run for no client started on the warm shared path: the state holds that
        // run's identity alone, none of c1's; its telemetry names no client; its heartbeats say it is ready.
        const pooledIdentity = stateFiles(tenant, instanceId, statePath).pipe(
          Effect.map((files) => (Object.keys(files).join() === "identity.json" && files["identity.json"] !== first["identity.json"] ? files["identity.json"] : undefined))
        )
        yield* eventually(pooledIdentity.pipe(Effect.map((identity) => identity !== undefined)), 30_000, "the recycled shadow's state scrubbed, the pool's run started")
        const pooled = (yield* pooledIdentity)!
        yield* eventually(warmFor(undefined, 1), 30_000, "the pool's run on the shared cache, for no client")
        const recycledAt = (yield* signals.heartbeats).length
        yield* eventually(signals.heartbeats.pipe(Effect.map((beats) => beats.slice(recycledAt).some((beat) => beat.ready))), 30_000, "a ready pooled shadow")
        if (runtime === "docker") {
          // The scratch space holds the pool's run's metrics alone (and their next copy being written), which served nothing.
          assert.match(yield* inContainer("ls -A /tmp"), /^umbra-metrics\.json(\.tmp)?(\numbra-metrics\.json(\.tmp)?)?$/, "c1's scratch space emptied")
          assert.strictEqual(JSON.parse(yield* inContainer("cat /tmp/umbra-metrics.json")).requestsServed, 0)
        }

        assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c2", tier: "standard", template })).ok)
        yield* eventually(hasEvent(instanceId, "InstanceClaimed"), 30_000, "InstanceClaimed by c2")
        yield* eventually(hasEvent(instanceId, "InstanceReady", 2), 30_000, "ready for c2")
        // c2's workload is the pool's run, on the cache c1's built (a cold start would say 0), not started again.
        yield* eventually(warmFor("c2", 1), 30_000, "c2's workload reused the shared cache")
        const second = yield* stateFiles(tenant, instanceId, statePath)
        assert.deepStrictEqual(second, { "identity.json": pooled }, "the pool's run serves c2 as it is")

        // The shared path is no state: a launch cannot export it.
        const exported = yield* stateFiles(tenant, instanceId, sharedPath).pipe(Effect.exit)
        assert.strictEqual(exported._tag, "Failure", "the shared path is not exported")
      }), 240_000)
  }))
}
