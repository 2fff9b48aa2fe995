import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer, layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { eventStoreConformance, eventsNow, newEvent } from "./conformance.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-sqlite-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

eventStoreConformance("sqlite", layerFile(join(dir, "conformance.db")), { uniqueIdsAcrossStreams: true, time: "test" })

/** Runs `use` against a fresh store on its own file, closed afterwards. */
const withStore = <A, E>(name: string, use: Effect.Effect<A, E, EventStore>) =>
  use.pipe(Effect.provide(layerFile(join(dir, `${name}.db`))))

const events = (count: number) => Array.from({ length: count }, (_, i) => newEvent({ n: i }))

describe("SQLite event store", () => {
  it.live("keeps events, revisions and metadata when the file is opened again", () =>
    Effect.gen(function* () {
      const written = events(3)
      yield* withStore("reopen", Effect.gen(function* () {
        const store = yield* EventStore
        yield* store.append("test-acme.a", "no_stream", written)
        yield* store.setStreamMetadata("test-acme.a", { maxCount: 10 })
      }))
      yield* withStore("reopen", Effect.gen(function* () {
        const store = yield* EventStore
        assert.deepStrictEqual((yield* store.readStream("test-acme.a")).map((e) => e.id), written.map((e) => e.id))
        assert.deepStrictEqual(yield* store.getStreamMetadata("test-acme.a"), { maxCount: 10 })
        assert.strictEqual((yield* store.append("test-acme.a", 2, events(1))).revision, 3)
      }))
    }))

  it.effect("never hands out a scavenged position again", () =>
    withStore("positions", Effect.gen(function* () {
      const store = yield* EventStore
      yield* store.setStreamMetadata("test-acme.gone", { maxCount: 1 })
      yield* store.append("test-acme.gone", "no_stream", yield* eventsNow(3))
      const head = (yield* store.headPosition())!
      yield* store.setStreamMetadata("test-acme.gone", { maxAge: 1, maxCount: 1 })
      yield* TestClock.adjust("1100 millis")
      assert.strictEqual((yield* store.scavenge()).removed, 3)
      assert.isUndefined(yield* store.headPosition())
      const next = yield* store.append("test-acme.gone", 2, events(1))
      assert.isTrue(next.position > head)
      assert.strictEqual(next.revision, 3)
    })))

  it.live("a subscriber sees events that another connection to the file appends", () =>
    Effect.gen(function* () {
      const file = join(dir, "two-connections.db")
      const writer = yield* Layer.build(layer({ file }))
      const reader = yield* Layer.build(layer({ file, pollInterval: "10 millis" }))
      const written = events(20)
      const seen = yield* EventStore.use((store) => store.subscribe().pipe(Stream.take(written.length), Stream.runCollect)).pipe(
        Effect.provideContext(reader),
        Effect.forkChild
      )
      yield* Effect.forEach(written, (event) => EventStore.use((store) => store.append("test-acme.shared", "any", [event])), {
        discard: true
      }).pipe(Effect.provideContext(writer))
      const collected = yield* Fiber.join(seen).pipe(Effect.timeout("10 seconds"))
      assert.deepStrictEqual(collected.map((e) => e.id), written.map((e) => e.id))
    }).pipe(Effect.scoped))
})
