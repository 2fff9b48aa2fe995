import { DateTime, Effect, Predicate, Schedule } from "effect"
import { decodeEvent, type DomainEvent, encodeEvent } from "../../domain/catalog.ts"
import { decodeCommand, type DomainCommand, encodeCommand } from "../../domain/commands.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import type { SagaCommand, SagaFold, SagaStep } from "../../domain/sagas/saga.ts"
import type { SagaStepRecorded } from "../../domain/sagaStep.ts"
import { EventStore, type EventStoreShape } from "../eventStore/eventStore.ts"
import { type Folded, makeFoldedStreams, recentCause } from "../eventStore/foldedStreams.ts"

const decodeRecorded = (recorded: { readonly commandId: string; readonly type: string; readonly data: unknown }) =>
  (decodeCommand(recorded.type, recorded.data, recorded.commandId) ??
    Effect.fail(new ValidationFailed({ message: `a saga step records an unknown command ${recorded.type}`, details: { type: recorded.type } }))
  ).pipe(Effect.map((command): SagaCommand => ({ commandId: recorded.commandId as CommandId, command })))

/** A stored saga step with its input event and commands decoded; undefined for anything else in a saga's stream. */
const stepOf = (stored: StoredEvent): Effect.Effect<SagaStep | undefined, ValidationFailed> =>
  Effect.flatMap(decodeEvent(stored), (step) =>
    step._tag === "SagaStepRecorded"
      ? Effect.all({
        event: decodeEvent({ id: step.input.eventId, type: step.input.type, schemaVersion: step.input.schemaVersion, data: step.input.data }),
        commands: Effect.forEach(step.commands, decodeRecorded)
      })
      : Effect.succeed(undefined)
  )

/**
 * The step key an event of a saga's stream records (its input event's id, or the key of a step instead of a
 * refused one). Read without decoding, on every event folded: `input.eventId` is in every version of the step.
 */
const keyOf = (stored: StoredEvent) => (stored.data as Pick<SagaStepRecorded, "input">).input.eventId

/**
 * A saga's streams folded with its `evolve`, from memory or a snapshot and the steps after it: a step costs
 * what is new in the saga's stream, not its history.
 */
export const makeSagaFolds = <State>(saga: SagaFold<State>, store: EventStoreShape) =>
  makeFoldedStreams<State>(store, {
    initialState: saga.initialState,
    evolve: (state, stored) => Effect.map(stepOf(stored), (step) => (step === undefined ? state : saga.evolve(state, step))),
    causeOf: keyOf,
    snapshot: saga.snapshot
  })

/** A saga stream's state now, as its steps fold (what a query of a saga's view reads). */
export const loadSagaState = <State>(saga: SagaFold<State>) => {
  // One cache per store: the same query may run against several stores (one per test, say).
  const foldsOf = new WeakMap<EventStoreShape, ReturnType<typeof makeSagaFolds<State>>>()
  return Effect.fn("Saga.loadState")(function* (stream: string) {
    const store = yield* EventStore
    let folds = foldsOf.get(store)
    if (folds === undefined) {
      folds = makeSagaFolds(saga, store)
      foldsOf.set(store, folds)
    }
    return (yield* folds.current(stream)).state
  })
}

/**
 * Records a saga's step for `key` in `stream` once, deciding it with `decide` on the state its earlier
 * steps fold to, and returns the step's commands (ids derived from the saga, the key and their index).
 * A step already recorded is returned as it was: a redelivered input never decides twice.
 */
export const makeStepRecorder = <State>(saga: SagaFold<State>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const folds = makeSagaFolds(saga, store)

    /** The commands of a step recorded earlier under `key`, if there is one. */
    const recorded = (stream: string, from: number | undefined, key: string) =>
      Effect.gen(function* () {
        const events = from === undefined ? yield* store.readStream(stream) : yield* store.readStream(stream, { from, limit: 1 })
        for (const stored of events) {
          if (stored.type !== "SagaStepRecorded" || keyOf(stored) !== key) continue
          return (yield* stepOf(stored))?.commands
        }
        return undefined
      })

    return <E, R>(
      stream: string,
      key: string,
      input: StoredEvent,
      event: DomainEvent,
      decide: (state: State) => Effect.Effect<ReadonlyArray<DomainCommand>, E, R>
    ) => {
      const stepOn = (folded: Folded<State>) =>
        Effect.gen(function* () {
          const earlier = recentCause(folded, key)
          if (earlier !== undefined) {
            const commands = yield* recorded(stream, earlier.from, key)
            if (commands !== undefined) return commands
          }
          const commands: ReadonlyArray<SagaCommand> = (yield* decide(folded.state)).map((command, index) => ({
            commandId: nameBasedId(`${input.tenant}/${saga.name}/${key}/${index}`) as CommandId,
            command
          }))
          const step = encodeEvent({
            _tag: "SagaStepRecorded",
            saga: saga.name,
            input: { eventId: key, type: input.type, stream: input.stream, schemaVersion: input.schemaVersion, data: input.data },
            commands: commands.map(({ commandId, command }) => ({ commandId, ...encodeCommand(command) }))
          })
          const recordedStep = {
            id: nameBasedId(`${input.tenant}/${stream}/${saga.name}/${key}`),
            type: step.type,
            at: DateTime.formatIso(yield* DateTime.now),
            tenant: input.tenant,
            correlationId: input.correlationId,
            causationId: input.id,
            schemaVersion: step.schemaVersion,
            data: step.data
          }
          const result = yield* store.append(stream, folded.revision === -1 ? "no_stream" : folded.revision, [recordedStep]).pipe(
            Effect.tapError((error) => (error._tag === "ConcurrencyConflict" ? folds.forget(stream) : Effect.void))
          )
          if (result.appended) {
            yield* folds.advance(stream, folded, [{ ...recordedStep, stream, revision: result.revision, position: result.position }], (state) =>
              saga.evolve(state, { event, commands }))
          }
          return commands
        })
      const onRead = Effect.flatMap(Effect.suspend(() => folds.current(stream)), stepOn).pipe(
        Effect.retry({ while: (error) => Predicate.isTagged(error, "ConcurrencyConflict"), schedule: Schedule.exponential("5 millis"), times: 8 })
      )
      // First on what this process knows of the stream (see `guess`); when that was behind (a conflict) or
      // failed for any other reason than the store, the step is decided again on the stream as read, at once.
      return stepOn(folds.guess(stream)).pipe(
        Effect.catch((error) => (Predicate.isTagged(error, "StoreUnavailable") || Predicate.isTagged(error, "DuplicateEventId") ? Effect.fail(error) : onRead)),
        // A step recorded long ago (no longer among the recent ones) is found by its id: its commands, as recorded.
        Effect.catchTag("DuplicateEventId", (error) =>
          recorded(stream, undefined, key).pipe(Effect.flatMap((commands) => (commands === undefined ? Effect.fail(error) : Effect.succeed(commands))))
        )
      )
    }
  })
