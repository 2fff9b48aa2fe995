import { assert, layer } from "@effect/vitest"
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { controlPlaneTestLayer, jetStreamEvents, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"

/** Lets UMBRA_EVENTS take no more messages than it holds (`full`), or any number again. */
const setFull = (full: boolean) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    yield* Effect.promise(async () => {
      const jsm = await jetstreamManager(nc)
      const { config, state } = await jsm.streams.info(streamNames.events)
      await jsm.streams.update(streamNames.events, { ...config, max_msgs: full ? state.messages : -1, discard: full ? DiscardPolicy.New : DiscardPolicy.Old })
    })
  })

/** The tenant's ClientConnected and ProfileCreated events on JetStream. */
const connectEvents = jetStreamEvents("umbra.evt.acme.>").pipe(
  Effect.map((events) => events.filter((e) => e.type === "ClientConnected" || e.type === "ProfileCreated").length)
)

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "90 seconds" })("a JetStream that refuses writes", (it) => {
  it.effect("an acknowledged command's events wait in the store while JetStream is full, then arrive exactly once", () =>
    Effect.gen(function* () {
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "c1", tier: "basic" })).ok)
      yield* eventually(connectEvents.pipe(Effect.map((n) => n === 2)), 10_000, "c1's events on JetStream")
      yield* setFull(true)

      const reply = yield* send("acme", "ConnectClient", { clientId: "c2", tier: "basic" })
      assert.isTrue(reply.ok, "the decision is durable in the store, so it is acknowledged")
      assert.lengthOf(yield* (yield* EventStore).readStream("client-acme.c2"), 1)
      yield* Effect.sleep("1500 millis")
      const whileFull = yield* jetStreamEvents("umbra.evt.acme.client.c2")
      assert.lengthOf(whileFull, 0, "JetStream refused it")

      yield* setFull(false)
      yield* eventually(
        jetStreamEvents("umbra.evt.acme.>").pipe(Effect.map((events) => events.filter((e) => e.type === "ProfileCreated").length === 2)),
        20_000,
        "c2's events once JetStream has room"
      )
      const events = yield* jetStreamEvents("umbra.evt.acme.>")
      assert.strictEqual(events.filter((e) => e.type === "ClientConnected").length, 2)
      assert.strictEqual(new Set(events.map((e) => e.id)).size, events.length, "each event once")
    }))
})
