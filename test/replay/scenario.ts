import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { schemaVersionOf } from "../../domain/catalog.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import { allProjections } from "../../projections/readModels.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.ts"
import { command } from "../support/commands.ts"

const start = Date.parse("2026-11-30T12:00:00.000Z")
let step = 0
/** Every command a second after the one before, so that times in the read models differ. */
const handleAs = (tenant: string, type: string, data: unknown) =>
  CommandHandler.use((handler) => handler.handle({ ...command(type, data), tenant, at: new Date(start + step++ * 1_000).toISOString() }))

const resources = { cpuMillis: 125, memoryMiB: 128 }

const connect = (tenant: string, clientId: string) =>
  Effect.gen(function* () {
    yield* handleAs(tenant, "ConnectClient", { clientId, tier: "basic" })
    yield* handleAs(tenant, "CreateProfile", { clientId, tier: "basic" })
    const instanceId = `shd-${clientId}`
    yield* handleAs(tenant, "DeployShadow", { instanceId, clientId, tier: "basic", template: defaultTemplate, network: defaultNetwork, resources })
    yield* handleAs(tenant, "RecordInstanceStarted", { instanceId, runtimeId: `rt-${clientId}` })
    yield* handleAs(tenant, "MarkInstanceReady", { instanceId })
  })

/** A heartbeat of an instance as the archiver stores it (today's version; `rttMs` as an agent reports it). */
const heartbeat = (tenant: string, instanceId: string, seq: number) =>
  EventStore.use((store) => {
    const at = new Date(start + step++ * 1_000).toISOString()
    return store.append(`heartbeat-${tenant}.${instanceId}`, "any", [
      { id: randomUUID(), type: "HeartbeatRecorded", at, tenant, correlationId: randomUUID(), causationId: randomUUID(), schemaVersion: schemaVersionOf("HeartbeatRecorded")!, data: { instanceId, seq, at, ready: true, rttMs: 1 + (seq % 5), recordedAt: at } }
    ])
  })

const forecast = (tenant: string, clientId: string, predicted: number) =>
  handleAs(tenant, "RecordForecast", {
    clientId,
    metric: "cpu",
    model: "holt",
    horizons: [{ minutes: 5, predicted, upper: predicted * 1.5 }, { minutes: 60, predicted: predicted * 2, upper: predicted * 3 }],
    quality: { modelError: 0.1, lastValueError: 0.2, meanDemand: 1, shortfall: 0.05, slack: 0.3, scoredSteps: 12 },
    fallback: false,
    reason: "model"
  })

const launch = (tenant: string, clientId: string, launchId: string) =>
  Effect.gen(function* () {
    const next = (type: string, data: Record<string, unknown>) => handleAs(tenant, type, { launchId, ...data })
    yield* next("RequestProduction", { clientId, priority: 3 })
    yield* next("StartProvisioning", {
      shadowInstanceId: `shd-${clientId}`,
      productionInstanceId: productionInstanceId(tenant, launchId),
      tier: "basic",
      template: defaultTemplate,
      network: defaultNetwork,
      resources: { cpuMillis: 500, memoryMiB: 512 }
    })
    yield* next("RecordProductionProvisioned", { runtimeId: `rt-${launchId}`, cpuMillis: 500, memoryMiB: 512 })
    yield* next("StartStateTransfer", {})
    yield* next("RecordStateTransfer", { bytes: 2048, files: 3, checksum: "a".repeat(64), ms: 40, reset: [] })
    for (const weight of [5, 25, 50, 100]) yield* next("ShiftTraffic", { weight })
    yield* next("CompleteLaunch", { shadowDisposition: "terminated" })
    yield* next("RecordShadowReleased", { disposition: "terminated" })
  })

/**
 * Two tenants' day: clients connect and get shadows, profiles are refined, forecasts recorded, one client
 * launches production, a shadow loses its heartbeat and is recreated, a client disconnects.
 */
export const scenario = Effect.gen(function* () {
  step = 0
  yield* connect("acme", "c1")
  yield* connect("acme", "c2")
  yield* connect("beta", "c1")
  for (let seq = 1; seq <= 3; seq++) yield* heartbeat("acme", "shd-c1", seq)
  yield* handleAs("acme", "RefineProfile", { clientId: "c1", expected: { cpuMillis: 900 }, reason: "a bigger build" })
  yield* handleAs("beta", "ScaleProfile", { clientId: "c1", expected: { cpuMillis: 300 }, reason: "forecast: quiet" })
  yield* forecast("acme", "c1", 0.8)
  yield* forecast("acme", "c1", 1.1)
  yield* forecast("beta", "c1", 0.2)
  yield* handleAs("acme", "ResizeInstance", { instanceId: "shd-c1", resources: { cpuMillis: 250, memoryMiB: 256 }, reason: "observed use" })
  yield* launch("acme", "c1", "l1")
  yield* handleAs("beta", "MarkHeartbeatLost", { instanceId: "shd-c1", reason: "no heartbeat for 30 s" })
  yield* handleAs("beta", "RecreateInstance", { instanceId: "shd-c1", attempt: 1, runtimeId: "rt-c1-again" })
  yield* handleAs("acme", "DisconnectClient", { clientId: "c2", reason: "gone" })
  yield* handleAs("acme", "TerminateInstance", { instanceId: "shd-c2", reason: "client disconnected" })
})

/** The read models in `file`, with the database under them. */
export const readModelsLayer = (file: string) => sqliteProjections.layer.pipe(Layer.provide(ReadModelDatabase.layer(file)))

/** A data directory as `umbra serve` leaves it: the SQLite store and live read models, under `dir`. */
export const dataDirLayers = (dir: string) =>
  CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(layerFile(join(dir, "events.db")), readModelsLayer(join(dir, "readmodels.db")))))

/** Every projection caught up with the log, as the control plane keeps them. */
export const foldEveryProjection = Effect.forEach(allProjections, (projection) => makeProjectionRunner(projection).pipe(Effect.flatMap((runner) => runner.catchUp())), {
  discard: true
})
