import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
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
import * as telemetryThread from "../../infra/readModels/telemetryThread.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { makeTelemetryIngest } from "../../src/telemetry/telemetryIngest.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { recordInstance } from "../support/recordedInstances.ts"
import { publishStored } from "../support/publishStored.ts"

const telemetryOn = (file: string) =>
  telemetryThread.layer.pipe(Layer.provideMerge(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer))), Layer.provideMerge(ReadModelDatabase.layer(file)))

// In a file, batches are applied on a thread of their own; in memory, on the ingest's fiber.
const inFile = Layer.unwrap(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-ingest-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => telemetryOn(join(dir, "readmodels.db"))))
)

const testLayer = (readModels: typeof inFile) =>
  Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)), readModels).pipe(Layer.provideMerge(natsTestLayer))

const day = 24 * 60 * 60_000

const publishSample = (instanceId: string, fields: Record<string, unknown>) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const body = JSON.stringify({ instanceId, at: new Date().toISOString(), cpu: 0.5, memBytes: 1024, ...fields })
    yield* Effect.promise(() => publishStored(nc, subjects.signal("acme", instanceId, "tm"), body))
  })

for (const [where, readModels] of [["on its thread", inFile], ["in memory", telemetryOn(":memory:")]] as const) layer(testLayer(readModels), { excludeTestServices: true, timeout: "60 seconds" })(`telemetry ingest, ${where}`, (it) => {
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

layer(testLayer(inFile), { excludeTestServices: true, timeout: "60 seconds" })("telemetry ingest, its thread failing", (it) => {
  it.effect("a batch its thread cannot commit is read again from the checkpoint, and none after it applies first: every sample counted once", () =>
    Effect.gen(function* () {
      yield* recordInstance("acme", "shd-1", "c1")
      const ingest = yield* makeTelemetryIngest
      yield* Effect.forkScoped(ingest.run)
      yield* publishSample("shd-1", { cpu: 1 })
      yield* eventually(ingest.status.pipe(Effect.map((s) => s.applied === 1)), 20_000, "the first sample applied")

      // Another connection holds the write lock past the thread's busy timeout (5 s): the batch with the
      // second sample fails. The third, a batch of its own, must not commit the checkpoint past the second.
      const lock = new DatabaseSync((yield* ReadModelDatabase).location()!)
      lock.exec("BEGIN IMMEDIATE")
      yield* publishSample("shd-1", { cpu: 2 })
      yield* Effect.sleep("1 second")
      yield* publishSample("shd-1", { cpu: 4 })
      yield* Effect.sleep("5500 millis")
      assert.strictEqual((yield* ingest.status).applied, 1)
      lock.exec("ROLLBACK")
      lock.close()

      yield* eventually(ingest.status.pipe(Effect.map((s) => s.applied === 3)), 20_000, "the samples applied once the lock is gone")
      const buckets = yield* (yield* TelemetryReadModel).series({ scope: "client", key: tenantKey("acme", "c1"), metric: "cpu", size: "5m" })
      assert.deepStrictEqual(
        [buckets.reduce((n, bucket) => n + bucket.count, 0), buckets.reduce((sum, bucket) => sum + bucket.mean * bucket.count, 0)],
        [3, 7]
      )
      assert.deepStrictEqual(yield* ingest.status, { applied: 3, dropped: 0 })
    }))
})
