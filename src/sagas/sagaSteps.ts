import { DateTime, Effect, Schedule } from "effect"
import { decodeEvent, encodeEvent } from "../../domain/catalog.ts"
import { decodeCommand, type DomainCommand, encodeCommand } from "../../domain/commands.ts"
import { fold } from "../../domain/decider.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import type { Saga } from "../../domain/sagas/saga.ts"
import type { SagaCommand, SagaStep } from "../../domain/sagas/saga.ts"
import { EventStore } from "../eventStore/eventStore.ts"

const decodeRecorded = (recorded: { readonly commandId: string; readonly type: string; readonly data: unknown }) =>
  (decodeCommand(recorded.type, recorded.data, recorded.commandId) ??
    Effect.fail(new ValidationFailed({ message: `a saga step records an unknown command ${recorded.type}`, details: { type: recorded.type } }))
  ).pipe(Effect.map((command): SagaCommand => ({ commandId: recorded.commandId as CommandId, command })))

/** The steps recorded in a saga's stream, oldest first, with their commands decoded. */
export const loadSteps = Effect.fn("Saga.loadSteps")(function* (stream: string) {
  const history = yield* (yield* EventStore).readStream(stream)
  const steps: Array<SagaStep> = []
  for (const stored of history) {
    const event = yield* decodeEvent(stored)
    if (event._tag === "SagaStepRecorded") steps.push({ input: event.input, commands: yield* Effect.forEach(event.commands, decodeRecorded) })
  }
  return { steps, revision: history[history.length - 1]?.revision }
})

/**
 * Records a saga's step for `key` in `stream` once, deciding it with `decide` on the state its earlier
 * steps fold to, and returns the step's commands (ids derived from the saga, the key and their index).
 * A step already recorded is returned as it was: a redelivered input never decides twice.
 */
export const makeStepRecorder = <State>(saga: Pick<Saga<State, unknown, unknown>, "name" | "initialState" | "evolve">) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    return <E, R>(
      stream: string,
      key: string,
      input: StoredEvent,
      decide: (state: State) => Effect.Effect<ReadonlyArray<DomainCommand>, E, R>
    ) =>
      Effect.gen(function* () {
        const { steps, revision } = yield* loadSteps(stream).pipe(Effect.provideService(EventStore, store))
        const done = steps.find((step) => step.input.eventId === key)
        if (done !== undefined) return done.commands
        const commands: ReadonlyArray<SagaCommand> = (yield* decide(fold(saga, steps))).map((command, index) => ({
          commandId: nameBasedId(`${saga.name}/${key}/${index}`) as CommandId,
          command
        }))
        const step = encodeEvent({
          _tag: "SagaStepRecorded",
          saga: saga.name,
          input: { eventId: key, type: input.type, stream: input.stream, data: input.data },
          commands: commands.map(({ commandId, command }) => ({ commandId, ...encodeCommand(command) }))
        })
        yield* store.append(stream, revision ?? "no_stream", [
          {
            id: nameBasedId(`${saga.name}/${key}`),
            type: step.type,
            at: DateTime.formatIso(yield* DateTime.now),
            tenant: input.tenant,
            correlationId: input.correlationId,
            causationId: input.id,
            schemaVersion: step.schemaVersion,
            data: step.data
          }
        ])
        return commands
      }).pipe(
        Effect.retry({
          while: (error) =>
            typeof error === "object" && error !== null && "_tag" in error && (error._tag === "ConcurrencyConflict" || error._tag === "DuplicateEventId"),
          schedule: Schedule.exponential("5 millis"),
          times: 8
        })
      )
  })
