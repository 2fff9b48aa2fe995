import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import fc from "fast-check"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteCheckpoints from "../../infra/readModels/sqliteCheckpoints.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import * as telemetryThread from "../../infra/readModels/telemetryThread.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeArchiver } from "../../src/telemetry/archiver.ts"
import { decodeBatch } from "../../src/telemetry/signalDecoding.ts"
import { makeTelemetryIngest } from "../../src/telemetry/telemetryIngest.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { recordInstance } from "../support/recordedInstances.ts"
import { checkProperty, excerpt, sampleOnce } from "./hostileInput.ts"
import { type SignalCase, signalCase } from "./signalCases.ts"
import { publishSignals } from "../support/publishStored.ts"

const instanceIds = ["shd-1", "shd-2", "shd-3"]
const pureBatch = 20
const pureRuns = 200
const published = 600
const encoder = new TextEncoder()

const delivered = (cases: ReadonlyArray<SignalCase>) => cases.map((one, index) => ({ seq: index + 1, subject: one.subject, data: encoder.encode(one.body) }))
const describeCase = (one: SignalCase) => `${one.valid ? "valid" : "invalid"} ${one.subject} ${excerpt(one.body, 200)}`

describe("signals: decoding at scale", () => {
  it(`${pureBatch * pureRuns} generated signals: each valid one is taken, every other one dropped and counted`, async () => {
    await checkProperty(
      fc.property(fc.array(signalCase(instanceIds), { minLength: pureBatch, maxLength: pureBatch }), (cases) => {
        const { decoded, dropped } = Effect.runSync(decodeBatch(delivered(cases), "property").pipe(Effect.provideService(References.MinimumLogLevel, "Error")))
        const taken = new Set(decoded.map((signal) => signal.seq))
        for (const [index, one] of cases.entries()) assert.strictEqual(taken.has(index + 1), one.valid, describeCase(one))
        assert.strictEqual(dropped, cases.filter((one) => !one.valid).length)
      }),
      pureRuns
    )
  })
})

const readModels = Layer.unwrap(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-signals-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => Layer.mergeAll(telemetryThread.layer.pipe(Layer.provideMerge(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer)))), sqliteCheckpoints.layer).pipe(Layer.provide(ReadModelDatabase.layer(join(dir, "readmodels.db"))))))
)
const testLayer = Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)), readModels).pipe(
  Layer.provideMerge(natsTestLayer)
)

/** What the telemetry ingest follows: `umbra.sig.<tenant>.<instance>.tm`, exactly five tokens. */
const isTelemetrySubject = (subject: string) => subject.split(".").length === 5 && subject.endsWith(".tm")

layer(testLayer, { excludeTestServices: true, timeout: "90 seconds" })("signals: hostile input through UMBRA_SIGNALS", (it) => {
  it.effect(`${published} generated signals on the real subjects: the ingest and the archiver take the valid ones, drop and count the rest, and keep running`, () =>
    Effect.gen(function* () {
      for (const instanceId of instanceIds) yield* recordInstance("acme", instanceId, `client-of-${instanceId}`)
      const ingest = yield* makeTelemetryIngest
      yield* Effect.forkScoped(ingest.run)
      const archiver = yield* makeArchiver
      yield* Effect.forkScoped(archiver.run)
      const nc = yield* NatsConnection
      const store = yield* EventStore

      // Generated once and published once: replaying a shrunk input would publish it again.
      const { value: cases, seed } = sampleOnce(fc.array(signalCase(instanceIds), { minLength: published, maxLength: published }))
      yield* Effect.promise(() => publishSignals(nc, cases))

      const telemetry = cases.filter((one) => isTelemetrySubject(one.subject))
      const validTelemetry = cases.filter((one) => one.valid && one.kind === "tm").length
      const valid = cases.filter((one) => one.valid).length
      yield* eventually(ingest.status.pipe(Effect.map((s) => s.applied + s.dropped === telemetry.length)), 30_000, `every telemetry signal applied or dropped (FC_SEED=${seed})`)
      assert.deepStrictEqual(yield* ingest.status, { applied: validTelemetry, dropped: telemetry.length - validTelemetry }, `FC_SEED=${seed}`)
      yield* eventually(archiver.archived.pipe(Effect.map((n) => n === valid)), 30_000, `every valid signal archived (FC_SEED=${seed})`)

      const archived = (yield* store.readAll()).filter((event) => event.type === "HeartbeatRecorded" || event.type === "TelemetryRecorded")
      assert.strictEqual(archived.length, valid, `the store holds the valid signals and nothing else (FC_SEED=${seed})`)
      yield* Effect.logWarning("signals property", { published: cases.length, valid, telemetry: telemetry.length, validTelemetry })
    }))
})
