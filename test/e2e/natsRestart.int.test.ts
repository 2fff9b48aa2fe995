import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { controlPlaneTestLayer, jetStreamEvents, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "180 seconds" })("nats-server restart", (it) => {
  it.effect("stopping and restarting nats-server under load loses no acknowledged command", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const store = yield* EventStore
      const acknowledged = yield* Ref.make<ReadonlyArray<string>>([])
      const load = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) =>
            send("acme", "ConnectClient", { clientId: `n${i}`, tier: "basic" }, undefined, 1_500).pipe(
              Effect.flatMap((reply) => (reply.ok ? Ref.update(acknowledged, (ids) => [...ids, reply.events![0]!.id]) : Effect.void)),
              Effect.ignore
            ),
          { concurrency: 8, discard: true }
        )
      )
      yield* eventually(Ref.get(acknowledged).pipe(Effect.map((ids) => ids.length >= 50)), 20_000, "load under way")
      yield* server.restart
      yield* Fiber.join(load)
      const acked = yield* Ref.get(acknowledged)
      assert.isAbove(acked.length, 50)
      const stored = new Set((yield* store.readAll()).map((e) => e.id))
      assert.deepStrictEqual(acked.filter((id) => !stored.has(id)), [], "every acknowledged command is stored")
      yield* eventually(
        jetStreamEvents("umbra.evt.acme.client.>").pipe(
          Effect.map((events) => {
            const published = new Set(events.map((e) => e.id))
            return acked.every((id) => published.has(id)) && published.size === events.length
          })
        ),
        30_000,
        "every acknowledged command's event on JetStream, once"
      )
    }),
    180_000
  )
})
