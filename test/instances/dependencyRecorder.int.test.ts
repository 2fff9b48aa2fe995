import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { subjects } from "../../domain/subjects.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import * as memoryCheckpoints from "../../infra/readModels/memoryCheckpoints.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { runDependencyRecorder } from "../../src/instances/dependencyRecorder.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { command } from "../support/commands.ts"
import { eventually } from "../support/eventually.ts"
import { publishStored } from "../support/publishStored.ts"

const testLayer = Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), memoryCheckpoints.layer, CommandHandler.layer.pipe(Layer.provideMerge(memoryStore))).pipe(
  Layer.provideMerge(natsTestLayer)
)

/** A client with a profile and a shadow deployed for it, as the connect and shadow sagas leave them. */
const clientWithShadow = (clientId: string, instanceId: string) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler
    yield* handler.handle(command("CreateProfile", { clientId, tier: "basic" }))
    yield* handler.handle(command("DeployShadow", {
      instanceId, clientId, tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 125, memoryMiB: 128 }
    }))
    return instanceId as InstanceId
  })

const report = (instanceId: string, path: string) =>
  JSON.stringify({ instanceId, at: "2026-12-05T12:00:00.000Z", files: [{ path, kind: "library", bytes: 1024 }] })

const send = (tenant: string, instanceId: string, body: string) =>
  NatsConnection.use((nc) => Effect.promise(() => publishStored(nc, subjects.signal(tenant, instanceId, "dp"), body)))

const inferred = (clientId: string) =>
  EventStore.use((store) => store.readStream(`profile-acme.${clientId}`)).pipe(
    Effect.map((events) => events.filter((event) => event.type === "DependenciesInferred").map((event) => (event.data as { files: ReadonlyArray<{ path: string }> }).files.map((file) => file.path)))
  )

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("dependency recorder on UMBRA_SIGNALS", (it) => {
  it.effect("records an instance's report for its own client, and drops reports that speak for another instance, do not decode or name no instance Umbra runs", () =>
    Effect.gen(function* () {
      const mine = yield* clientWithShadow("c1", "shd-mine")
      const theirs = yield* clientWithShadow("c2", "shd-theirs")
      yield* runDependencyRecorder()
      yield* send("acme", mine, report(mine, "/lib/first.so"))
      yield* eventually(inferred("c1").pipe(Effect.map((all) => all.length === 1)), 20_000, "c1's first report recorded")

      // From c1's instance: a report naming c2's instance, one that does not decode, and one for an instance of no client.
      yield* send("acme", mine, report(theirs, "/lib/forged.so"))
      yield* send("acme", mine, "{not json")
      yield* send("acme", mine, JSON.stringify({ instanceId: mine, at: "2026-12-05T12:00:00.000Z", files: [{ path: "relative/path", kind: "library", bytes: 1 }] }))
      yield* send("acme", "shd-nobody", report("shd-nobody", "/lib/nobody.so"))
      // Then c1's own again: once it is recorded, everything before it has been taken in.
      yield* send("acme", mine, report(mine, "/lib/second.so"))
      yield* eventually(inferred("c1").pipe(Effect.map((all) => all.length === 2)), 10_000, "c1's second report recorded")

      assert.deepStrictEqual(yield* inferred("c1"), [["/lib/first.so"], ["/lib/second.so"]])
      assert.deepStrictEqual(yield* inferred("c2"), [], "nothing for the client a forged report named")
      assert.deepStrictEqual(yield* EventStore.use((store) => store.readStream("profile-acme.nobody")), [])
    }).pipe(Effect.scoped))

  it.effect("records a report sent while the recorder was down once it runs again, from its checkpoint, and none twice", () =>
    Effect.gen(function* () {
      const instance = yield* clientWithShadow("c3", "shd-three")
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* runDependencyRecorder()
          yield* send("acme", instance, report(instance, "/lib/before.so"))
          yield* eventually(inferred("c3").pipe(Effect.map((all) => all.length === 1)), 20_000, "the report before the stop recorded")
        })
      )
      yield* send("acme", instance, report(instance, "/lib/while-down.so"))
      yield* runDependencyRecorder()
      yield* eventually(inferred("c3").pipe(Effect.map((all) => all.length === 2)), 20_000, "the report sent while down recorded")
      assert.deepStrictEqual(yield* inferred("c3"), [["/lib/before.so"], ["/lib/while-down.so"]])
    }).pipe(Effect.scoped))
})
