import { Effect, Result, Schema } from "effect"
import { compiledDecoder } from "./compiledDecoder.ts"
import { ClientConnected, ClientDisconnected } from "./client/client.ts"
import type { StoredEvent } from "./envelope.ts"
import { ValidationFailed } from "./errors.ts"
import {
  HeartbeatLost,
  InstanceClaimed,
  InstanceReady,
  InstanceRecreated,
  InstanceStartFailed,
  InstanceRecycled,
  InstanceResized,
  InstanceStarted,
  InstanceTerminated,
  ProductionRequested,
  ShadowRequested
} from "./instance/instance.ts"
import {
  DependenciesInferred,
  NetworkChanged,
  ProfileCreated,
  ProfileRefined,
  TemplateChanged
} from "./profile/profile.ts"
import {
  LaunchCompleted,
  LaunchRequested,
  LaunchRolledBack,
  ProductionProvisioned,
  ProductionRetired,
  ProvisioningStarted,
  ShadowReleased,
  StateTransferCompleted,
  StateTransferStarted,
  TrafficShifted
} from "./launch/launch.ts"
import { SagaStepRecorded } from "./sagaStep.ts"
import { ForecastUpdated } from "./scaling/forecast.ts"
import { HeartbeatRecorded, TelemetryRecorded } from "./signals.ts"
import { chainGaps, upcast } from "./upcasters.ts"

/**
 * Every event type with its current schema version; a stored event decodes by its type. A version goes up
 * whenever a type's schema changes, with an upcaster from the version before (`upcasters.ts`).
 */
const eventTypes = [
  [ClientConnected, 1],
  [ClientDisconnected, 1],
  [ProfileCreated, 1],
  [ProfileRefined, 2],
  [TemplateChanged, 1],
  [NetworkChanged, 1],
  [DependenciesInferred, 1],
  [SagaStepRecorded, 2],
  [ForecastUpdated, 1],
  [HeartbeatRecorded, 3],
  [TelemetryRecorded, 1],
  [ShadowRequested, 1],
  [ProductionRequested, 1],
  [InstanceStarted, 1],
  [InstanceReady, 1],
  [InstanceResized, 2],
  [HeartbeatLost, 1],
  [InstanceRecreated, 1],
  [InstanceStartFailed, 1],
  [InstanceRecycled, 1],
  [InstanceClaimed, 1],
  [InstanceTerminated, 1],
  [LaunchRequested, 1],
  [ProvisioningStarted, 1],
  [ProductionProvisioned, 1],
  [StateTransferStarted, 1],
  [StateTransferCompleted, 1],
  [TrafficShifted, 1],
  [LaunchCompleted, 1],
  [LaunchRolledBack, 1],
  [ShadowReleased, 1],
  [ProductionRetired, 1]
] as const

export const DomainEvent = Schema.Union(eventTypes.map(([schema]) => schema))
export type DomainEvent = typeof DomainEvent.Type

const versions = new Map<string, number>(eventTypes.map(([schema, version]) => [schema.fields._tag.schema.literal, version]))

// An old event with no way up to today's schema would fail only when read: refuse to start instead.
const gaps = chainGaps(versions)
if (gaps.length > 0) throw new Error(`the event catalog and its upcasters disagree: ${gaps.join("; ")}`)

/** The version a writer stamps on an event of `type` (every type is in the catalog). */
export const schemaVersionOf = (type: DomainEvent["_tag"]): number => versions.get(type)!

/** An event as the store keeps it: its type apart from its data. */
export interface EncodedEvent {
  readonly type: string
  readonly schemaVersion: number
  readonly data: Record<string, unknown>
}

const encodeDomainEvent = Schema.encodeSync(DomainEvent)
// Compiled where an event's schema is simple enough (heartbeats, most of a log): a read model folds millions.
const decoderOf = new Map<string, (input: unknown) => Result.Result<DomainEvent, Schema.SchemaError>>(
  eventTypes.map(([schema]) => [schema.fields._tag.schema.literal, compiledDecoder(schema as Schema.Codec<DomainEvent, unknown>)])
)

export const encodeEvent = (event: DomainEvent): EncodedEvent => {
  const { _tag, ...data } = encodeDomainEvent(event)
  return { type: _tag, schemaVersion: versions.get(_tag)!, data }
}

type Stored = Pick<StoredEvent, "id" | "type" | "schemaVersion" | "data">

/** The data of an event decoded with its own type's schema (not the union's: the type is known). */
const decodeData = (stored: Stored, data: unknown): Result.Result<DomainEvent, ValidationFailed> =>
  Result.mapError(
    decoderOf.get(stored.type)!({ ...(data as object), _tag: stored.type }),
    (error) => new ValidationFailed({ message: `event ${stored.id}: ${error.message}`, details: { id: stored.id, type: stored.type } })
  )

/**
 * An event of today's version decoded at once, without an Effect: a read model folds millions of them.
 * Undefined for any other version, which `decodeEvent` reads (up through its upcasters, or refuses).
 */
export const decodeCurrentEvent = (stored: Stored): Result.Result<DomainEvent, ValidationFailed> | undefined =>
  versions.get(stored.type) === stored.schemaVersion ? decodeData(stored, stored.data) : undefined

/**
 * Decodes a stored event into its domain type, reading an older version up through its upcasters; an unknown
 * type or a newer version (written by a newer Umbra) is a ValidationFailed, as is data that fails its schema.
 */
export const decodeEvent = (stored: Stored): Effect.Effect<DomainEvent, ValidationFailed> => {
  const current = decodeCurrentEvent(stored)
  if (current !== undefined) return Effect.fromResult(current)
  const known = versions.get(stored.type)
  if (known === undefined || !Number.isInteger(stored.schemaVersion) || stored.schemaVersion < 1 || stored.schemaVersion > known) {
    return Effect.fail(
      new ValidationFailed({
        message: `event ${stored.id} has type ${stored.type} v${stored.schemaVersion}, which this version of Umbra cannot read`,
        details: { id: stored.id, type: stored.type, schemaVersion: stored.schemaVersion }
      })
    )
  }
  return Effect.flatMap(upcast(stored, known), (data) => Effect.fromResult(decodeData(stored, data)))
}
