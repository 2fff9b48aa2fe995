import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { connectSaga } from "../../domain/sagas/connectSaga.ts"
import { makeShadowSaga } from "../../domain/sagas/shadowSaga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime, RuntimeFailed } from "../../src/instanceRuntime.ts"
import { makeInstanceStep } from "../../src/instances/instanceRunner.ts"
import { reconcile } from "../../src/instances/reconciler.ts"
import { catchUpLiveIndex } from "../../src/projections/liveIndex.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { poolView } from "../../src/instances/pool.ts"
import type { Watchdog } from "../../src/instances/watchdog.ts"
import { command } from "../support/commands.ts"
import { agentsOnlyBus } from "../support/agentsOnlyBus.ts"
import { recordingWatchdog } from "../support/recordingWatchdog.ts"
import { pumpStoredEvents } from "../support/eventPump.ts"
import { type FakeRuntime, fakeRuntimeLayer, makeFakeRuntime } from "../support/fakeRuntime.ts"

const agent = { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: 1_000 }
// Recreations wait (Effect.sleep): the tests that recreate run on the live clock, with a 1 ms backoff.
const recreation = { limit: 2, backoffMs: 1, maxBackoffMs: 1 }

/** The agents of the fake runtime's instances, as far as the orchestrator asks them anything: scrub and assign answer ok. */
const agentsOnly = agentsOnlyBus((_subject, data) => {
  const request = JSON.parse(new TextDecoder().decode(data)) as { op: string; clientId?: string }
  const reply = request.op === "assign" ? { ok: true, op: "assign", clientId: request.clientId } : { ok: true, op: "scrub", removedFiles: 0, bytes: 0 }
  return Effect.succeed(new TextEncoder().encode(JSON.stringify(reply)))
})

/** The store, the command handler, a fake runtime and its agents: the orchestrator without NATS. */
const setup = (fake: FakeRuntime, runtime = fakeRuntimeLayer(fake)) =>
  CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(memoryStore, runtime, agentsOnly, projectionsInMemory)))

/** The fake runtime, except that its first `times` creates fail with `error` (and make nothing). */
const failingCreates = (fake: FakeRuntime, times: number, error: RuntimeFailed) => {
  let left = times
  return Layer.effect(
    InstanceRuntime,
    Effect.map(InstanceRuntime, (runtime) =>
      InstanceRuntime.of({ ...runtime, create: (spec, options) => (left-- > 0 ? Effect.fail(error) : runtime.create(spec, options)) }))
  ).pipe(Layer.provide(fakeRuntimeLayer(fake)))
}
/** A refusal of what the tenant gave: its events may say so. */
const refusal = new RuntimeFailed({
  instanceId: "-",
  message: "docker create of shd-1 failed: No such image: umbra/sample:latest",
  tenantMessage: "no such image: umbra/sample:latest"
})
/** A refusal whose message names the host's paths: for Umbra's log only. */
const mountRefusal = new RuntimeFailed({
  instanceId: "-",
  message: "docker create of shd-1 failed: invalid mount config: bind source path does not exist: /var/lib/umbra/credentials/acme/shd-1"
})

/** Feeds every stored event, in order, to the sagas and the instance runner until nothing new is appended (the bus, in one process). */
const pump = (watchdog: Watchdog, delivered: Set<string> = new Set()) =>
  Effect.gen(function* () {
    const steps = [
      yield* makeSagaStep(connectSaga),
      yield* makeSagaStep(makeShadowSaga({ sizing: { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 128 } }, pool: { size: 1 } }), poolView),
      yield* makeInstanceStep({ agent, recreation }, watchdog)
    ]
    return yield* pumpStoredEvents(steps, delivered)
  })

const instanceStreams = Effect.gen(function* () {
  const all = yield* (yield* EventStore).readAll()
  const streams = new Map<string, Array<string>>()
  for (const event of all) {
    if (!event.stream.startsWith("instance-")) continue
    streams.set(event.stream, [...(streams.get(event.stream) ?? []), event.type])
  }
  return streams
})

const handle = (type: string, data: unknown) => CommandHandler.use((handler) => handler.handle(command(type, data)))

describe("orchestrator (fake runtime)", () => {
  it.effect("ConnectClient → a running shadow, sized by policy, recorded as started and watched", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "standard" })
      yield* pump(watchdog)
      assert.strictEqual(fake.created.length, 1)
      const spec = fake.created[0]!
      assert.deepStrictEqual([spec.cpuMillis, spec.memoryMiB, spec.role], [500, 1024, "shadow"])
      assert.strictEqual(spec.env["UMBRA_INSTANCE_ID"], spec.instanceId)
      const streams = yield* instanceStreams
      assert.deepStrictEqual([...streams.values()], [["ShadowRequested", "InstanceStarted"]])
      assert.deepStrictEqual([...watched.keys()], [spec.instanceId])
    }).pipe(Effect.provide(setup(fake)))
  })

  it.effect("a redelivered event starts no second container and records nothing twice", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      yield* pump(watchdog)
      const before = yield* (yield* EventStore).readAll()
      // Everything delivered again, as after a crash before the acknowledgements.
      yield* pump(watchdog, new Set())
      assert.strictEqual(fake.created.length, 1)
      assert.strictEqual((yield* (yield* EventStore).readAll()).length, before.length)
    }).pipe(Effect.provide(setup(fake)))
  })

  it.effect("a crash between creating the container and recording it adopts the container", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      const store = yield* EventStore
      // Deliver everything except the instance runner's reaction, then fake the half-done start.
      const connectStep = yield* makeSagaStep(connectSaga)
      const shadowStep = yield* makeSagaStep(makeShadowSaga({ sizing: { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 128 } }, pool: { size: 1 } }), poolView)
      for (const e of yield* store.readAll()) yield* connectStep(e)
      for (const e of yield* store.readAll()) yield* shadowStep(e)
      const requested = (yield* store.readAll()).find((e: StoredEvent) => e.type === "ShadowRequested")!
      const spec = requested.data as { instanceId: string; clientId: string }
      fake.instances.set(spec.instanceId, {
        tenant: "acme", clientId: spec.clientId, instanceId: spec.instanceId, role: "shadow", runtimeId: "rt-before-crash",
        image: "umbra/sample-workload:latest", running: true, cpuMillis: 125, memoryMiB: 128
      })
      yield* pump(watchdog)
      assert.strictEqual(fake.created.length, 0)
      const started = (yield* store.readAll()).find((e) => e.type === "InstanceStarted")!
      assert.strictEqual((started.data as { runtimeId: string }).runtimeId, "rt-before-crash")
    }).pipe(Effect.provide(setup(fake)))
  })

  it.live("HeartbeatLost → the old container removed, a new one created, InstanceRecreated once", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      const delivered = yield* pump(watchdog)
      const instanceId = fake.created[0]!.instanceId
      fake.kill(instanceId)
      yield* handle("MarkHeartbeatLost", { instanceId, reason: "silent" })
      yield* pump(watchdog, delivered)
      yield* pump(watchdog, new Set())
      assert.strictEqual(fake.created.length, 2)
      assert.deepStrictEqual(fake.removed, [instanceId])
      assert.strictEqual([...fake.instances.values()].filter((i) => i.running).length, 1)
      const streams = yield* instanceStreams
      assert.deepStrictEqual([...streams.values()][0], ["ShadowRequested", "InstanceStarted", "HeartbeatLost", "InstanceRecreated"])
    }).pipe(Effect.provide(setup(fake)))
  })

  it.live("gives a shadow up after the recreation limit", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      let delivered = yield* pump(watchdog)
      const instanceId = fake.created[0]!.instanceId
      for (let i = 0; i < 3; i++) {
        yield* handle("MarkHeartbeatLost", { instanceId, reason: "silent" })
        delivered = yield* pump(watchdog, delivered)
      }
      const types = [...(yield* instanceStreams).values()][0]!
      assert.deepStrictEqual(types.slice(-2), ["HeartbeatLost", "InstanceTerminated"])
      assert.strictEqual(types.filter((t) => t === "InstanceRecreated").length, 2)
      assert.strictEqual(fake.instances.size, 0)
    }).pipe(Effect.provide(setup(fake)))
  })

  it.live("a start the runtime refuses is recorded, the shadow lost, and it runs once a recreation is not refused: no event parked", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      yield* pump(watchdog)
      const [stream, types] = [...(yield* instanceStreams).entries()][0]!
      assert.deepStrictEqual(types, ["ShadowRequested", "InstanceStartFailed", "InstanceRecreated"])
      const instanceId = fake.created[0]!.instanceId
      assert.isTrue(fake.instances.get(instanceId)!.running)
      assert.deepStrictEqual([...watched.keys()], [instanceId])
      // The tenant's stream never carries the engine's message, which names the host's paths.
      const refused = (yield* (yield* EventStore).readStream(stream)).find((event) => event.type === "InstanceStartFailed")!
      assert.strictEqual((refused.data as { reason: string }).reason, "the runtime refused it: its reason is in Umbra's log")
    }).pipe(Effect.provide(setup(fake, failingCreates(fake, 1, mountRefusal))))
  })

  it.live("a shadow the runtime keeps refusing is given up at the recreation limit", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      yield* pump(watchdog)
      const [stream, types] = [...(yield* instanceStreams).entries()][0]!
      assert.deepStrictEqual(types, ["ShadowRequested", "InstanceStartFailed", "InstanceStartFailed", "InstanceTerminated"])
      const refused = (yield* (yield* EventStore).readStream(stream)).find((event) => event.type === "InstanceStartFailed")!
      assert.strictEqual((refused.data as { reason: string }).reason, "the runtime refused it: no such image: umbra/sample:latest")
      assert.strictEqual(fake.created.length, 0)
    }).pipe(Effect.provide(setup(fake, failingCreates(fake, 10, refusal))))
  })

  it.effect("an engine that does not answer is no refusal: the step fails (its consumer waits the outage out) and nothing is recorded", () => {
    const fake = makeFakeRuntime()
    const outage = new RuntimeFailed({ instanceId: "-", message: "connect ENOENT /var/run/docker.sock", engineUnavailable: true })
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      const failed = yield* pump(watchdog).pipe(Effect.flip)
      assert.deepInclude(failed, { _tag: "RuntimeFailed", engineUnavailable: true })
      assert.deepStrictEqual([...(yield* instanceStreams).values()], [["ShadowRequested"]])
    }).pipe(Effect.provide(setup(fake, failingCreates(fake, 1, outage))))
  })

  it.effect("RefineProfile resizes the same container live", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      const delivered = yield* pump(watchdog)
      yield* handle("RefineProfile", { clientId: "c1", expected: { cpuMillis: 2000, memoryMiB: 2048 }, reason: "forecast" })
      yield* pump(watchdog, delivered)
      assert.strictEqual(fake.created.length, 1)
      assert.deepStrictEqual(fake.resized, [{ instanceId: fake.created[0]!.instanceId, cpuMillis: 500, memoryMiB: 512 }])
    }).pipe(Effect.provide(setup(fake)))
  })

  it.effect("a disconnected client's shadow is recycled and claimed by the next client of the same image and tier", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog } = recordingWatchdog()
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      let delivered = yield* pump(watchdog)
      yield* handle("DisconnectClient", { clientId: "c1" })
      delivered = yield* pump(watchdog, delivered)
      yield* handle("ConnectClient", { clientId: "c2", tier: "basic" })
      delivered = yield* pump(watchdog, delivered)
      assert.strictEqual(fake.created.length, 1, "the second client got the pooled container")
      const types = [...(yield* instanceStreams).values()][0]!
      assert.deepStrictEqual(types, ["ShadowRequested", "InstanceStarted", "InstanceRecycled", "InstanceClaimed"])
      // Another tier finds nothing in the pool: a fresh shadow.
      yield* handle("ConnectClient", { clientId: "c3", tier: "premium" })
      yield* pump(watchdog, delivered)
      assert.strictEqual(fake.created.length, 2)
    }).pipe(Effect.provide(setup(fake)))
  })

  it.live("reconciliation adopts what matches, removes orphans, marks missing shadows lost", () => {
    const fake = makeFakeRuntime()
    return Effect.gen(function* () {
      const { watchdog, watched } = recordingWatchdog()
      for (const clientId of ["c1", "c2", "c3"]) yield* handle("ConnectClient", { clientId, tier: "basic" })
      yield* pump(watchdog)
      const [kept, killed, gone] = fake.created.map((spec) => spec.instanceId)
      fake.kill(killed!)
      fake.instances.delete(gone!)
      fake.instances.set("shd-orphan", { ...fake.instances.get(kept!)!, instanceId: "shd-orphan", runtimeId: "rt-orphan" })
      watched.clear()
      yield* catchUpLiveIndex
      const report = yield* reconcile(watchdog, agent)
      assert.deepStrictEqual(report.adopted, [kept!])
      assert.deepStrictEqual(report.removed, ["shd-orphan"])
      assert.sameMembers([...report.lost], [killed!, gone!])
      assert.deepStrictEqual([...watched.keys()], [kept!])
      // The instance runner then recreates both lost shadows: three running containers, no more.
      yield* pump(watchdog)
      assert.strictEqual([...fake.instances.values()].filter((i) => i.running).length, 3)
      assert.strictEqual(fake.instances.size, 3)
    }).pipe(Effect.provide(setup(fake)))
  })
})
