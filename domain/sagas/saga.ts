import type { DomainEvent } from "../catalog.ts"
import type { Category } from "../streams.ts"
import type { SagaStepRecorded } from "./sagaStep.ts"

/** A command a saga wants sent, before the runner gives it a derived id. */
export interface SagaOutput {
  readonly type: string
  readonly data: Record<string, unknown>
}

/**
 * A process manager as a decider: events in, commands out, with `evolve` over the steps it recorded,
 * so that it is tested without infrastructure and resumes from its own stream after a crash.
 */
export interface Saga<State> {
  readonly name: string
  /** The aggregate category whose events it reads. */
  readonly category: Category
  readonly handles: ReadonlyArray<DomainEvent["_tag"]>
  /** Which saga instance (and so which saga stream) an event belongs to. */
  readonly keyOf: (event: DomainEvent) => string
  readonly initialState: State
  readonly evolve: (state: State, step: SagaStepRecorded) => State
  readonly decide: (event: DomainEvent, state: State) => ReadonlyArray<SagaOutput>
}
