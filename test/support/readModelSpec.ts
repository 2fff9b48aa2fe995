import { randomUUID } from "node:crypto"
import { Effect, Layer } from "effect"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import type { Projection } from "../../projections/projection.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { ProjectionProgress } from "../../src/projections/projectionProgress.ts"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.ts"
import { command } from "./commands.ts"

/** The command handler on an in-memory store, and projection rows in an in-memory database. */
export const readModelLayers = CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(memoryStore, projectionsInMemory)))

/** Handles a command of `tenant` (internal commands included), at `at` when given. */
export const handleAs = (tenant: string, type: string, data: unknown, at?: string) =>
  CommandHandler.use((handler) => handler.handle({ ...command(type, data), tenant, ...(at === undefined ? {} : { at }) }))

/** Deploys a shadow of `clientId` with the default template. */
export const deployAs = (tenant: string, instanceId: string, clientId: string, at?: string) =>
  handleAs(
    tenant,
    "DeployShadow",
    { instanceId, clientId, tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 125, memoryMiB: 128 } },
    at
  )

/** Archives a heartbeat of an instance, as the archiver stores it. */
export const recordHeartbeat = (tenant: string, instanceId: string, seq: number, at: string, rttMs?: number) =>
  EventStore.use((store) =>
    store.append(`heartbeat-${tenant}.${instanceId}`, "any", [
      {
        id: randomUUID(),
        type: "HeartbeatRecorded",
        at,
        tenant,
        correlationId: randomUUID(),
        causationId: randomUUID(),
        // Without a round trip, as version 1 wrote it (before agents measured one).
        ...(rttMs === undefined
          ? { schemaVersion: 1, data: { instanceId, seq, at, ready: true, recordedAt: at } }
          : { schemaVersion: 2, data: { instanceId, seq, at, ready: true, rttMs, recordedAt: at } })
      }
    ])
  )

/** Folds what the projection has not seen yet. */
export const catchUp = (projection: Projection) => makeProjectionRunner(projection).pipe(Effect.flatMap((runner) => runner.catchUp()))

/** Runs `effect` as if `projection` were being rebuilt, halfway. */
export const whileRebuilding = (projection: Projection) =>
  Effect.provideService(ProjectionProgress, new Map([[projection.name, { folded: 1, total: 2, startedAtMs: 0 }]]))

/** What an answer says of a rebuild (its type leaves these out: most answers have none). */
export const rebuildOf = (answer: object) => {
  const { rebuilding, progress } = answer as { readonly rebuilding?: unknown; readonly progress?: unknown }
  return { rebuilding, progress }
}
