import { Duration, Effect, Layer, References, Schedule } from "effect"
import { join } from "node:path"
import { connectSaga } from "../../domain/sagas/connectSaga.ts"
import { serveCommands } from "../../src/commands/commandGateway.ts"
import { runReadModels } from "../../src/projections/readModels.ts"
import { serveQueries } from "../../src/queries/queryGateway.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { type OrchestratorOptions, startOrchestrator } from "../../src/orchestrator.ts"
import { makeRelay } from "../../src/relay.ts"
import { readControlPlaneAtScrape, readWatchdogAtScrape } from "../../src/scrapeSources.ts"
import { runSaga } from "../../src/sagas/sagaRunner.ts"
import { makeScalingEngine } from "../../src/scaling/scalingEngine.ts"
import { makeArchiver } from "../../src/telemetry/archiver.ts"
import { SignalClockSkew } from "../../src/telemetry/signalDecoding.ts"
import { makeTelemetryIngest } from "../../src/telemetry/telemetryIngest.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import type { UmbraConfig } from "../config.ts"
import * as natsConnection from "../nats/connection.ts"
import { answerHeartbeats } from "../nats/heartbeatEcho.ts"
import * as natsEventBus from "../nats/natsEventBus.ts"
import * as jetstreamSetup from "../nats/jetstreamSetup.ts"
import * as prometheusMetrics from "../metrics/prometheusMetrics.ts"
import { ReadModelDatabase } from "../readModels/readModelDatabase.ts"
import * as sqliteCheckpoints from "../readModels/sqliteCheckpoints.ts"
import * as sqliteProjections from "../readModels/sqliteProjections.ts"
import * as sqliteScalingStates from "../readModels/sqliteScalingStates.ts"
import * as telemetryThread from "../readModels/telemetryThread.ts"
import * as trafficRouter from "../router/trafficRouter.ts"
import * as archiveTransfer from "../stateTransfer/archiveTransfer.ts"
import type { ArchiveLimits } from "../stateTransfer/safeArchive.ts"
import { removeLeftoverSpools } from "../stateTransfer/spool.ts"
import { eventStoreLayer } from "./eventStoreLayer.ts"
import { serveHttpEndpoint } from "./httpEndpoint.ts"
import { instanceRuntimeLayer } from "./instanceRuntimeLayer.ts"
import { OrchestratorConfig, orchestratorOptions, SignalClockSkewConfig, TransferLimitsConfig } from "./orchestratorConfig.ts"
import type { AgentCredentials } from "../natsAuth/natsAccess.ts"

/** Every service the control plane runs on, composed once, for a NATS server at `natsUrl` (as `credentials` say). */
export const controlPlaneLayer = (
  config: UmbraConfig,
  natsUrl: string,
  credentials: Omit<natsConnection.NatsConnectionOptions, "url" | "name"> = {}
) => {
  const nats = natsConnection.layer({ url: natsUrl, name: "umbra-control-plane", ...credentials })
  const bus = Layer.mergeAll(
    natsEventBus.layer({ publishWindow: config.publishWindow, ackWaitMs: config.ackWaitMs }),
    jetstreamSetup.layer({ eventsDuplicateWindow: Duration.seconds(config.duplicateWindowSeconds) })
  ).pipe(Layer.provideMerge(nats))
  const store = eventStoreLayer(config, { serving: true })
  // One connection to the read-model database for all read models and checkpoints.
  const telemetry = telemetryThread.layer.pipe(Layer.provideMerge(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer))))
  const readModels = Layer.mergeAll(sqliteCheckpoints.layer, sqliteScalingStates.layer, telemetry).pipe(
    Layer.provide(ReadModelDatabase.layer(join(config.dataDir, "readmodels.db")))
  )
  const signalClockSkew = Layer.effect(SignalClockSkew, SignalClockSkewConfig)
  // No tracer exports spans (logs and /metrics tell what happens): none are made, which a command would pay for.
  const noSpans = Layer.succeed(References.TracerEnabled, false)
  return Layer.mergeAll(CommandHandler.layer.pipe(Layer.provideMerge(store)), bus, readModels, signalClockSkew, prometheusMetrics.layer, noSpans)
}

/**
 * Starts the command gateway, the relay, the sagas, the telemetry path (ingest into the read model,
 * archiver, predictive scaling engine) and the HTTP endpoint in the current scope; returns once commands
 * are served, with where the HTTP endpoint listens (undefined when it cannot).
 */
export const startControlPlane = (config: UmbraConfig) =>
  Effect.gen(function* () {
    yield* serveCommands({ maxBodyBytes: config.commandMaxBytes })
    yield* runReadModels
    yield* serveQueries({ maxBodyBytes: config.commandMaxBytes })
    const relay = yield* makeRelay
    yield* Effect.forkScoped(relay.run)
    yield* runSaga(connectSaga)
    const ingest = yield* makeTelemetryIngest
    yield* Effect.forkScoped(ingest.run)
    const archiver = yield* makeArchiver
    yield* Effect.forkScoped(archiver.run)
    yield* readControlPlaneAtScrape(relay, ingest)
    const scaling = yield* makeScalingEngine({ interval: Duration.millis(config.scalingIntervalMs) })
    yield* Effect.forkScoped(scaling.run)
    yield* Effect.forkScoped(
      relay.lag().pipe(
        Effect.flatMap(({ pending, capped }) =>
          pending > 0 ? Effect.logInfo("relay behind", { pending: capped ? `${pending}+` : pending }) : Effect.void
        ),
        Effect.ignore,
        Effect.repeat(Schedule.spaced("10 seconds"))
      )
    )
    const http = yield* serveHttpEndpoint(config)
    yield* Effect.logInfo("Umbra control plane serving", {
      eventStore: config.eventStore,
      dataDir: config.dataDir,
      commands: "umbra.cmd.<tenant>.<CommandType>",
      queries: "umbra.query.<tenant>.<QueryName>"
    })
    return { http }
  })

/**
 * What the launches drive beside the runtime: the traffic router (clients' endpoints on loopback) and the
 * state transfer (archives spooled under the data directory).
 */
export const launchServicesLayer = (dataDir: string, limits?: ArchiveLimits) => {
  const spoolDir = join(dataDir, "spool")
  // What a killed control plane spooled goes before the first transfer: no transfer of this data directory runs yet.
  const transfer = archiveTransfer.layer({ spoolDir, ...(limits === undefined ? {} : { limits }) }).pipe(
    Layer.provide(Layer.effectDiscard(removeLeftoverSpools(spoolDir)))
  )
  return Layer.merge(trafficRouter.layer(), transfer)
}

/**
 * Starts the orchestrator (shadow saga, instance runner, watchdog, reconciler, launches) in the current
 * scope on the runtime `UMBRA_RUNTIME` chooses, and returns that runtime (for a caller that must reach its
 * instances, as the demo does). Without a runtime the control plane still serves, and says so.
 */
export const startOrchestration = (config: UmbraConfig, agent?: AgentCredentials) =>
  Effect.gen(function* () {
    const nc = yield* natsConnection.NatsConnection
    // Shadows share the host's network: the agent reaches the same server this process is connected to.
    const natsUrl = `nats://${nc.getServer()}`
    const orchestration = yield* OrchestratorConfig
    if (!orchestration.enabled) return yield* Effect.logInfo("orchestrator off (UMBRA_ORCHESTRATOR=off): no shadows are started")
    const options = orchestratorOptions(orchestration, natsUrl)
    const runtime = yield* Layer.build(
      launchServicesLayer(config.dataDir, yield* TransferLimitsConfig).pipe(Layer.provideMerge(instanceRuntimeLayer(config.runtime, natsUrl, config.dataDir, agent)))
    ).pipe(Effect.result)
    if (runtime._tag === "Failure") {
      return yield* Effect.logError("no instance runtime; shadows will not be started", { message: runtime.failure.message })
    }
    const kind = yield* InstanceRuntime.use((instances) => Effect.succeed(instances.kind)).pipe(Effect.provideContext(runtime.success))
    if (kind === "docker") {
      // The default template's images, built offline; kept as they are when their sources have not changed.
      const { buildImages } = yield* Effect.promise(() => import("../images/imageBuild.ts"))
      yield* buildImages().pipe(
        Effect.catch((error) => Effect.logError("the default images could not be built; shadows of the default template will fail", { message: error.message }))
      )
    }
    yield* orchestrate(options).pipe(Effect.provideContext(runtime.success))
    return yield* InstanceRuntime.pipe(Effect.provideContext(runtime.success))
  })

/**
 * The orchestrator with what serves beside it: the echo agents time their heartbeats by, and the watchdog
 * read at each scrape. In the current scope.
 */
export const orchestrate = (options: OrchestratorOptions) =>
  Effect.gen(function* () {
    const started = yield* startOrchestrator(options)
    yield* answerHeartbeats()
    yield* readWatchdogAtScrape(started.watchdog)
    return started
  })

/** The control plane and its orchestrator until interrupted. */
export const runControlPlane = (config: UmbraConfig, agent?: AgentCredentials) =>
  startControlPlane(config).pipe(
    Effect.andThen(startOrchestration(config, agent)),
    Effect.andThen(Effect.never),
    Effect.onInterrupt(() => Effect.logInfo("Umbra control plane stopping"))
  )
