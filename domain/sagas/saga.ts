import type { Schema } from "effect"
import type { DomainEvent } from "../catalog.ts"
import type { DomainCommand } from "../commands.ts"
import { type Category, streamName } from "../streams.ts"
import type { CommandId } from "../ids.ts"

/** A recorded command, decoded: the id it was sent under and the command. */
export interface SagaCommand {
  readonly commandId: CommandId
  readonly command: DomainCommand
}

/** A recorded step as the saga folds it: its input event read as today's schema has it, and its commands. */
export interface SagaStep {
  readonly event: DomainEvent
  readonly commands: ReadonlyArray<SagaCommand>
}

/** What a saga decides on: the event, its tenant and id, and what the runner looked up for it (if anything). */
export interface SagaInput<View> {
  readonly tenant: string
  /** The id of the input event: commands and ids a saga derives from it are the same on every redelivery. */
  readonly eventId: string
  readonly event: DomainEvent
  /** What `lookup` asked for, as the runner found it; undefined when nothing was asked. */
  readonly view: View | undefined
}

/**
 * A process manager as a decider: events in, commands out, with `evolve` over the steps it recorded, so
 * that it is tested without infrastructure and resumes from its own stream after a crash. One runner
 * (`src/sagas/sagaRunner.ts`) runs every saga: it looks up what the saga asks for, records the step, then
 * sends its commands, and asks `insteadOf` what to send when the aggregate refuses one.
 */
export interface Saga<State, Lookup = never, View = never> {
  readonly name: string
  /** The aggregate categories whose events it reads (one durable consumer each). */
  readonly categories: ReadonlyArray<Category>
  readonly handles: ReadonlyArray<DomainEvent["_tag"]>
  /** Which saga instance (and so which saga stream) an event belongs to. */
  readonly keyOf: (event: DomainEvent) => string
  readonly initialState: State
  readonly evolve: (state: State, step: SagaStep) => State
  /** The state's schema for snapshots of the saga's streams, and its version (see `Aggregate.snapshot`). */
  readonly snapshot?: { readonly version: number; readonly schema: Schema.Codec<State, unknown> }
  /** What the runner must look up before deciding on `event`; the answer is recorded with the decision. */
  readonly lookup?: (event: DomainEvent, state: State) => Lookup | undefined
  readonly decide: (input: SagaInput<View>, state: State) => ReadonlyArray<DomainCommand>
  /** What to send when the aggregate refused one of this step's commands (recorded as a step of its own). */
  readonly insteadOf?: (refused: DomainCommand, input: SagaInput<View>, state: State) => ReadonlyArray<DomainCommand>
}

/** The stream a saga records its steps for one key in. */
export const sagaStream = (sagaName: string, tenant: string, key: string) => streamName("saga", tenant, `${sagaName}-${key}`)

/** What folding a saga's stream takes: the same for the runner that records steps and for a query of its state. */
export type SagaFold<State> = Pick<Saga<State, unknown, unknown>, "name" | "initialState" | "evolve" | "snapshot">
