import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import { liveIndex } from "../../projections/liveIndex.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { command } from "../support/commands.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"

const layers = CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(memoryStore, projectionsInMemory)))
const handle = (type: string, data: unknown) => CommandHandler.use((handler) => handler.handle(command(type, data)))
const deploy = (instanceId: string) =>
  handle("DeployShadow", { instanceId, clientId: "c1", tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 125, memoryMiB: 128 } })

/** The keys of the live index's rows with a prefix, after catching up with the log. */
const keys = (prefix: string) =>
  Effect.gen(function* () {
    yield* (yield* makeProjectionRunner(liveIndex)).catchUp()
    return (yield* ProjectionStore.use((rows) => rows.rows(liveIndex.name, prefix))).map((row) => row.key)
  })

describe("live index", () => {
  it.effect("given instances and launches, then only what is live is indexed, and a catch-up reads only what is new", () =>
    Effect.gen(function* () {
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      yield* deploy("shd-a")
      yield* deploy("shd-b")
      yield* handle("TerminateInstance", { instanceId: "shd-a", reason: "done" })
      yield* handle("RequestProduction", { clientId: "c1", launchId: "l1" })
      yield* handle("RequestProduction", { clientId: "c1", launchId: "l2" })
      yield* handle("RollBackLaunch", { launchId: "l1", reason: "gate" })
      assert.deepStrictEqual(yield* keys("instance/"), ["instance/acme/shd-b"])
      assert.deepStrictEqual(yield* keys("launch/"), ["launch/acme/l2"])
      assert.deepStrictEqual(yield* keys("client-launch/"), ["client-launch/acme/c1"])
      assert.deepStrictEqual(yield* keys("tenant/"), ["tenant/acme"])

      // The checkpoint moved with the rows: a second catch-up folds only the events after it.
      const head = yield* EventStore.use((store) => store.headPosition())
      assert.strictEqual(yield* ProjectionStore.use((rows) => rows.checkpoint(liveIndex.name, liveIndex.version)), head)
      yield* handle("TerminateInstance", { instanceId: "shd-b", reason: "done" })
      assert.deepStrictEqual(yield* keys("instance/"), [])
    }).pipe(Effect.provide(layers)))

  it.effect("a new version of the projection clears its rows and folds the log again", () =>
    Effect.gen(function* () {
      yield* handle("ConnectClient", { clientId: "c1", tier: "basic" })
      yield* deploy("shd-a")
      assert.deepStrictEqual(yield* keys("instance/"), ["instance/acme/shd-a"])
      const rows = yield* ProjectionStore
      assert.isDefined(yield* rows.checkpoint(liveIndex.name, liveIndex.version))
      assert.isUndefined(yield* rows.checkpoint(liveIndex.name, liveIndex.version + 1))
      assert.deepStrictEqual(yield* rows.rows(liveIndex.name, ""), [])
    }).pipe(Effect.provide(layers)))
})
