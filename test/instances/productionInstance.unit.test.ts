import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import type { ClientId } from "../../domain/ids.ts"
import { ShadowResources } from "../../domain/instance/sizingPolicy.ts"
import { Tier } from "../../domain/profile/resources.ts"
import { Network, Template } from "../../domain/profile/template.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { connectSaga } from "../../domain/sagas/connectSaga.ts"
import { productionSaga } from "../../domain/sagas/productionSaga.ts"
import { makeShadowSaga } from "../../domain/sagas/shadowSaga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime, RuntimeFailed } from "../../src/instanceRuntime.ts"
import { makeInstanceStep } from "../../src/instances/instanceRunner.ts"
import { reconcile } from "../../src/instances/reconciler.ts"
import { catchUpLiveIndex } from "../../src/projections/liveIndex.ts"
import { poolView } from "../../src/instances/pool.ts"
import { instanceSpec } from "../../src/instances/runtimeSpec.ts"
import type { Watchdog } from "../../src/instances/watchdog.ts"
import { endpointKey } from "../../src/launch/endpoint.ts"
import { loadLaunchView } from "../../src/launch/launchState.ts"
import { makeProductionEndpointStep } from "../../src/launch/productionEndpoint.ts"
import { loadCurrentShadow } from "../../src/sagas/currentShadow.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { type RouteSpec, TrafficRouter } from "../../src/trafficRouter.ts"
import { command } from "../support/commands.ts"
import { agentsOnlyBus } from "../support/agentsOnlyBus.ts"
import { recordingWatchdog } from "../support/recordingWatchdog.ts"
import { pumpStoredEvents } from "../support/eventPump.ts"
import { type FakeRuntime, fakeRuntimeLayer, makeFakeRuntime } from "../support/fakeRuntime.ts"

const agent = { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: 1_000 }
const recreation = { limit: 3, backoffMs: 1, maxBackoffMs: 1 }
const clientId = "c1"
const launchId = "l1"
const production = productionInstanceId("acme", launchId)
/** Not the port derived from the client: the endpoint follows what the plan recorded. */
const endpointPort = 39_999

/** A router that keeps the last route of each key. */
const recordingRouter = (routes: Map<string, RouteSpec>) =>
  Layer.succeed(TrafficRouter)(
    TrafficRouter.of({
      setRoute: (route) => Effect.sync(() => void routes.set(route.key, route)),
      removeRoute: (key) => Effect.sync(() => void routes.delete(key)),
      routes: () => Effect.sync(() => [...routes.values()]),
      drain: () => Effect.succeed(true),
      metrics: () => Effect.succeed(undefined)
    })
  )

/** No agent answers and no bus runs: every step here is driven by the test, in order. */
const noBus = agentsOnlyBus(() => Effect.die("no agent in these tests"))

const setup = (fake: FakeRuntime, routes: Map<string, RouteSpec>, runtime = fakeRuntimeLayer(fake)) =>
  CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(memoryStore, runtime, noBus, recordingRouter(routes), projectionsInMemory)))

/** The fake runtime, except that it refuses to start production while `refusals.left` lasts (each refusal takes one). */
const refusingProductionStarts = (fake: FakeRuntime, refusals: { left: number }) =>
  Layer.effect(
    InstanceRuntime,
    Effect.map(InstanceRuntime, (runtime) =>
      InstanceRuntime.of({
        ...runtime,
        start: (key) =>
          key.instanceId === production && refusals.left-- > 0
            ? Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: "start: (HTTP code 500) cannot mount the volume" }))
            : runtime.start(key)
      }))
  ).pipe(Layer.provide(fakeRuntimeLayer(fake)))

/** The sagas, the instance runner and the production endpoint, fed every stored event in order until nothing new is appended. */
const makePump = (watchdog: Watchdog) =>
  Effect.gen(function* () {
    const steps = [
      yield* makeSagaStep(connectSaga),
      yield* makeSagaStep(makeShadowSaga({ sizing: { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 128 } }, pool: { size: 1 } }), poolView),
      yield* makeSagaStep(productionSaga, loadLaunchView),
      yield* makeInstanceStep({ agent, recreation }, watchdog),
      yield* makeProductionEndpointStep(agent)
    ]
    const delivered = new Set<string>()
    return pumpStoredEvents(steps, delivered).pipe(Effect.asVoid)
  })

const decodePlan = Schema.decodeUnknownEffect(Schema.Struct({ tier: Tier, template: Template, network: Network, resources: ShadowResources }))

const handle = (type: string, data: unknown) => CommandHandler.use((handler) => handler.handle(command(type, data)))

const readStream = (stream: string) => EventStore.use((store) => store.readStream(stream))

const instanceTypes = (instanceId: string) => readStream(`instance-acme.${instanceId}`).pipe(Effect.map((events) => events.map((e) => e.type)))

/**
 * A connected client whose launch has gone as far as `until`, its steps recorded as the launch runner
 * records them and production's container made (stopped, then started) as the runner makes it.
 */
const launchedClient = <E, R>(
  fake: FakeRuntime,
  pump: Effect.Effect<void, E, R>,
  until: "completed" | "released",
  duringLaunch: Effect.Effect<unknown, unknown, CommandHandler> = Effect.void
) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    yield* handle("ConnectClient", { clientId, tier: "standard" })
    yield* pump
    const shadow = (yield* loadCurrentShadow("acme", clientId))!.instanceId
    yield* handle("MarkInstanceReady", { instanceId: shadow })
    yield* handle("RequestProduction", { clientId, launchId })
    const shadowState = fake.instances.get(shadow)!
    const plan = {
      launchId,
      shadowInstanceId: shadow,
      productionInstanceId: production,
      tier: "standard",
      template: { image: shadowState.image, dependencies: [], statePaths: ["/var/lib/umbra/state"], settings: {} },
      network: { subnets: [], securityGroups: [], egress: false },
      resources: { cpuMillis: 2000, memoryMiB: 4096 },
      endpointPort
    }
    const spec = instanceSpec("production", "acme", production, { ...(yield* decodePlan(plan)), clientId: clientId as ClientId }, agent)
    const created = yield* runtime.create(spec, { start: false })
    yield* handle("StartProvisioning", plan)
    yield* handle("RecordProductionProvisioned", { launchId, runtimeId: created.runtimeId, cpuMillis: 2000, memoryMiB: 4096 })
    yield* pump
    yield* handle("StartStateTransfer", { launchId })
    yield* handle("RecordStateTransfer", { launchId, bytes: 1, files: 1, checksum: "c".repeat(64), ms: 1, reset: [] })
    yield* duringLaunch
    yield* pump
    yield* runtime.start({ tenant: "acme", instanceId: production })
    yield* handle("ShiftTraffic", { launchId, weight: 100 })
    yield* handle("CompleteLaunch", { launchId, shadowDisposition: "terminated" })
    if (until === "released") yield* handle("RecordShadowReleased", { launchId, disposition: "terminated" })
    yield* pump
    return { shadow, created }
  })

/** A client whose launch released its shadow, with production ready: what a loss of production starts from. */
const readyProduction = (fake: FakeRuntime) =>
  Effect.gen(function* () {
    const { watchdog } = recordingWatchdog()
    const pump = yield* makePump(watchdog)
    yield* launchedClient(fake, pump, "released")
    yield* handle("MarkInstanceReady", { instanceId: production })
    yield* pump
    return pump
  })

describe("production as an instance (fake runtime and router)", () => {
  it.effect("a launch's production is an instance from ProductionProvisioned, watched once the launch completed", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      const pump = yield* makePump(watchdog)
      const { created } = yield* launchedClient(fake, pump, "released")
      assert.deepStrictEqual(yield* instanceTypes(production), ["ProductionRequested", "InstanceStarted"])
      assert.deepInclude(watched.get(production)!, { instanceId: production, ready: false })
      yield* handle("MarkInstanceReady", { instanceId: production })
      yield* pump
      assert.deepStrictEqual(yield* instanceTypes(production), ["ProductionRequested", "InstanceStarted", "InstanceReady"])
      // One container, the launch's, never a second.
      assert.deepStrictEqual(fake.created.filter((spec) => spec.role === "production").length, 1)
      assert.strictEqual(fake.instances.get(production)!.runtimeId, created.runtimeId)
    }).pipe(Effect.provide(setup(fake, new Map())))
  })

  // Recreations wait (Effect.sleep, 1 ms here): on the live clock.
  it.live("lost after its launch released the shadow: the endpoint holds (503), production starts again on its state, then has all traffic", () => {
    const fake = makeFakeRuntime()
    const routes = new Map<string, RouteSpec>()
    return Effect.gen(function* () {
      const pump = yield* readyProduction(fake)
      fake.kill(production)
      const key = endpointKey("acme", clientId)
      yield* handle("MarkHeartbeatLost", { instanceId: production, reason: "silent" })
      // The held route, as the endpoint has it between the loss and the recreation.
      const endpoint = yield* makeProductionEndpointStep(agent)
      const lost = (yield* readStream(`instance-acme.${production}`)).at(-1)!
      yield* endpoint(lost)
      assert.deepStrictEqual(routes.get(key)?.upstreams, [], "no shadow left: the endpoint answers 503")
      yield* pump
      assert.deepStrictEqual((yield* instanceTypes(production)).slice(-2), ["HeartbeatLost", "InstanceRecreated"])
      assert.deepStrictEqual(fake.started.filter((id) => id === production).length, 2, "started again, on its state")
      assert.notInclude(fake.removed, production)
      assert.strictEqual(fake.created.filter((spec) => spec.role === "production").length, 1)
      yield* handle("MarkInstanceReady", { instanceId: production })
      yield* pump
      assert.deepStrictEqual(routes.get(key)?.upstreams.map((u) => [u.id, u.weight]), [[production, 100]])
      assert.strictEqual(routes.get(key)?.port, endpointPort, "on the port the launch's plan recorded")
    }).pipe(Effect.provide(setup(fake, routes)))
  })

  // Recreations wait (Effect.sleep, 1 ms here): on the live clock.
  it.live("past the recreation limit production is started again on its state, never given up", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const pump = yield* readyProduction(fake)
      // Lost again after each recreation, without ever turning ready: twice the limit.
      for (let i = 0; i < 2 * recreation.limit; i++) {
        fake.kill(production)
        yield* handle("MarkHeartbeatLost", { instanceId: production, reason: "silent" })
        yield* pump
      }
      const types = yield* instanceTypes(production)
      assert.notInclude(types, "InstanceTerminated")
      assert.strictEqual(types.filter((type) => type === "InstanceRecreated").length, 2 * recreation.limit)
      assert.notInclude(fake.removed, production)
      assert.strictEqual(fake.created.filter((spec) => spec.role === "production").length, 1, "the one container, with its state")
      assert.isTrue(fake.instances.get(production)!.running)
    }).pipe(Effect.provide(setup(fake, new Map())))
  })

  it.live("a production whose restarts the runtime keeps refusing is tried again past the limit, never given up, and runs once one is not refused", () => {
    const fake = makeFakeRuntime()
    // Off until the loss: the launch starts production itself.
    const refusals = { left: 0 }
    return Effect.gen(function* () {
      const pump = yield* readyProduction(fake)
      refusals.left = 2 * recreation.limit
      fake.kill(production)
      yield* handle("MarkHeartbeatLost", { instanceId: production, reason: "silent" })
      yield* pump
      const types = yield* instanceTypes(production)
      assert.strictEqual(types.filter((type) => type === "InstanceStartFailed").length, 2 * recreation.limit)
      assert.notInclude(types, "InstanceTerminated")
      assert.strictEqual(types.at(-1), "InstanceRecreated")
      assert.isTrue(fake.instances.get(production)!.running, "on its own state: the one container")
      assert.strictEqual(fake.created.filter((spec) => spec.role === "production").length, 1)
    }).pipe(Effect.provide(setup(fake, new Map(), refusingProductionStarts(fake, refusals))))
  })

  it.effect("lost while the client still has its shadow: its traffic is held on the shadow", () => {
    const fake = makeFakeRuntime()
    const routes = new Map<string, RouteSpec>()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      const pump = yield* makePump(watchdog)
      const { shadow } = yield* launchedClient(fake, pump, "completed")
      yield* handle("MarkInstanceReady", { instanceId: production })
      yield* pump
      yield* handle("MarkHeartbeatLost", { instanceId: production, reason: "silent" })
      const endpoint = yield* makeProductionEndpointStep(agent)
      const lost = (yield* readStream(`instance-acme.${production}`)).at(-1)!
      yield* endpoint(lost)
      assert.deepInclude(routes.get(endpointKey("acme", clientId)), { port: endpointPort })
      assert.deepStrictEqual(routes.get(endpointKey("acme", clientId))?.upstreams.map((u) => [u.id, u.weight]), [[shadow, 100]])
    }).pipe(Effect.provide(setup(fake, routes)))
  })

  it.effect("RefineProfile resizes production live at the profile's full size; DisconnectClient terminates it and retires the launch", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      const pump = yield* makePump(watchdog)
      const { created } = yield* launchedClient(fake, pump, "released")
      yield* handle("MarkInstanceReady", { instanceId: production })
      yield* pump
      yield* handle("RefineProfile", { clientId, expected: { cpuMillis: 3000, memoryMiB: 6144 }, reason: "forecast" })
      yield* pump
      assert.deepInclude(fake.instances.get(production)!, { runtimeId: created.runtimeId, running: true, cpuMillis: 3000, memoryMiB: 6144 })
      assert.include(yield* instanceTypes(production), "InstanceResized")

      yield* handle("DisconnectClient", { clientId })
      yield* pump
      assert.deepStrictEqual((yield* instanceTypes(production)).at(-1), "InstanceTerminated")
      assert.include(fake.removed, production)
      assert.isFalse(watched.has(production))
      const launch = yield* readStream(`launch-acme.${launchId}`)
      assert.strictEqual(launch.at(-1)!.type, "ProductionRetired")
    }).pipe(Effect.provide(setup(fake, new Map())))
  })

  it.live("reconciliation: a production still in its launch is left to the launch; one that died while Umbra was down is marked lost and started again on its state", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      const pump = yield* makePump(watchdog)
      yield* launchedClient(fake, pump, "released")
      yield* handle("MarkInstanceReady", { instanceId: production })
      yield* pump
      // Another client's launch has made its production (stopped), not yet an instance: the launch's to keep or remove.
      const pending = { ...fake.instances.get(production)!, clientId: "c2", instanceId: "prd-pending", runtimeId: "rt-pending", running: false }
      fake.instances.set("prd-pending", pending)
      fake.kill(production)
      watched.clear()
      yield* catchUpLiveIndex
      const report = yield* reconcile(watchdog, agent)
      assert.deepStrictEqual(report.lost, [production])
      assert.notInclude(report.removed, "prd-pending")
      assert.notInclude(report.started, "prd-pending")
      assert.isFalse(fake.instances.get("prd-pending")!.running)
      yield* pump
      assert.deepStrictEqual((yield* instanceTypes(production)).slice(-2), ["HeartbeatLost", "InstanceRecreated"])
      assert.isTrue(fake.instances.get(production)!.running)
      assert.notInclude(fake.removed, production)
    }).pipe(Effect.provide(setup(fake, new Map())))
  })

  it.effect("a refinement recorded while the launch still moves traffic applies once production is an instance that runs", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      const pump = yield* makePump(watchdog)
      const refine = handle("RefineProfile", { clientId, expected: { cpuMillis: 3000, memoryMiB: 6144 }, reason: "forecast" })
      yield* launchedClient(fake, pump, "released", refine)
      assert.deepStrictEqual(yield* instanceTypes(production), ["ProductionRequested", "InstanceResized", "InstanceStarted"])
      assert.deepInclude(fake.instances.get(production)!, { running: true, cpuMillis: 3000, memoryMiB: 6144 })
    }).pipe(Effect.provide(setup(fake, new Map())))
  })
})
