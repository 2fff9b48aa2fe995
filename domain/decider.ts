import type { Effect } from "effect"
import type { DomainError } from "./errors.ts"

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
