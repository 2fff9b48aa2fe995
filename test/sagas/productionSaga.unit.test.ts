import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { DomainEvent } from "../../domain/catalog.ts"
import type { ClientId, CommandId, InstanceId, LaunchId } from "../../domain/ids.ts"
import type { LaunchStage } from "../../domain/launch/launch.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { productionSaga, type ProductionSagaState } from "../../domain/sagas/productionSaga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { loadLaunchStage } from "../../src/launch/launchState.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { command } from "../support/commands.ts"

const clientId = "c1" as ClientId
const requested = (launchId: string): DomainEvent => ({ _tag: "LaunchRequested", launchId: launchId as LaunchId, clientId, priority: 0 })
const disconnected: DomainEvent = { _tag: "ClientDisconnected", clientId, reason: "bye" }
const connected: DomainEvent = { _tag: "ClientConnected", clientId, tier: "basic" }
const released = (launchId: string): DomainEvent => ({ _tag: "ShadowReleased", launchId: launchId as LaunchId, clientId, shadowInstanceId: "shd-1" as InstanceId, disposition: "recycled" })

/** given(events the saga recorded).when(event, the launch's stage as looked up).then(commands). */
const given = (history: ReadonlyArray<DomainEvent>) => {
  const state = history.reduce<ProductionSagaState>(
    (state, event) => productionSaga.evolve(state, { event, commands: [] }),
    productionSaga.initialState
  )
  return {
    when: (event: DomainEvent, stage?: LaunchStage) => ({
      lookup: productionSaga.lookup?.(event, state),
      then: (expected: ReadonlyArray<unknown>) =>
        assert.deepStrictEqual(productionSaga.decide({ tenant: "acme", eventId: "evt-x", event, view: stage }, state), expected)
    })
  }
}

describe("production saga", () => {
  it("ClientDisconnected → RetireProduction for the client's newest launch once it completed", () => {
    given([requested("l1")]).when(disconnected, "released").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([requested("l1")]).when(disconnected, "completed").then([{ _tag: "RetireProduction", launchId: "l1" }])
    given([requested("l1"), requested("l2")]).when(disconnected, "released").then([{ _tag: "RetireProduction", launchId: "l2" }])
    assert.deepStrictEqual(given([requested("l1"), requested("l2")]).when(disconnected).lookup, { launchId: "l2" as LaunchId })
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

  it.effect("records the step once: the launch's production retired once, however often the disconnection is delivered", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const handler = yield* CommandHandler
      const step = yield* makeSagaStep(productionSaga, loadLaunchStage)
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
    }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)))))
})
