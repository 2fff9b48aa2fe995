import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { subjects } from "../../domain/subjects.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { makeTelemetryIngest } from "../../src/telemetry/telemetryIngest.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { recordInstance } from "../support/recordedInstances.ts"
import { publishStored } from "../support/publishStored.ts"

const readModelLayer = Layer.unwrap(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-ingest-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer), Layer.provide(ReadModelDatabase.layer(join(dir, "readmodels.db"))))))
)

const testLayer = Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)), readModelLayer).pipe(
  Layer.provideMerge(natsTestLayer)
)

const day = 24 * 60 * 60_000

const publishSample = (instanceId: string, fields: Record<string, unknown>) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const body = JSON.stringify({ instanceId, at: new Date().toISOString(), cpu: 0.5, memBytes: 1024, ...fields })
    yield* Effect.promise(() => publishStored(nc, subjects.signal("acme", instanceId, "tm"), body))
  })

layer(testLayer, { excludeTestServices: true, timeout: "60 seconds" })("telemetry ingest", (it) => {
  it.effect("counts a sample for the client recorded for its instance, and drops samples of unknown instances or far-off times", () =>
    Effect.gen(function* () {
      yield* recordInstance("acme", "shd-1", "c1")
      yield* recordInstance("acme", "shd-2", "c2")
      const ingest = yield* makeTelemetryIngest
      yield* Effect.forkScoped(ingest.run)

      // shd-1 claims c2's id: its demand still counts for c1, the client Umbra deployed it for.
      yield* publishSample("shd-1", { clientId: "c2", cpu: 3 })
      yield* publishSample("shd-2", { clientId: "c2", cpu: 1 })
      yield* publishSample("shd-unknown", { clientId: "c1", cpu: 7 })
      yield* publishSample("shd-1", { at: new Date(Date.now() + day).toISOString(), cpu: 11 })
      yield* publishSample("shd-1", { at: new Date(Date.now() - day).toISOString(), cpu: 13 })

      yield* eventually(ingest.status.pipe(Effect.map((s) => s.applied + s.dropped === 5)), 20_000, "every sample applied or dropped")
      assert.deepStrictEqual(yield* ingest.status, { applied: 2, dropped: 3 })

      const telemetry = yield* TelemetryReadModel
      const cpuOf = (key: string) =>
        telemetry.series({ scope: "client", key: tenantKey("acme", key), metric: "cpu", size: "5m" }).pipe(
          Effect.map((buckets) => buckets.reduce((sum, bucket) => sum + bucket.mean * bucket.count, 0))
        )
      assert.strictEqual(yield* cpuOf("c1"), 3)
      assert.strictEqual(yield* cpuOf("c2"), 1)
      assert.deepStrictEqual(
        [...(yield* telemetry.keys("instance", "5m"))].sort(),
        [tenantKey("acme", "shd-1"), tenantKey("acme", "shd-2")]
      )
    }))
})
