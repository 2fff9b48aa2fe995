import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { join } from "node:path"
import * as sqliteStore from "../../infra/eventStore/sqliteEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { command } from "../support/commands.ts"
import { controlPlaneClientLayer, jetStreamEvents, send, TestDataDir } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { serveProcess, stopProcess } from "../support/serveProcess.ts"

layer(controlPlaneClientLayer, { excludeTestServices: true, timeout: "180 seconds" })("relay crash safety", (it) => {
  it.effect("after a SIGKILL between append and publish, a restart delivers every event to JetStream exactly once", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const dataDir = yield* TestDataDir
      const serve = () =>
        serveProcess(
          { NATS_URL: server.url, UMBRA_DATA_DIR: dataDir, UMBRA_ORCHESTRATOR: "off" },
          "Umbra control plane serving"
        )
      const first = yield* serve()
      // Commands in flight when the process dies: some appended, some published, some neither.
      const inFlight = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: 120 }, (_, i) => i),
          (i) => send("acme", "ConnectClient", { clientId: `k${i}`, tier: "basic" }, undefined, 2_000).pipe(Effect.result),
          { concurrency: 16 }
        )
      )
      yield* eventually(jetStreamEvents("umbra.evt.acme.>").pipe(Effect.map((events) => events.length >= 20)), 20_000, "first events")
      yield* stopProcess(first, "SIGKILL")
      yield* Fiber.join(inFlight).pipe(Effect.ignore)

      // Appended while nothing relays: what a crash right after an append leaves behind.
      const storeLayer = sqliteStore.layerFile(join(dataDir, "events.db"))
      yield* Effect.gen(function* () {
        const handler = yield* CommandHandler
        for (let i = 0; i < 20; i++) yield* handler.handle(command("ConnectClient", { clientId: `late${i}`, tier: "basic" }))
      }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(storeLayer))))

      const second = yield* serve()
      const storedEvents = Effect.gen(function* () {
        return yield* (yield* EventStore).readAll()
      }).pipe(Effect.provide(storeLayer))
      const storedIds = Effect.map(storedEvents, (events) => events.map((e) => e.id))
      const count = (events: ReadonlyArray<{ readonly type: string }>, type: string) => events.filter((e) => e.type === type).length
      // Settled: every stored event is on JetStream and the sagas have nothing left to add.
      yield* eventually(
        Effect.gen(function* () {
          const stored = yield* storedEvents
          const published = yield* jetStreamEvents("umbra.evt.>")
          return published.length === stored.length && count(stored, "ClientConnected") === count(stored, "ProfileCreated")
        }),
        60_000,
        "JetStream to hold every stored event"
      )
      yield* Effect.sleep("1 second")
      const stored = yield* storedIds
      const published = (yield* jetStreamEvents("umbra.evt.>")).map((e) => e.id)
      assert.strictEqual(published.length, new Set(published).size, "no event is on JetStream twice")
      assert.deepStrictEqual(new Set(published), new Set(stored))
      assert.isAtLeast(stored.length, 20 + 3 * 20, "the late clients' events, their saga steps and profiles")
      yield* stopProcess(second, "SIGTERM")
    }),
    180_000
  )
})
