import { Effect, Schema } from "effect"
import { ClientCommand, clientDecider, ClientEvent, ClientConnected, ClientDisconnected } from "./client/client.ts"
import { type CommandContext, type Decider, fold } from "./decider.ts"
import type { StoredEvent } from "./envelope.ts"
import { type DomainError, ValidationFailed } from "./errors.ts"
import {
  HeartbeatLost,
  InstanceClaimed,
  InstanceCommand,
  instanceDecider,
  InstanceEvent,
  InstanceReady,
  InstanceRecreated,
  InstanceRecycled,
  InstanceResized,
  InstanceStarted,
  InstanceTerminated,
  ShadowRequested
} from "./instance/instance.ts"
import {
  NetworkChanged,
  ProfileCommand,
  ProfileCreated,
  profileDecider,
  ProfileEvent,
  ProfileRefined,
  TemplateChanged
} from "./profile/profile.ts"
import {
  LaunchCommand,
  LaunchCompleted,
  launchDecider,
  LaunchEvent,
  LaunchRequested,
  LaunchRolledBack,
  ProductionProvisioned,
  ProvisioningStarted,
  ShadowReleased,
  StateTransferCompleted,
  StateTransferStarted,
  TrafficShifted
} from "./launch/launch.ts"
import { SagaStepRecorded } from "./sagas/sagaStep.ts"
import { ForecastCommand, forecastDecider, ForecastEvent, ForecastUpdated } from "./scaling/forecast.ts"
import { HeartbeatRecorded, TelemetryRecorded } from "./signals.ts"
import type { Category } from "./streams.ts"

/** Every event type with its current schema version; a stored event decodes by its type. */
const eventTypes = [
  [ClientConnected, 1],
  [ClientDisconnected, 1],
  [ProfileCreated, 1],
  [ProfileRefined, 1],
  [TemplateChanged, 1],
  [NetworkChanged, 1],
  [SagaStepRecorded, 1],
  [ForecastUpdated, 1],
  [HeartbeatRecorded, 1],
  [TelemetryRecorded, 1],
  [ShadowRequested, 1],
  [InstanceStarted, 1],
  [InstanceReady, 1],
  [InstanceResized, 1],
  [HeartbeatLost, 1],
  [InstanceRecreated, 1],
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
  [ShadowReleased, 1]
] as const

export const DomainEvent = Schema.Union(eventTypes.map(([schema]) => schema))
export type DomainEvent = typeof DomainEvent.Type

const versions = new Map<string, number>(eventTypes.map(([schema, version]) => [schema.fields._tag.schema.literal, version]))

export const schemaVersionOf = (type: string): number | undefined => versions.get(type)

/** An event as the store keeps it: its type apart from its data. */
export interface EncodedEvent {
  readonly type: string
  readonly schemaVersion: number
  readonly data: Record<string, unknown>
}

const encodeDomainEvent = Schema.encodeSync(DomainEvent)
const decodeDomainEvent = Schema.decodeUnknownEffect(DomainEvent)

export const encodeEvent = (event: DomainEvent): EncodedEvent => {
  const { _tag, ...data } = encodeDomainEvent(event)
  return { type: _tag, schemaVersion: versions.get(_tag)!, data }
}

/** Decodes a stored event into its domain type; an unknown type or newer version is a ValidationFailed. */
export const decodeEvent = (stored: Pick<StoredEvent, "id" | "type" | "schemaVersion" | "data">) => {
  const known = versions.get(stored.type)
  if (known === undefined || stored.schemaVersion > known) {
    return Effect.fail(
      new ValidationFailed({
        message: `event ${stored.id} has type ${stored.type} v${stored.schemaVersion}, which this version of Umbra cannot read`,
        details: { id: stored.id, type: stored.type, schemaVersion: stored.schemaVersion }
      })
    )
  }
  return decodeDomainEvent({ ...(stored.data as object), _tag: stored.type }).pipe(
    Effect.mapError((error) => new ValidationFailed({ message: error.message, details: { id: stored.id, type: stored.type } }))
  )
}

/** A command type bound to its aggregate: how to decode it, which stream it targets, and how to decide it. */
export interface CommandRoute {
  readonly category: Category
  /** `commandId` may stand in for a field the sender left out (a launch is named by its request when not named). */
  readonly decode: (type: string, data: unknown, commandId: string) => Effect.Effect<{ readonly _tag: string }, ValidationFailed>
  readonly aggregateId: (command: { readonly _tag: string }) => string
  readonly decide: (
    history: ReadonlyArray<DomainEvent>,
    command: { readonly _tag: string },
    context: CommandContext
  ) => Effect.Effect<ReadonlyArray<DomainEvent>, DomainError>
}

const route = <C extends { readonly _tag: string }, E extends DomainEvent, S>(
  category: Category,
  commands: Schema.Codec<C, unknown>,
  events: Schema.Codec<E, unknown>,
  decider: Decider<C, E, S>,
  idOf: (command: C) => string = (command) => (command as C & { readonly clientId: string }).clientId,
  defaults: (commandId: string) => Record<string, unknown> = () => ({})
): CommandRoute => {
  const decode = Schema.decodeUnknownEffect(commands)
  const isOwn = Schema.is(events)
  return {
    category,
    decode: (type, data, commandId) =>
      decode(typeof data === "object" && data !== null ? { ...defaults(commandId), ...data, _tag: type } : data).pipe(
        Effect.mapError((error) => new ValidationFailed({ message: error.message, details: { commandType: type } }))
      ),
    aggregateId: (command) => idOf(command as C),
    decide: (history, command, context) =>
      decider.decide(command as C, fold(decider, history.filter(isOwn)), context)
  }
}

const clientRoute = route("client", ClientCommand, ClientEvent, clientDecider)
const profileRoute = route("profile", ProfileCommand, ProfileEvent, profileDecider)
const forecastRoute = route("forecast", ForecastCommand, ForecastEvent, forecastDecider)
const instanceRoute = route("instance", InstanceCommand, InstanceEvent, instanceDecider, (command) => command.instanceId)
const launchRoute = route("launch", LaunchCommand, LaunchEvent, launchDecider, (command) => command.launchId, (commandId) => ({
  launchId: commandId,
  priority: 0
}))

/** The public commands, by the type named in `umbra.cmd.<tenant>.<CommandType>`. */
export const commandRoutes: Readonly<Record<string, CommandRoute>> = {
  ConnectClient: clientRoute,
  DisconnectClient: clientRoute,
  CreateProfile: profileRoute,
  RefineProfile: profileRoute,
  SetTemplate: profileRoute,
  SetNetwork: profileRoute,
  RecordForecast: forecastRoute,
  DeployShadow: instanceRoute,
  RecordInstanceStarted: instanceRoute,
  MarkInstanceReady: instanceRoute,
  ResizeInstance: instanceRoute,
  MarkHeartbeatLost: instanceRoute,
  RecreateInstance: instanceRoute,
  RecycleInstance: instanceRoute,
  ClaimPooledInstance: instanceRoute,
  TerminateInstance: instanceRoute,
  RequestProduction: launchRoute,
  StartProvisioning: launchRoute,
  RecordProductionProvisioned: launchRoute,
  StartStateTransfer: launchRoute,
  RecordStateTransfer: launchRoute,
  ShiftTraffic: launchRoute,
  CompleteLaunch: launchRoute,
  RollBackLaunch: launchRoute,
  RecordShadowReleased: launchRoute
}
