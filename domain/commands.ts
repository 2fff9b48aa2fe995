import { Effect, Schema } from "effect"
import { clientAggregate, ClientCommand } from "./client/client.ts"
import type { DomainEvent } from "./catalog.ts"
import type { Access, Aggregate } from "./decider.ts"
import { ValidationFailed } from "./errors.ts"
import { instanceAggregate, InstanceCommand } from "./instance/instance.ts"
import { launchAggregate, LaunchCommand } from "./launch/launch.ts"
import { profileAggregate, ProfileCommand } from "./profile/profile.ts"
import { forecastAggregate, ForecastCommand } from "./scaling/forecast.ts"
import type { Category } from "./streams.ts"

/** Every command Umbra decides, made from the aggregates' own command schemas. */
export const DomainCommand = Schema.Union([ClientCommand, ProfileCommand, ForecastCommand, InstanceCommand, LaunchCommand])
export type DomainCommand = typeof DomainCommand.Type
export type CommandType = DomainCommand["_tag"]

/** An aggregate with its types forgotten, as the one command handler drives every aggregate. */
export type AnyAggregate = Aggregate<{ readonly _tag: string }, DomainEvent, unknown>
const aggregates = [clientAggregate, profileAggregate, forecastAggregate, instanceAggregate, launchAggregate] as unknown as ReadonlyArray<AnyAggregate>
const byType = new Map<string, AnyAggregate>(aggregates.flatMap((aggregate) => Object.keys(aggregate.access).map((type) => [type, aggregate] as const)))
const decoders = new Map(aggregates.map((aggregate) => [aggregate, Schema.decodeUnknownEffect(aggregate.commands)]))
const ownEvents = new Map(aggregates.map((aggregate) => [aggregate, Schema.is(aggregate.events)]))

const aggregateOf = (type: string): AnyAggregate | undefined => byType.get(type)

/** Who may send a command of `type`, or undefined for a type that does not exist. */
export const accessOf = (type: string): Access | undefined => {
  const aggregate = aggregateOf(type)
  return aggregate?.access[type]
}

const typesWith = (wanted: Access): ReadonlyArray<CommandType> =>
  aggregates.flatMap((aggregate) => Object.entries(aggregate.access).flatMap(([type, access]) => (access === wanted ? [type as CommandType] : [])))

/** The command types a tenant may send over NATS, in the order the aggregates declare them. */
export const publicCommandTypes = typesWith("public")

/** The command types only Umbra's own sagas and runners send, in process. */
export const internalCommandTypes = typesWith("internal")

/**
 * Decodes a command from its type and raw fields, filling in what the sender may leave out; undefined for a
 * type that does not exist. Only the gateway (raw input) and the saga steps (recorded commands) need it.
 */
export const decodeCommand = (
  type: string,
  data: unknown,
  commandId: string
): Effect.Effect<DomainCommand, ValidationFailed> | undefined => {
  const aggregate = aggregateOf(type)
  if (aggregate === undefined) return undefined
  const defaults = aggregate.defaults?.[type]?.(commandId) ?? {}
  const input = typeof data === "object" && data !== null && !Array.isArray(data) ? { ...defaults, ...data, _tag: type } : data
  return decoders.get(aggregate)!(input).pipe(
    Effect.map((command) => command as DomainCommand),
    Effect.mapError((error) => new ValidationFailed({ message: error.message, details: { commandType: type } }))
  )
}

const encodeDomainCommand = Schema.encodeSync(DomainCommand)

/** A command as a saga step records it: its type apart from its fields. */
export const encodeCommand = (command: DomainCommand): { readonly type: CommandType; readonly data: Record<string, unknown> } => {
  const { _tag, ...data } = encodeDomainCommand(command) as { readonly _tag: CommandType } & Record<string, unknown>
  return { type: _tag, data }
}

/** Where a command goes: its aggregate, and the stream it names. */
export interface CommandRoute {
  readonly aggregate: AnyAggregate
  readonly category: Category
  readonly aggregateId: string
}

export const routeOf = (command: DomainCommand): CommandRoute => {
  const aggregate = aggregateOf(command._tag)!
  return { aggregate, category: aggregate.category, aggregateId: aggregate.idOf(command) }
}

/** Whether an event belongs to the aggregate (its stream may hold nothing else, but a decider folds only its own). */
export const isEventOf = (aggregate: AnyAggregate): ((event: DomainEvent) => boolean) => ownEvents.get(aggregate)!
