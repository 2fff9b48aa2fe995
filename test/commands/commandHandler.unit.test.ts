import { randomUUID } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { decodePublicCommand } from "../../src/commands/commandGateway.ts"
import { type CommandEnvelope, CommandHandler, makeCommandHandler } from "../../src/commands/commandHandler.ts"
import { defaultFoldLimits } from "../../src/eventStore/foldedStreams.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { command } from "../support/commands.ts"
import { countingStore } from "../support/countingStore.ts"
import { wrappedStore } from "../support/wrappedStore.ts"

const handlerLayer = CommandHandler.layer.pipe(Layer.provideMerge(memoryStore))

describe("CommandHandler", () => {
  it.effect("decides, appends with ids derived from the command, and answers a repeat as a duplicate", () =>
    Effect.gen(function* () {
      const handler = yield* CommandHandler
      const connect = command("ConnectClient", { clientId: "c1", tier: "standard" })
      const first = yield* handler.handle(connect)
      assert.isFalse(first.duplicate)
      assert.deepStrictEqual(first.events.map((e) => [e.type, e.stream, e.revision]), [["ClientConnected", "client-acme.c1", 0]])
      assert.strictEqual(first.events[0]!.causationId, connect.commandId)
      const again = yield* handler.handle(connect)
      assert.isTrue(again.duplicate)
      assert.deepStrictEqual(again.events.map((e) => e.id), first.events.map((e) => e.id))
      assert.lengthOf(yield* (yield* EventStore).readStream("client-acme.c1"), 1)
    }).pipe(Effect.provide(handlerLayer)))

  it.effect("decides on state another handler changed: a refusal on what it cached is decided again on the store's state", () =>
    Effect.gen(function* () {
      const here = yield* makeCommandHandler(defaultFoldLimits)
      const elsewhere = yield* makeCommandHandler(defaultFoldLimits)
      yield* here.handle(command("ConnectClient", { clientId: "c9", tier: "basic" }))
      yield* elsewhere.handle(command("DisconnectClient", { clientId: "c9" }))
      // `here` still holds c9 as connected: deciding on that alone would refuse the reconnect.
      const reconnected = yield* here.handle(command("ConnectClient", { clientId: "c9", tier: "basic" }))
      assert.deepStrictEqual(reconnected.events.map((e) => [e.type, e.revision]), [["ClientConnected", 2]])
      // A decision on what it cached is refused by the store's revision, then made again on fresh state.
      yield* here.handle(command("DisconnectClient", { clientId: "c9" }))
      yield* elsewhere.handle(command("ConnectClient", { clientId: "c9", tier: "basic" }))
      yield* elsewhere.handle(command("DisconnectClient", { clientId: "c9" }))
      const again = yield* here.handle(command("ConnectClient", { clientId: "c9", tier: "basic" }))
      assert.deepStrictEqual(again.events.map((e) => [e.type, e.revision]), [["ClientConnected", 6]])
    }).pipe(Effect.provide(memoryStore)))

  it.effect("decides on a stream it never folded as on a new one, reading nothing; a guess that was behind is decided again on the store's state", () =>
    Effect.gen(function* () {
      const counts = { reads: 0, events: 0 }
      const here = yield* makeCommandHandler(defaultFoldLimits).pipe(Effect.provide(countingStore(counts)))
      const elsewhere = yield* makeCommandHandler(defaultFoldLimits)
      const connected = yield* here.handle(command("ConnectClient", { clientId: "c5", tier: "basic" }))
      assert.deepStrictEqual(connected.events.map((e) => [e.type, e.revision]), [["ClientConnected", 0]])
      assert.strictEqual(counts.reads, 0, "a new client's stream is not read")
      // c6 is connected by another handler: `here` guesses a new stream, the store refuses the append, `here` reads.
      yield* elsewhere.handle(command("ConnectClient", { clientId: "c6", tier: "basic" }))
      const refused = yield* here.handle(command("ConnectClient", { clientId: "c6", tier: "basic" })).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "IllegalState")
      const disconnected = yield* here.handle(command("DisconnectClient", { clientId: "c6" }))
      assert.deepStrictEqual(disconnected.events.map((e) => [e.type, e.revision]), [["ClientDisconnected", 1]])
      assert.isAbove(counts.reads, 0)
      assert.lengthOf(yield* (yield* EventStore).readStream("client-acme.c6"), 2)
    }).pipe(Effect.provide(memoryStore)))

  it.effect("writes a stream's retention once, when the store says the stream is new, however cold the handler", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const recording = wrappedStore((store) => ({
        setStreamMetadata: (stream, metadata) => store.setStreamMetadata(stream, metadata).pipe(Effect.tap(() => Effect.sync(() => void written.push(stream))))
      }))
      const forecast = (reason: string) =>
        command("RecordForecast", {
          clientId: "c7",
          metric: "cpu",
          model: "m",
          horizons: [],
          quality: { modelError: 0, lastValueError: 0, meanDemand: 0, shortfall: 0, slack: 0, scoredSteps: 0 },
          fallback: false,
          reason
        })
      for (const reason of ["first", "second", "third"]) {
        const cold = yield* makeCommandHandler(defaultFoldLimits).pipe(Effect.provide(recording))
        yield* cold.handle(forecast(reason))
      }
      assert.deepStrictEqual(written, ["forecast-acme.c7"])
      assert.lengthOf(yield* (yield* EventStore).readStream("forecast-acme.c7"), 3)
    }).pipe(Effect.provide(memoryStore)))

  it.effect("returns typed errors and stores nothing", () =>
    Effect.gen(function* () {
      const handler = yield* CommandHandler
      const store = yield* EventStore
      const tag = (envelope: CommandEnvelope) => handler.handle(envelope).pipe(Effect.flip, Effect.map((e) => e._tag))
      // What is not a command, or not a valid one, never reaches the handler: the gateway's decoding refuses it.
      const refused = (type: string, data: unknown) => decodePublicCommand(type, data, randomUUID()).pipe(Effect.flip, Effect.map((e) => e._tag))
      assert.strictEqual(yield* refused("LaunchRockets", {}), "UnknownCommand")
      assert.strictEqual(yield* refused("ConnectClient", { clientId: "c2", tier: "gold" }), "ValidationFailed")
      assert.strictEqual(yield* tag(command("RefineProfile", { clientId: "c2", expected: {}, reason: "x" })), "NotFound")
      yield* handler.handle(command("ConnectClient", { clientId: "c2", tier: "basic" }))
      assert.strictEqual(yield* tag(command("ConnectClient", { clientId: "c2", tier: "basic" })), "IllegalState")
      assert.lengthOf(yield* store.readStream("client-acme.c2"), 1)
      assert.deepStrictEqual(yield* store.readStream("profile-acme.c2"), [])
    }).pipe(Effect.provide(handlerLayer)))

  it.effect("keeps one stream consistent under 50 concurrent commands", () =>
    Effect.gen(function* () {
      const handler = yield* CommandHandler
      yield* handler.handle(command("CreateProfile", { clientId: "c3", tier: "basic" }))
      const refinements = Array.from({ length: 50 }, (_, i) =>
        command("RefineProfile", { clientId: "c3", expected: { cpuMillis: 1000 + i }, reason: `step ${i}` })
      )
      yield* Effect.forEach(refinements, (c) => handler.handle(c), { concurrency: "unbounded", discard: true })
      const stream = yield* (yield* EventStore).readStream("profile-acme.c3")
      assert.deepStrictEqual(stream.map((e) => e.revision), Array.from({ length: 51 }, (_, i) => i))
      assert.deepStrictEqual(new Set(stream.slice(1).map((e) => e.causationId)), new Set(refinements.map((c) => c.commandId)))
    }).pipe(Effect.provide(handlerLayer)))
})
