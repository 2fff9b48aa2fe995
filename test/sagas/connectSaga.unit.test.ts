import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { DomainEvent } from "../../domain/catalog.ts"
import type { ClientId } from "../../domain/ids.ts"
import { connectSaga } from "../../domain/sagas/connectSaga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeSagaStep } from "../../src/sagas/sagaRunner.ts"
import { command } from "../support/commands.ts"

const clientId = "c1" as ClientId
const network = { subnets: ["10.1.0.0/24"], securityGroups: [], egress: true }
const input = (event: DomainEvent) => ({ tenant: "acme", eventId: "evt-1", event, view: undefined })

describe("connect saga", () => {
  it("given ClientConnected, when it arrives, then CreateProfile with the client's tier and settings", () => {
    const commands = connectSaga.decide(input({ _tag: "ClientConnected", clientId, tier: "premium", network }), null)
    assert.deepStrictEqual(commands, [{ _tag: "CreateProfile", clientId, tier: "premium", network }])
  })

  it("ignores events it does not handle", () => {
    assert.deepStrictEqual(connectSaga.decide(input({ _tag: "ClientDisconnected", clientId, reason: "x" }), null), [])
  })

  it.effect("acts once per event, however often the event is delivered", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const handler = yield* CommandHandler
      const step = yield* makeSagaStep(connectSaga)
      const connected = yield* handler.handle(command("ConnectClient", { clientId: "c1", tier: "basic" }))
      const event = connected.events[0]!
      const input = (yield* store.readStream(event.stream))[0]!
      yield* step(input)
      yield* step(input)
      const profile = yield* store.readStream("profile-acme.c1")
      assert.deepStrictEqual(profile.map((e) => e.type), ["ProfileCreated"])
      assert.strictEqual(profile[0]!.correlationId, input.correlationId)
      const saga = yield* store.readStream("saga-acme.connect-c1")
      assert.deepStrictEqual(saga.map((e) => e.type), ["SagaStepRecorded"])
    }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)))))
})
