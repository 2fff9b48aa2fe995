import { assert, layer } from "@effect/vitest"
import { jetstream } from "@nats-io/jetstream"
import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import { subjects } from "../../domain/subjects.ts"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { jetStreamEventLog } from "../../infra/nats/jetStreamEventLog.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { allProjections } from "../../projections/readModels.ts"
import { EventBus } from "../../src/eventBus.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { diffReadModels } from "../../src/replay/readModelDiff.ts"
import { replayReadModels } from "../../src/replay/replayReadModels.ts"
import { NatsTestServer, natsTestLayer } from "../harness/natsServer.ts"
import { quietLogs } from "../support/controlPlane.ts"
import { tempDir, umbra } from "../support/umbraCli.ts"
import { dataDirLayers, foldEveryProjection, readModelsLayer, scenario } from "./scenario.ts"

const busLayer = natsEventBus.layer().pipe(Layer.provideMerge(jetstreamSetup.layer()), Layer.provideMerge(natsTestLayer), Layer.provide(quietLogs))


const rowsIn = (file: string) => Layer.build(readModelsLayer(file)).pipe(Effect.map((context) => Context.get(context, ProjectionStore)))

layer(busLayer, { excludeTestServices: true, timeout: "90 seconds" })("replay from JetStream", (it) => {
  it.effect("folds UMBRA_EVENTS as the relay published it into read models equal to the live ones, a republished event once", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("umbra-jetstream-replay-")
      yield* Effect.scoped(Effect.andThen(scenario, foldEveryProjection).pipe(Effect.provide(dataDirLayers(dir))))
      const log = yield* Effect.scoped(Effect.flatMap(Layer.build(layerFile(join(dir, "events.db"))), (context) => Context.get(context, EventStore).readAll()))
      yield* (yield* EventBus).publishEvents(log)
      // Past JetStream's dedupe window the relay may publish an event again: the replay folds it once.
      const again = log[log.length - 1]!
      const nc = yield* NatsConnection
      yield* Effect.promise(() => jetstream(nc).publish(subjects.event(again), JSON.stringify(again)))

      const scratch = join(yield* tempDir("umbra-jetstream-replay-"), "readmodels.db")
      const { total, pages } = yield* jetStreamEventLog()
      assert.strictEqual(total, log.length + 1)
      const outcome = yield* replayReadModels(pages, { projections: allProjections }).pipe(Effect.provideService(ProjectionStore, yield* rowsIn(scratch)))
      assert.deepStrictEqual([outcome.folded, outcome.skipped, outcome.through], [log.length, 1, again.position])
      assert.deepStrictEqual(yield* diffReadModels(yield* rowsIn(join(dir, "readmodels.db")), yield* rowsIn(scratch), allProjections), [])

      // The same through the CLI, on a node that has no event store: NATS_URL says where JetStream is.
      const { url } = yield* NatsTestServer
      const cli = yield* umbra(dir, ["replay", "--all", "--source", "jetstream", "--into", join(dir, "from-jetstream"), "--diff", "--json"], { NATS_URL: url })
      assert.strictEqual(cli.code, 0, cli.stderr)
      assert.deepStrictEqual(JSON.parse(cli.stdout).differences, [])
      assert.strictEqual(JSON.parse(cli.stdout).events, log.length)
    }).pipe(Effect.provide(quietLogs)))
})
