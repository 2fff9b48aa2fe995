import type { Effect, Schema } from "effect"
import type { DomainError } from "./errors.ts"
import type { Category } from "./streams.ts"

/** What a command carries besides its fields: who, and when (time never comes from inside `decide`). */
export interface CommandContext {
  readonly tenant: string
  readonly at: string
}

/** An aggregate: pure, tested given/when/then, and never touching the store. */
export interface Decider<Command, Event, State> {
  readonly initialState: State
  readonly evolve: (state: State, event: Event) => State
  readonly decide: (command: Command, state: State, context: CommandContext) => Effect.Effect<ReadonlyArray<Event>, DomainError>
}

export const fold = <Event, State>(
  decider: Pick<Decider<unknown, Event, State>, "initialState" | "evolve">,
  events: Iterable<Event>
): State => {
  let state = decider.initialState
  for (const event of events) state = decider.evolve(state, event)
  return state
}

/** Whether a tenant may send a command over NATS, or only Umbra's own sagas and runners, in process. */
export type Access = "public" | "internal"

/**
 * An aggregate as the command handler sees it: its category and decider, how a command names its stream,
 * and, for every one of its commands, who may send it and which fields a sender may leave out. A command
 * added to the union without an entry in `access` is a type error.
 */
export interface Aggregate<Command extends { readonly _tag: string }, Event extends { readonly _tag: string }, State> {
  readonly category: Category
  readonly commands: Schema.Codec<Command, unknown>
  readonly events: Schema.Codec<Event, unknown>
  readonly decider: Decider<Command, Event, State>
  readonly idOf: (command: Command) => string
  readonly access: { readonly [Type in Command["_tag"]]: Access }
  /** What a sender may leave out, filled in from the command id before the fields are decoded. */
  readonly defaults?: { readonly [Type in Command["_tag"]]?: (commandId: string) => Record<string, unknown> }
  /**
   * The state's schema, for snapshots; `version` changes whenever the state or `evolve` changes meaning, so
   * that a snapshot written by an older decider is ignored and the stream folded again. A new version of an
   * event alone does not change it: `evolve` sees every event upcast to today's schema, before and after.
   */
  readonly snapshot?: { readonly version: number; readonly schema: Schema.Codec<State, unknown> }
  /** Retention for the aggregate's streams, set when a stream is created: for streams `decide` reads little of. */
  readonly retention?: { readonly maxCount?: number; readonly maxAge?: number }
}
