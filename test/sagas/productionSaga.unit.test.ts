import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { DomainEvent } from "../../domain/catalog.ts"
import type { ClientId, CommandId, InstanceId, LaunchId } from "../../domain/ids.ts"
import type { DomainCommand } from "../../domain/commands.ts"
import type { LaunchPlan, LaunchStage } from "../../domain/launch/launch.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { type LaunchView, productionSaga, type ProductionSagaState } from "../../domain/sagas/productionSaga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { loadLaunchView } from "../../src/launch/launchState.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { command } from "../support/commands.ts"
import { fakeRuntimeLayer, makeFakeRuntime } from "../support/fakeRuntime.ts"

const clientId = "c1" as ClientId
const requested = (launchId: string): DomainEvent => ({ _tag: "LaunchRequested", launchId: launchId as LaunchId, clientId, priority: 0 })
const disconnected: DomainEvent = { _tag: "ClientDisconnected", clientId, reason: "bye" }
const connected: DomainEvent = { _tag: "ClientConnected", clientId, tier: "basic" }
const released = (launchId: string): DomainEvent => ({ _tag: "ShadowReleased", launchId: launchId as LaunchId, clientId, shadowInstanceId: "shd-1" as InstanceId, disposition: "recycled" })

const productionId = "prd-1" as InstanceId
const plan: LaunchPlan = {
  shadowInstanceId: "shd-1" as InstanceId,
  productionInstanceId: productionId,
  tier: "basic",
  template: defaultTemplate,
  network: defaultNetwork,
  resources: { cpuMillis: 1000, memoryMiB: 2048 }
}
const provisioned = (launchId: string): DomainEvent => ({
  _tag: "ProductionProvisioned",
  launchId: launchId as LaunchId,
  clientId,
  productionInstanceId: productionId,
  runtimeId: "",
  cpuMillis: 1000,
  memoryMiB: 2048
})
const completedLaunch = (launchId: string): DomainEvent => ({ _tag: "LaunchCompleted", launchId: launchId as LaunchId, clientId, productionInstanceId: productionId, shadowDisposition: "recycled" })
const rolledBack = (launchId: string): DomainEvent => ({ _tag: "LaunchRolledBack", launchId: launchId as LaunchId, clientId, reason: "gate", stage: "shifting" })
const refined: DomainEvent = {
  _tag: "ProfileRefined",
  clientId,
  expected: { cpuMillis: 4000, memoryMiB: 8192, storageGiB: 50 },
  previous: { cpuMillis: 1000, memoryMiB: 2048, storageGiB: 20 },
  reason: "forecast",
  source: "scaling"
}
const deployProduction = (launchId: string): DomainCommand => ({
  _tag: "DeployProduction",
  instanceId: productionId,
  launchId: launchId as LaunchId,
  clientId,
  tier: "basic",
  template: defaultTemplate,
  network: defaultNetwork,
  resources: plan.resources
})

/** What the runner looks up: the launch's stage, with its plan once it has one and production's runtime id once it runs. */
const viewAt = (stage: LaunchStage, productionRuntimeId?: string): LaunchView => ({
  stage,
  plan: stage === "queued" ? undefined : plan,
  productionRuntimeId
})

/** given(steps the saga recorded: events, with the commands it sent for them).when(event, what was looked up).then(commands). */
const given = (history: ReadonlyArray<DomainEvent | { readonly event: DomainEvent; readonly commands: ReadonlyArray<DomainCommand> }>) => {
  const state = history.reduce<ProductionSagaState>((state, step, i) => {
    const { event, commands } = "event" in step ? step : { event: step, commands: [] }
    return productionSaga.evolve(state, { event, commands: commands.map((command, k) => ({ commandId: `cmd-${i}-${k}` as CommandId, command })) })
  }, productionSaga.initialState)
  return {
    state,
    when: (event: DomainEvent, view?: LaunchView | LaunchStage) => ({
      lookup: productionSaga.lookup?.(event, state),
      then: (expected: ReadonlyArray<unknown>) =>
        assert.deepStrictEqual(
          productionSaga.decide({ tenant: "acme", eventId: "evt-x", event, view: typeof view === "string" ? viewAt(view) : view }, state),
          expected
        )
    })
  }
}

/** The saga's history once production of launch `l1` is deployed. */
const deployed = [requested("l1"), { event: provisioned("l1"), commands: [deployProduction("l1")] }]

describe("production saga", () => {
  it("ClientDisconnected → RetireProduction for the client's newest launch once it completed", () => {
    given([requested("l1")]).when(disconnected, "released").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([requested("l1")]).when(disconnected, "completed").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([requested("l1"), requested("l2")]).when(disconnected, "released").then([{ _tag: "RetireProduction", launchId: "l2" }])
    assert.deepStrictEqual(given([requested("l1"), requested("l2")]).when(disconnected).lookup, { launchId: "l2" as LaunchId })
  })

  it("ClientDisconnected with production deployed → its instance terminated first (unwatched before it goes), then retired", () => {
    given(deployed).when(disconnected, "released").then([
      { _tag: "TerminateInstance", instanceId: productionId, reason: "client disconnected" },
      { _tag: "RetireProduction", launchId: "l1" }
    ])
    const after = given([...deployed, { event: disconnected, commands: [{ _tag: "TerminateInstance", instanceId: productionId, reason: "client disconnected" }] }])
    assert.strictEqual(after.state.production, undefined)
    after.when(refined).then([])
  })

  it("nothing without a launch, or for a launch under way, rolled back or already retired", () => {
    given([]).when(disconnected).then([])
    assert.strictEqual(given([]).when(disconnected).lookup, undefined)
    for (const stage of ["queued", "shifting", "rolledBack", "retired"] as const) given([requested("l1")]).when(disconnected, stage).then([])
    given([requested("l1")]).when(requested("l2")).then([])
    assert.strictEqual(given([requested("l1")]).when(requested("l2")).lookup, undefined)
  })

  it("a launch under way when the client left retires its production once it has released the shadow, unless the client came back", () => {
    given([connected, requested("l1"), disconnected]).when(released("l1"), "released").then([{ _tag: "RetireProduction", launchId: "l1" }])
    assert.deepStrictEqual(given([connected, requested("l1"), disconnected]).when(released("l1")).lookup, { launchId: "l1" as LaunchId })
    given([connected, requested("l1"), disconnected, connected]).when(released("l1"), "released").then([])
    assert.strictEqual(given([connected, requested("l1"), disconnected, connected]).when(released("l1")).lookup, undefined)
    given([connected, requested("l1")]).when(released("l1"), "released").then([])
  })

  it("inputs out of order (the client's and the launch's consumers are apart): the last to arrive retires production", () => {
    // The launch's events came after the disconnection: LaunchRequested redelivered late, the shadow released already.
    given([connected, released("l1"), disconnected]).when(requested("l1"), "released").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([connected, disconnected]).when(requested("l1"), "completed").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([connected, disconnected]).when(requested("l1"), "queued").then([])
    given([connected, disconnected]).when(released("l1"), "released").then([{ _tag: "RetireProduction", launchId: "l1" }])
    assert.strictEqual(given([connected]).when(requested("l1")).lookup, undefined)
  })

  it("ProductionProvisioned → DeployProduction from the launch's plan, at the profile's full size", () => {
    assert.deepStrictEqual(given([requested("l1")]).when(provisioned("l1")).lookup, { launchId: "l1" as LaunchId })
    given([requested("l1")]).when(provisioned("l1"), "provisioned").then([deployProduction("l1")])
    given([requested("l1")]).when(provisioned("l1"), "shifting").then([deployProduction("l1")])
    assert.deepStrictEqual(given(deployed).state.production, { instanceId: productionId, launchId: "l1" as LaunchId })
  })

  it("ProductionProvisioned of a launch that has ended since, or of a launch stored before events named the client → nothing", () => {
    given([requested("l1")]).when(provisioned("l1"), "rolledBack").then([])
    given([requested("l1")]).when(provisioned("l1"), "retired").then([])
    const { clientId: _, ...anonymous } = provisioned("l1") as Extract<DomainEvent, { _tag: "ProductionProvisioned" }>
    given([requested("l1")]).when(anonymous, "provisioned").then([])
    assert.strictEqual(productionSaga.keyOf(anonymous), "")
    assert.strictEqual(productionSaga.keyOf(provisioned("l1")), clientId)
  })

  it("a client has at most one production: an earlier launch's is terminated before the next is deployed", () => {
    const other = "prd-2" as InstanceId
    given([requested("l0"), { event: provisioned("l0"), commands: [{ ...deployProduction("l0"), instanceId: other } as DomainCommand] }, requested("l1")])
      .when(provisioned("l1"), "provisioned")
      .then([{ _tag: "TerminateInstance", instanceId: other, reason: "launch l1 made the client's production anew" }, deployProduction("l1")])
  })

  it("LaunchCompleted → RecordInstanceStarted with production's runtime id (from then on it is watched)", () => {
    assert.deepStrictEqual(given(deployed).when(completedLaunch("l1")).lookup, { launchId: "l1" as LaunchId })
    given(deployed).when(completedLaunch("l1"), viewAt("completed", "rt-p")).then([{ _tag: "RecordInstanceStarted", instanceId: productionId, runtimeId: "rt-p" }])
    // No runtime id found (production gone meanwhile), or not deployed: nothing.
    given(deployed).when(completedLaunch("l1"), viewAt("completed")).then([])
    given([requested("l1")]).when(completedLaunch("l1"), viewAt("completed", "rt-p")).then([])
    assert.strictEqual(given([requested("l1")]).when(completedLaunch("l1")).lookup, undefined)
  })

  it("ProductionProvisioned seen only after the launch completed → deployed and started in one step", () => {
    given([requested("l1")])
      .when(provisioned("l1"), viewAt("released", "rt-p"))
      .then([deployProduction("l1"), { _tag: "RecordInstanceStarted", instanceId: productionId, runtimeId: "rt-p" }])
  })

  it("ProfileRefined → ResizeInstance of production at the profile's full expected CPU and memory", () => {
    given(deployed).when(refined).then([
      {
        _tag: "ResizeInstance",
        instanceId: productionId,
        resources: { cpuMillis: 4000, memoryMiB: 8192 },
        reason: "profile refined (scaling), production at full size: forecast"
      }
    ])
    given([requested("l1")]).when(refined).then([])
  })

  it("LaunchRolledBack → production's instance terminated, and forgotten", () => {
    given(deployed).when(rolledBack("l1")).then([{ _tag: "TerminateInstance", instanceId: productionId, reason: "its launch rolled back" }])
    given([requested("l1")]).when(rolledBack("l1")).then([])
    const after = given([...deployed, { event: rolledBack("l1"), commands: [{ _tag: "TerminateInstance", instanceId: productionId, reason: "its launch rolled back" }] }])
    after.when(refined).then([])
  })

  it.effect("records the step once: the launch's production retired once, however often the disconnection is delivered", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const handler = yield* CommandHandler
      const step = yield* makeSagaStep(productionSaga, loadLaunchView)
      const last = (stream: string) => store.readStream(stream).pipe(Effect.map((events) => events.at(-1)!))
      yield* handler.handle(command("ConnectClient", { clientId: "c1", tier: "basic" }))
      yield* handler.handle(command("RequestProduction", { clientId: "c1", launchId: "l1" }))
      const plan = {
        launchId: "l1",
        shadowInstanceId: "shd-1" as InstanceId,
        productionInstanceId: "prd-1" as InstanceId,
        tier: "basic",
        template: defaultTemplate,
        network: defaultNetwork,
        resources: { cpuMillis: 1000, memoryMiB: 2048 }
      }
      for (const [type, data] of [
        ["StartProvisioning", plan],
        ["RecordProductionProvisioned", { launchId: "l1", runtimeId: "rt-p", cpuMillis: 1000, memoryMiB: 2048 }],
        ["StartStateTransfer", { launchId: "l1" }],
        ["RecordStateTransfer", { launchId: "l1", bytes: 1, files: 1, checksum: "c".repeat(64), ms: 1, reset: [] }],
        ["ShiftTraffic", { launchId: "l1", weight: 100 }],
        ["CompleteLaunch", { launchId: "l1", shadowDisposition: "terminated" }]
      ] as const) yield* handler.handle(command(type, data))
      yield* step((yield* store.readStream("launch-acme.l1"))[0]!)
      yield* handler.handle(command("DisconnectClient", { clientId: "c1" }))
      const disconnection = yield* last("client-acme.c1")
      yield* step(disconnection)
      yield* step(disconnection)
      const launch = yield* store.readStream("launch-acme.l1")
      assert.deepStrictEqual(launch.slice(-2).map((e) => e.type), ["LaunchCompleted", "ProductionRetired"])
      assert.deepStrictEqual(launch.at(-1)!.data, { launchId: "l1", clientId: "c1", productionInstanceId: "prd-1" })
      assert.strictEqual(launch.at(-1)!.correlationId, disconnection.correlationId)
      const saga = yield* store.readStream("saga-acme.production-c1")
      assert.deepStrictEqual(saga.map((e) => e.type), ["SagaStepRecorded", "SagaStepRecorded"])
      const recorded = saga.at(-1)!.data as { readonly commands: ReadonlyArray<{ readonly commandId: CommandId; readonly type: string }> }
      assert.deepStrictEqual(recorded.commands.map((c) => c.type), ["RetireProduction"])
    }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(Layer.merge(memoryStore, fakeRuntimeLayer(makeFakeRuntime())))))))
})
