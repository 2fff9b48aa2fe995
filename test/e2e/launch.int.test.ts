import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect, Stream } from "effect"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { EventBus } from "../../src/eventBus.ts"
import { decodeSignal } from "../../src/telemetry/signalDecoding.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { launchStream, loadOnEndpoint, newClientId, queryLaunch, requestProduction, stateFiles } from "../support/launchHarness.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import {
  countOf,
  orchestratedControlPlaneLayer,
  shadowOf,
  shadowTestSettings,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"

const statePath = sharedTemplate.statePaths[0]!

/** The instance as the runtime reports it (a container or a process group): running or not, and its role. */
const instanceOf = (tenant: string, instanceId: string) => InstanceRuntime.use((runtime) => runtime.inspect({ tenant, instanceId })).pipe(Effect.orDie)
const isRunning = (tenant: string, instanceId: string) => instanceOf(tenant, instanceId).pipe(Effect.map((info) => info?.running === true))

/** Connects a client and waits for its shadow to be ready and warm (its cache built). */
const warmShadow = (tenant: string, clientId: string, template = sharedTemplate) =>
  Effect.gen(function* () {
    assert.isTrue((yield* send(tenant, "ConnectClient", { clientId, tier: "basic", template })).ok)
    yield* eventually(shadowOf(tenant, clientId).pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
    const shadow = (yield* shadowOf(tenant, clientId))!
    const types = streamTypes(`instance-${tenant}.${shadow}`)
    const seen = Effect.all([types, instanceOf(tenant, shadow)]).pipe(Effect.map(([events, info]) => `events ${events.join(", ")}; runtime ${JSON.stringify(info)}`))
    yield* eventually(types.pipe(Effect.map((events) => events.includes("InstanceReady"))), 90_000, "shadow ready", seen)
    yield* eventually(stateFiles(tenant, shadow, statePath).pipe(Effect.map((files) => "manifest.json" in files)), 30_000, "shadow cache built")
    return shadow
  })

const launchEnded = (tenant: string, launchId: string, last: "ShadowReleased" | "LaunchRolledBack") =>
  eventually(streamTypes(launchStream(tenant, launchId)).pipe(Effect.map((types) => types.includes(last))), 150_000, last)

/** Whether production reported its workload started warm (the cache came with the state) in its telemetry. */
const startedWarm = (tenant: string, instanceId: string) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const samples = yield* bus.followSignals({ filterSubject: `umbra.sig.${tenant}.${instanceId}.tm`, from: "start" }).pipe(
      Stream.map(decodeSignal),
      Stream.filter((signal) => signal?.kind === "tm" && signal.sample.metrics?.["cacheReused"] !== undefined),
      Stream.take(1),
      Stream.runCollect,
      Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.succeed([]) })
    )
    const first = samples[0]
    return first?.kind === "tm" ? first.sample.metrics?.["cacheReused"] === 1 : false
  })

for (const runtime of ["docker", "process"] as const) {
  const tenant = testTenant(runtime === "docker" ? "ln" : "lp")
  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(orchestratedControlPlaneLayer(tenant, runtime), { excludeTestServices: true, timeout: "600 seconds" })(`production launch (${runtime})`, (it) => {
    it.effect("shadow warm → production serving with the shadow's state, weights 5 → 100 % under load with no failed request, shadow recycled", () =>
      Effect.gen(function* () {
        const clientId = newClientId()
        const shadow = yield* warmShadow(tenant, clientId)
        const before = yield* stateFiles(tenant, shadow, statePath)

        const launchId = yield* requestProduction(tenant, clientId)
        const production = productionInstanceId(tenant, launchId)
        const load = yield* loadOnEndpoint(tenant, launchId)
        yield* launchEnded(tenant, launchId, "ShadowReleased")
        const result = yield* Effect.promise(() => load.stop())

        assert.deepStrictEqual(result.failures, [], "no request failed while traffic moved")
        assert.isAbove(result.requests, 100)
        const types = yield* streamTypes(launchStream(tenant, launchId))
        assert.deepStrictEqual(types, [
          "LaunchRequested", "ProvisioningStarted", "ProductionProvisioned", "StateTransferStarted", "StateTransferCompleted",
          "TrafficShifted", "TrafficShifted", "TrafficShifted", "TrafficShifted", "LaunchCompleted", "ShadowReleased"
        ])

        // Every file of the shadow's state arrived unchanged, except its identity, which production made anew.
        const after = yield* stateFiles(tenant, production, statePath)
        const { ["identity.json"]: shadowIdentity, ...shadowCache } = before
        const { ["identity.json"]: productionIdentity, ...productionCache } = after
        assert.deepStrictEqual(productionCache, shadowCache)
        assert.isAbove(Object.keys(shadowCache).length, 10)
        assert.notStrictEqual(productionIdentity, shadowIdentity)
        assert.isTrue(yield* startedWarm(tenant, production), "production's workload reused the transferred cache")

        const { result: timeline } = yield* queryLaunch(tenant, launchId)
        assert.strictEqual(timeline?.stage, "released")
        assert.deepStrictEqual(timeline?.stages.map((s) => s.stage), [
          "queued", "provisioning", "provisioned", "transferring", "transferred", "weight-5", "weight-25", "weight-50", "weight-100", "completed", "shadowReleased"
        ])
        assert.isAtLeast(timeline!.stages.at(-2)!.sincePreviousMs, shadowTestSettings.launchHoldMs)
        assert.strictEqual(timeline?.shadowDisposition, "recycled")
        assert.deepStrictEqual(countOf(yield* streamTypes(`instance-${tenant}.${shadow}`), "InstanceRecycled"), 1)

        // Production serves; the recycled shadow idles in the pool.
        assert.deepInclude(yield* instanceOf(tenant, production), { running: true, role: "production" })
        assert.isTrue(yield* isRunning(tenant, shadow))
      }), 400_000)

    it.effect("production answering with errors trips the gate at the first step: traffic back to the shadow, production removed", () =>
      Effect.gen(function* () {
        const clientId = newClientId()
        const faulty = { ...sharedTemplate, settings: { ...sharedTemplate.settings, SAMPLE_FAIL_ROLE: "production" } }
        const shadow = yield* warmShadow(tenant, clientId, faulty)
        const launchId = yield* requestProduction(tenant, clientId)
        const production = productionInstanceId(tenant, launchId)
        const load = yield* loadOnEndpoint(tenant, launchId)
        yield* launchEnded(tenant, launchId, "LaunchRolledBack")
        const rolledBackAt = Date.now()
        const sentAtRollback = load.sent()
        // Traffic keeps flowing after the rollback, to the shadow alone.
        yield* eventually(Effect.sync(() => load.sent() > sentAtRollback + 200), 30_000, "requests after the rollback")
        const result = yield* Effect.promise(() => load.stop())

        const types = yield* streamTypes(launchStream(tenant, launchId))
        assert.deepStrictEqual(types.slice(-2), ["TrafficShifted", "LaunchRolledBack"], "rolled back during the first step")
        const { result: timeline } = yield* queryLaunch(tenant, launchId)
        assert.match(timeline?.rollback?.reason ?? "", /error rate/)
        assert.strictEqual(timeline?.weight, 0)

        // The failures are production's 500s during the first step, within what the gate lets through before it trips.
        assert.isAbove(result.failures.length, 0)
        assert.isTrue(result.failures.every((failure) => failure.status === 500), JSON.stringify(result.failures.slice(0, 3)))
        assert.isAtMost(result.failures.length, 3 * shadowTestSettings.launchMinRequests)
        assert.isTrue(result.failures.every((failure) => failure.atMs <= rolledBackAt), "no failure after the rollback")

        yield* eventually(instanceOf(tenant, production).pipe(Effect.map((info) => info === undefined)), 30_000, "production removed")
        assert.isTrue(yield* isRunning(tenant, shadow))
      }), 400_000)
  }))
}
