import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import type { LaunchId } from "../../domain/ids.ts"
import { poolKeyOf } from "../../domain/instance/poolKey.ts"
import { endpointPorts } from "../../domain/launch/endpointPort.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { connectSaga } from "../../domain/sagas/connectSaga.ts"
import { makeShadowSaga } from "../../domain/sagas/shadowSaga.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventBus } from "../../src/eventBus.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime, RuntimeFailed } from "../../src/instanceRuntime.ts"
import { makeLaunchDispatcher } from "../../src/launch/launchDispatcher.ts"
import { planProduction } from "../../src/launch/launchPlan.ts"
import { defaultLaunchPolicy, type LaunchPolicy, makeLaunchRunner } from "../../src/launch/launchRunner.ts"
import { makeInstanceStep } from "../../src/instances/instanceRunner.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { poolView } from "../../src/instances/pool.ts"
import { StateTransfer, TransferFailed } from "../../src/stateTransfer.ts"
import { latencyBucketsMs, RouterFailed, type RouteSpec, TrafficRouter, type UpstreamMetrics } from "../../src/trafficRouter.ts"
import type { Watchdog } from "../../src/instances/watchdog.ts"
import { command } from "../support/commands.ts"
import { pumpStoredEvents } from "../support/eventPump.ts"
import { eventually } from "../support/eventually.ts"
import { type FakeRuntime, fakeRuntimeLayer, makeFakeRuntime } from "../support/fakeRuntime.ts"

const agent = { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: 20 }
const policy: LaunchPolicy = {
  ...defaultLaunchPolicy(agent, { size: 1 }),
  holdMs: 60,
  checkEveryMs: 10,
  readyTimeoutMs: 2_000,
  heartbeatLostMs: 200,
  drainMs: 10,
  gates: { maxErrorRate: 0.01, maxP99Ms: 1_000, minRequests: 5, maxHeartbeatP99Ms: 1_000 }
}

interface Behaviour {
  /** Production answers every request with an error. */
  readonly failing?: boolean
  /** Production's agent stops beating after this many heartbeats. */
  readonly beats?: number
  /** Production's agent beats but never reports ready. */
  readonly neverReady?: boolean
  readonly transfer?: TransferFailed
  /** How long a transfer takes (the provisioning slot is held meanwhile). */
  readonly transferMs?: number
  /** Ports something else listens on: the router cannot open a route there. */
  readonly takenPorts?: ReadonlyArray<number>
}

/** A router that remembers every route it was given and counts 10 requests per upstream per look at its metrics. */
const fakeRouter = (behaviour: Behaviour, routes: Array<RouteSpec>) => {
  const counters = new Map<string, UpstreamMetrics>()
  return Layer.succeed(TrafficRouter)(
    TrafficRouter.of({
      setRoute: (route) =>
        behaviour.takenPorts?.includes(route.port) === true
          ? Effect.fail(new RouterFailed({ key: route.key, message: `port ${route.port} on 127.0.0.1 is already in use`, portInUse: true }))
          : Effect.sync(() => void routes.push(route)),
      removeRoute: (key) => Effect.sync(() => void routes.splice(0, routes.length, ...routes.filter((route) => route.key !== key))),
      routes: () => Effect.succeed(routes),
      drain: () => Effect.succeed(true),
      metrics: (key) =>
        Effect.sync(() => {
          const route = routes.filter((r) => r.key === key).at(-1)
          if (route === undefined) return undefined
          const upstreams = route.upstreams.map((upstream) => {
            const last = counters.get(upstream.id) ?? { id: upstream.id, requests: 0, errors: 0, inFlight: 0, latencyBuckets: latencyBucketsMs.map(() => 0).concat(0) }
            const failing = behaviour.failing === true && upstream.id.startsWith("prd-")
            const next = { ...last, requests: last.requests + 10, errors: last.errors + (failing ? 10 : 0), latencyBuckets: last.latencyBuckets.map((n, i) => (i === 0 ? n + 10 : n)) }
            counters.set(upstream.id, next)
            return next
          })
          return { key, port: route.port, upstreams }
        })
    })
  )
}

/** Agents that beat every 20 ms, ready (or fall silent after `beats`), and answer control requests with ok. */
const fakeAgents = (behaviour: Behaviour) =>
  Layer.succeed(
    EventBus,
    EventBus.of({
      request: (_subject, data) => {
        const op = (JSON.parse(new TextDecoder().decode(data)) as { op: string }).op
        const reply = op === "prepareTransfer"
          ? { ok: true, op, settled: true, files: 1, bytes: 10, paths: [] }
          : op === "scrub" ? { ok: true, op, removedFiles: 0, bytes: 0 } : { ok: false, error: { tag: "Unsupported", message: op } }
        return Effect.succeed(new TextEncoder().encode(JSON.stringify(reply)))
      },
      followSignals: ({ filterSubject }) => {
        const instanceId = parseSignalSubject(filterSubject)!.instanceId
        let seq = 0
        const beat = Effect.sleep("20 millis").pipe(
          Effect.as({ seq: 0, subject: filterSubject, data: new TextEncoder().encode(JSON.stringify({ instanceId, seq: seq++, at: new Date().toISOString(), ready: behaviour.neverReady !== true })) })
        )
        return Stream.fromEffectRepeat(beat).pipe(Stream.take(behaviour.beats ?? Number.MAX_SAFE_INTEGER), Stream.concat(Stream.never))
      },
      publishEvents: () => Effect.die("no bus in these tests"),
      serveRequests: () => Effect.die("no bus in these tests"),
      consumeEvents: () => Effect.die("no bus in these tests"),
      consumers: Effect.die("no bus in these tests"),
      followEvents: () => Stream.die("no bus in these tests")
    })
  )

const fakeTransfer = (behaviour: Behaviour) =>
  Layer.succeed(StateTransfer)(
    StateTransfer.of({
      transfer: () =>
        Effect.sleep(behaviour.transferMs ?? 0).pipe(
          Effect.andThen(
            behaviour.transfer === undefined
              ? Effect.succeed({ bytes: 4096, files: 2, checksum: "c".repeat(64), ms: 3, reset: ["identity.json"], paths: [] })
              : Effect.fail(behaviour.transfer)
          )
        )
    })
  )

const setup = (fake: FakeRuntime, behaviour: Behaviour, routes: Array<RouteSpec>, runtime = fakeRuntimeLayer(fake)) =>
  CommandHandler.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(memoryStore, runtime, fakeAgents(behaviour), fakeRouter(behaviour, routes), fakeTransfer(behaviour)))
  )

/** The fake runtime, except that production, once created, cannot be inspected: starting it fails every time. */
const productionUnreachable = (fake: FakeRuntime) =>
  Layer.effect(
    InstanceRuntime,
    Effect.map(InstanceRuntime, (runtime) =>
      InstanceRuntime.of({
        ...runtime,
        inspect: (key) =>
          fake.instances.get(key.instanceId)?.role === "production"
            ? Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: "the runtime is unreachable at /var/lib/umbra/engine.sock" }))
            : runtime.inspect(key)
      }))
  ).pipe(Layer.provide(fakeRuntimeLayer(fake)))

/** The fake runtime, except that it refuses to create production with `error`. */
const productionRefused = (fake: FakeRuntime, error: RuntimeFailed) =>
  Layer.effect(
    InstanceRuntime,
    Effect.map(InstanceRuntime, (runtime) =>
      InstanceRuntime.of({ ...runtime, create: (spec, options) => (spec.role === "production" ? Effect.fail(error) : runtime.create(spec, options)) }))
  ).pipe(Layer.provide(fakeRuntimeLayer(fake)))

const noWatchdog: Watchdog = { watch: () => Effect.void, unwatch: () => Effect.void, watched: Effect.succeed([]), badSignals: Effect.succeed(0), latencyRises: Effect.succeed(0) }

/** Connects clients and carries their events through the sagas and the instance runner: each has a running shadow. */
const withShadows = (...clientIds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler
    for (const clientId of clientIds) yield* handler.handle(command("ConnectClient", { clientId, tier: "standard" }))
    yield* pumpStoredEvents([
      yield* makeSagaStep(connectSaga),
      yield* makeSagaStep(makeShadowSaga({ sizing: { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 128 } }, pool: { size: 1 } }), poolView),
      yield* makeInstanceStep({ agent, recreation: { limit: 1, backoffMs: 1, maxBackoffMs: 1 } }, noWatchdog)
    ])
  })

const requestProduction = (clientId: string, launchId: string, priority = 0) =>
  CommandHandler.use((handler) => handler.handle(command("RequestProduction", { clientId, launchId, priority })))

const launchTypes = (launchId: string) =>
  EventStore.use((store) => store.readStream(`launch-acme.${launchId}`)).pipe(Effect.map((events) => events.map((event) => event.type)))

const weightsOf = (routes: ReadonlyArray<RouteSpec>) =>
  routes.map((route) => route.upstreams.find((upstream) => upstream.id.startsWith("prd-"))?.weight ?? 0)

const drive = (launchId: string, launchPolicy: LaunchPolicy = policy) =>
  Effect.gen(function* () {
    const runner = yield* makeLaunchRunner(launchPolicy)
    yield* runner.drive("acme", launchId, Effect.void)
  })

/** Client c1's launch l1, driven to its end. */
const launchOnce = Effect.gen(function* () {
  yield* withShadows("c1")
  yield* requestProduction("c1", "l1")
  yield* drive("l1")
})

/** Client c1's launch l1, driven to its end: the reason its rollback gave, if it was rolled back. */
const rollbackReason = launchOnce.pipe(
  Effect.andThen(EventStore.use((store) => store.readStream("launch-acme.l1"))),
  Effect.map((events) => (events.find((event) => event.type === "LaunchRolledBack")?.data as { readonly reason: string } | undefined)?.reason)
)

const fullLaunch = [
  "LaunchRequested", "ProvisioningStarted", "ProductionProvisioned", "StateTransferStarted", "StateTransferCompleted",
  "TrafficShifted", "TrafficShifted", "TrafficShifted", "TrafficShifted", "LaunchCompleted", "ShadowReleased"
]

describe("launch runner (fake runtime, router and agents)", () => {
  it.live("provisions production stopped, copies state, starts it, shifts 5 → 100 % through the router, recycles the shadow", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* withShadows("c1")
      const shadow = fake.created[0]!.instanceId
      yield* requestProduction("c1", "l1")
      yield* drive("l1")
      assert.deepStrictEqual(yield* launchTypes("l1"), [
        "LaunchRequested", "ProvisioningStarted", "ProductionProvisioned", "StateTransferStarted", "StateTransferCompleted",
        "TrafficShifted", "TrafficShifted", "TrafficShifted", "TrafficShifted", "LaunchCompleted", "ShadowReleased"
      ])
      const production = fake.created[1]!
      assert.strictEqual(production.instanceId, productionInstanceId("acme", "l1"))
      assert.deepStrictEqual([production.role, production.cpuMillis, production.memoryMiB], ["production", 2000, 4096])
      assert.deepStrictEqual(fake.started, [production.instanceId], "created stopped, started after the transfer")
      assert.notStrictEqual(production.env["PORT"], fake.created[0]!.env["PORT"])
      assert.deepStrictEqual(weightsOf(routes), [0, 5, 25, 50, 100, 100])
      assert.deepStrictEqual(routes.at(-1)!.upstreams.map((u) => u.id), [production.instanceId])
      const shadowTypes = (yield* EventStore.use((store) => store.readStream(`instance-acme.${shadow}`))).map((e) => e.type)
      assert.include(shadowTypes, "InstanceRecycled")
    }).pipe(Effect.provide(setup(fake, {}, routes)))
  })

  it.live("a gate breached at the first step: traffic back to the shadow, rolled back with the reason, production removed", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* launchOnce
      const types = yield* launchTypes("l1")
      assert.deepStrictEqual(types.slice(-2), ["TrafficShifted", "LaunchRolledBack"])
      const rolledBack = (yield* EventStore.use((store) => store.readStream("launch-acme.l1"))).at(-1)!
      assert.match((rolledBack.data as { reason: string }).reason, /error rate/)
      assert.deepStrictEqual(weightsOf(routes), [0, 5, 0])
      assert.isFalse(fake.instances.has(productionInstanceId("acme", "l1")))
      assert.isTrue(fake.instances.has(fake.created[0]!.instanceId), "the shadow still serves")
    }).pipe(Effect.provide(setup(fake, { failing: true }, routes)))
  })

  it.live("the client's first port is taken: its endpoint opens on the next, the plan records it, and every step and a later launch keep it", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    const [taken, next] = endpointPorts("acme", "c1")
    const plannedPort = (launchId: string) =>
      EventStore.use((store) => store.readStream(`launch-acme.${launchId}`)).pipe(
        Effect.map((events) => (events.find((event) => event.type === "ProvisioningStarted")?.data as { endpointPort?: number }).endpointPort)
      )
    return Effect.gen(function* () {
      // Rolled back at the first step: the endpoint stays open on the shadow for the next launch.
      yield* launchOnce
      assert.strictEqual(yield* plannedPort("l1"), next)
      yield* requestProduction("c1", "l2")
      yield* drive("l2")
      assert.strictEqual(yield* plannedPort("l2"), next)
      assert.deepStrictEqual([...new Set(routes.map((route) => route.port))], [next])
      assert.deepStrictEqual(weightsOf(routes), [0, 5, 0, 0, 5, 0])
    }).pipe(Effect.provide(setup(fake, { failing: true, takenPorts: [taken!] }, routes)))
  })

  it.live("a failed state transfer and a silent production agent roll back before or during the shift; the runtime's message stays in the log", () =>
    Effect.gen(function* () {
      for (const [behaviour, reason] of [
        [{ transfer: new TransferFailed({ message: "entry ../x is outside its state path", reason: "unsafe-entry" }) }, /^state transfer failed \(unsafe-entry\): entry \.\.\/x is outside/],
        // The runtime's message names the host's spool path: the tenant's rollback says only where the reason is.
        [
          { transfer: new TransferFailed({ message: "cannot spool: ENOSPC /var/lib/umbra/spool/acme-l1.tar", reason: "runtime" }) },
          /^state transfer failed \(runtime\): its reason is in Umbra's log$/
        ],
        [{ beats: 3 }, /heartbeat lost/]
      ] as const) {
        const fake = makeFakeRuntime()
        yield* Effect.gen(function* () {
          assert.match((yield* rollbackReason) ?? "no rollback", reason)
          assert.strictEqual((yield* launchTypes("l1")).at(-1), "LaunchRolledBack")
          assert.isFalse(fake.instances.has(productionInstanceId("acme", "l1")))
        }).pipe(Effect.provide(setup(fake, behaviour, [])))
      }
    }))

  it.live("production's agent is told to preload the profile's inferred libraries and files (not its state), and nothing with preloading off", () =>
    Effect.gen(function* () {
      const files = [
        { path: "/usr/lib/libssl.so.3", kind: "library", bytes: 700_000 },
        { path: "/srv/model.bin", kind: "file", bytes: 4096 },
        { path: "/var/lib/umbra/state/cache.json", kind: "state", bytes: 10 }
      ]
      const preloadOf = (launchPolicy: LaunchPolicy, launchId: string) =>
        Effect.gen(function* () {
          const fake = makeFakeRuntime()
          return yield* Effect.gen(function* () {
            yield* withShadows("c1")
            const instanceId = fake.created[0]!.instanceId
            yield* CommandHandler.use((handler) => handler.handle(command("RecordDependencies", { clientId: "c1", instanceId, files })))
            yield* requestProduction("c1", launchId)
            yield* drive(launchId, launchPolicy)
            const production = fake.created.find((spec) => spec.role === "production")!
            return production.env["UMBRA_PRELOAD_FILES"]
          }).pipe(Effect.provide(setup(fake, {}, [])))
        })
      assert.deepStrictEqual(JSON.parse((yield* preloadOf(policy, "l1"))!), ["/usr/lib/libssl.so.3", "/srv/model.bin"])
      assert.isUndefined(yield* preloadOf({ ...policy, preloadDependencies: false }, "l2"))
    }))

  it.live("resumed after a crash mid-provisioning, it adopts the production container instead of making a second", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      yield* withShadows("c1")
      yield* requestProduction("c1", "l1")
      // The crash: the plan recorded and the container created, its provisioning not yet recorded.
      const { plan } = yield* planProduction("acme", "l1", "c1", true)
      yield* CommandHandler.use((handler) => handler.handle(command("StartProvisioning", { launchId: "l1", ...plan })))
      const production = productionInstanceId("acme", "l1")
      fake.instances.set(production, {
        tenant: "acme", clientId: "c1", instanceId: production, role: "production", runtimeId: "rt-before-crash",
        image: "umbra/sample-workload:latest", running: false, cpuMillis: 2000, memoryMiB: 4096
      })
      yield* drive("l1")
      assert.strictEqual(fake.created.filter((spec) => spec.instanceId === production).length, 0)
      const events = yield* EventStore.use((store) => store.readStream("launch-acme.l1"))
      assert.strictEqual((events.find((e) => e.type === "ProductionProvisioned")!.data as { runtimeId: string }).runtimeId, "rt-before-crash")
      assert.strictEqual(events.at(-1)!.type, "ShadowReleased")
    }).pipe(Effect.provide(setup(fake, {}, [])))
  })

  it.live("a step that keeps failing through its retries rolls the launch back instead of stalling: traffic to the shadow, production removed", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* withShadows("c1")
      yield* requestProduction("c1", "l1")
      yield* drive("l1", { ...policy, stepRetries: 2 })
      const events = yield* EventStore.use((store) => store.readStream("launch-acme.l1"))
      assert.deepStrictEqual(events.slice(-2).map((e) => e.type), ["StateTransferCompleted", "LaunchRolledBack"])
      // The launch's events are the tenant's: the runtime's message, which names a host path, stays in the log.
      assert.strictEqual(
        (events.at(-1)!.data as { reason: string }).reason,
        "could not go on: StartProduction failed 3 times in a row (RuntimeFailed: its reason is in Umbra's log)"
      )
      assert.deepStrictEqual(weightsOf(routes), [0, 0])
      assert.isFalse(fake.instances.has(productionInstanceId("acme", "l1")))
      assert.isTrue(fake.instances.has(fake.created[0]!.instanceId), "the shadow still serves")
    }).pipe(Effect.provide(setup(fake, {}, routes, productionUnreachable(fake))))
  })

  it.live("a production the runtime refuses rolls the launch back, telling the tenant what it gave and nothing of the host", () =>
    Effect.gen(function* () {
      const refusals = [
        [new RuntimeFailed({ instanceId: "-", message: "docker create failed: No such image: acme/app:2", tenantMessage: "no such image: acme/app:2" }), "provisioning failed: no such image: acme/app:2"],
        [new RuntimeFailed({ instanceId: "-", message: "docker create failed: bind source path does not exist: /var/lib/umbra/credentials/acme" }), "provisioning failed: its reason is in Umbra's log"]
      ] as const
      for (const [error, reason] of refusals) {
        const fake = makeFakeRuntime()
        assert.strictEqual(yield* rollbackReason.pipe(Effect.provide(setup(fake, {}, [], productionRefused(fake, error)))), reason)
      }
    }))

  it.live("resumed after a crash between recycling the shadow and recording it, the release keeps its choice: recycled, never terminated too", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      yield* withShadows("c1")
      const shadow = fake.created[0]!.instanceId
      yield* requestProduction("c1", "l1")
      // The launch as the crash left it: completed with the pool empty (so: recycle), the shadow recycled, its release not recorded.
      const { plan } = yield* planProduction("acme", "l1", "c1", true)
      for (const [type, data] of [
        ["StartProvisioning", plan],
        ["RecordProductionProvisioned", { runtimeId: "rt-p", cpuMillis: 2000, memoryMiB: 4096 }],
        ["StartStateTransfer", {}],
        ["RecordStateTransfer", { bytes: 1, files: 1, checksum: "c".repeat(64), ms: 1, reset: [] }],
        ["ShiftTraffic", { weight: 100 }],
        ["CompleteLaunch", { shadowDisposition: "recycled" }]
      ] as const) yield* CommandHandler.use((handler) => handler.handle(command(type, { launchId: "l1", ...data })))
      yield* CommandHandler.use((handler) => handler.handle(command("RecycleInstance", { instanceId: shadow })))
      assert.strictEqual((yield* poolView("acme", poolKeyOf(plan!.tier, plan!.template))).size, policy.pool.size, "the pool is full now: with this shadow")
      yield* drive("l1")
      const released = (yield* EventStore.use((store) => store.readStream("launch-acme.l1"))).at(-1)!
      assert.deepInclude(released, { type: "ShadowReleased" })
      assert.strictEqual((released.data as { disposition: string }).disposition, "recycled")
      const shadowTypes = (yield* EventStore.use((store) => store.readStream(`instance-acme.${shadow}`))).map((e) => e.type)
      assert.include(shadowTypes, "InstanceRecycled")
      assert.notInclude(shadowTypes, "InstanceTerminated")
    }).pipe(Effect.provide(setup(fake, {}, [])))
  })

  it.live("production that never reports ready rolls back once the ready timeout passes, before any traffic moves", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* withShadows("c1")
      yield* requestProduction("c1", "l1")
      yield* drive("l1", { ...policy, readyTimeoutMs: 150 })
      const events = yield* EventStore.use((store) => store.readStream("launch-acme.l1"))
      assert.deepStrictEqual(events.slice(-2).map((e) => e.type), ["StateTransferCompleted", "LaunchRolledBack"])
      assert.match((events.at(-1)!.data as { reason: string }).reason, /did not report ready within 150 ms/)
      assert.deepStrictEqual(weightsOf(routes), [0, 0])
      assert.isFalse(fake.instances.has(productionInstanceId("acme", "l1")))
    }).pipe(Effect.provide(setup(fake, { neverReady: true }, routes)))
  })

  it.live("stopped in the middle of the shift and driven again: the current step is set and held again, no step is recorded twice", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* withShadows("c1")
      yield* requestProduction("c1", "l1")
      const shifts = launchTypes("l1").pipe(Effect.map((types) => types.filter((type) => type === "TrafficShifted").length))
      const first = yield* Effect.forkChild(drive("l1", { ...policy, holdMs: 400 }))
      yield* eventually(shifts.pipe(Effect.map((n) => n >= 2)), 5_000, "the shift under way")
      yield* Fiber.interrupt(first)
      const before = routes.length
      yield* drive("l1")
      assert.deepStrictEqual(yield* launchTypes("l1"), fullLaunch)
      assert.deepStrictEqual(weightsOf(routes.slice(before)), [25, 50, 100, 100], "the router is told the current step again first")
      assert.strictEqual(fake.created.filter((spec) => spec.role === "production").length, 1)
    }).pipe(Effect.provide(setup(fake, {}, routes)))
  })

  it.live("a released launch driven again points the endpoint at production alone and records nothing", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* launchOnce
      routes.length = 0
      yield* drive("l1")
      assert.deepStrictEqual(yield* launchTypes("l1"), fullLaunch, "nothing recorded again")
      assert.deepStrictEqual(routes.map((route) => route.upstreams.map((u) => [u.id, u.weight])), [[[productionInstanceId("acme", "l1"), 100]]])
    }).pipe(Effect.provide(setup(fake, {}, routes)))
  })

  it.live("a rolled-back launch driven again routes to the shadow and removes a leftover production", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* launchOnce
      const production = productionInstanceId("acme", "l1")
      const shadow = fake.created[0]!
      fake.instances.set(production, {
        tenant: "acme", clientId: "c1", instanceId: production, role: "production", runtimeId: "rt-leftover",
        image: shadow.image, running: true, cpuMillis: 2000, memoryMiB: 4096
      })
      routes.length = 0
      const types = yield* launchTypes("l1")
      yield* drive("l1")
      assert.deepStrictEqual(yield* launchTypes("l1"), types, "nothing recorded again")
      assert.deepStrictEqual(weightsOf(routes), [0])
      assert.deepStrictEqual(routes[0]!.upstreams.map((u) => u.id), [shadow.instanceId])
      assert.isFalse(fake.instances.has(production))
    }).pipe(Effect.provide(setup(fake, { failing: true }, routes)))
  })

  it.live("production retired (the client disconnected): the client's endpoint closed and production removed, also when a crash came between", () => {
    const fake = makeFakeRuntime()
    const routes: Array<RouteSpec> = []
    return Effect.gen(function* () {
      yield* launchOnce
      const production = productionInstanceId("acme", "l1")
      assert.isTrue(fake.instances.has(production))
      // The crash: the retirement recorded, nothing removed yet.
      yield* CommandHandler.use((handler) => handler.handle(command("RetireProduction", { launchId: "l1" })))
      assert.isTrue(fake.instances.has(production))
      yield* drive("l1")
      assert.isFalse(fake.instances.has(production))
      assert.deepStrictEqual(routes.filter((route) => route.key === "acme/c1"), [], "no endpoint left")
      assert.deepStrictEqual(yield* launchTypes("l1"), [...fullLaunch, "ProductionRetired"])
      yield* drive("l1")
      assert.deepStrictEqual(yield* launchTypes("l1"), [...fullLaunch, "ProductionRetired"], "driven again, nothing is recorded")
    }).pipe(Effect.provide(setup(fake, {}, routes)))
  })

  it.live("with one provisioning slot, waiting launches go highest priority first, then in request order", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      yield* withShadows("c1", "c2", "c3", "c4")
      const dispatcher = yield* makeLaunchDispatcher(yield* makeLaunchRunner(policy), 1)
      for (const [clientId, launchId, priority] of [["c1", "first", 0], ["c2", "low", 0], ["c3", "high", 5], ["c4", "low2", 0]] as const) {
        yield* requestProduction(clientId, launchId, priority)
        yield* dispatcher.enqueue("acme", launchId, priority)
      }
      const store = yield* EventStore
      const provisioned = () =>
        store.readAll().pipe(Effect.map((all) => all.filter((e) => e.type === "ProvisioningStarted").map((e) => (e.data as { launchId: LaunchId }).launchId)))
      for (let i = 0; i < 400 && (yield* provisioned()).length < 4; i++) yield* Effect.sleep("25 millis")
      assert.deepStrictEqual(yield* provisioned(), ["first", "high", "low", "low2"])
    }).pipe(Effect.scoped, Effect.provide(setup(fake, { transferMs: 50 }, [])))
  })
})
